"""Admin pages: every order by status, one order with its lines, payment and history, and its status changes."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from lookbook.accounts.models import User
from lookbook.accounts.roles import Role
from lookbook.errors import LookbookError
from lookbook.orders import service as orders
from lookbook.orders.models import OrderStatus
from lookbook.payments import service as payments
from lookbook.web.api import services, transaction
from lookbook.web.orders import AdminOrderListArgs, StatusChangeSchema
from lookbook.web.pages.admin import ID, PerPage, admin_bp, query_args
from lookbook.web.pages.base import load_form, service_error, signed_in_user

ACTIONS = {  # what the buttons say; the order's status decides which are offered (orders.TRANSITIONS)
    OrderStatus.SHIPPED: "Mark shipped",
    OrderStatus.DELIVERED: "Mark delivered",
    OrderStatus.CANCELLED: "Cancel order",
    OrderStatus.REFUNDED: "Refund in full",
}
DONE = {
    OrderStatus.SHIPPED: "Order {id} is marked shipped; the customer was told.",
    OrderStatus.DELIVERED: "Order {id} is marked delivered; the customer was told.",
    OrderStatus.CANCELLED: "Order {id} is cancelled; the customer was told.",
    OrderStatus.REFUNDED: "Order {id} is refunded; the customer was told.",
}


class OrderListArgs(AdminOrderListArgs):
    per_page = PerPage()


def customers_by_id(session, user_ids) -> dict[int, User]:
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}


@admin_bp.route("/orders")
@admin_bp.access(Role.ADMIN)
def orders_list():
    args, errors = query_args(OrderListArgs())
    with transaction() as session:
        found, total = orders.list_orders(session, user_id=args.get("customer_id"), status=args.get("status"),
                                          page=args["page"], per_page=args["per_page"])
        customers = customers_by_id(session, [o.user_id for o in found])
    pages = (total + args["per_page"] - 1) // args["per_page"]
    filters = {k: v for k, v in (("status", args.get("status")), ("customer_id", args.get("customer_id"))) if v}
    return render_template("admin/orders.html", orders=found, customers=customers, total=total, args=args,
                           filters=filters, statuses=[str(s) for s in OrderStatus],
                           page={"page": args["page"], "pages": pages}), 400 if errors else 200


def _order_page(order_id: int, *, errors: dict | None = None, note: str = "", status: int = 200):
    with transaction() as session:
        order = orders.get_order(session, order_id=order_id)
        lines = orders.order_lines(session, order.id)
        events = orders.order_events(session, order.id)
        payment = payments.latest_payment(session, order_id=order.id)
        customer = session.get(User, order.user_id) if order.user_id else None
        actors = customers_by_id(session, [e.actor_user_id for e in events])
    allowed = orders.TRANSITIONS[OrderStatus(order.status)]
    actions = [(str(target), label) for target, label in ACTIONS.items() if target in allowed]
    return render_template("admin/order.html", order=order, lines=lines, events=events, payment=payment,
                           customer=customer, actors=actors, actions=actions, errors=errors or {}, note=note), status


@admin_bp.route(f"/orders/<{ID}:order_id>")
@admin_bp.access(Role.ADMIN)
def orders_detail(order_id: int):
    return _order_page(order_id)


@admin_bp.route(f"/orders/<{ID}:order_id>/status", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def orders_change_status(order_id: int):
    """Ship, deliver, cancel or refund (``payments.change_order_status``, as the API does); the services refuse
    what the order's status forbids and notify the customer."""
    data, errors = load_form(StatusChangeSchema())
    note = request.form.get("note", "")
    if errors:
        flash("Choose one of the actions offered for this order.", "error")
        return _order_page(order_id, errors=errors, note=note, status=422)
    target = OrderStatus(data["status"])
    try:
        payments.change_order_status(services().db, order_id=order_id, to=target,
                                     providers=services().payment_providers, actor_user_id=signed_in_user().id,
                                     note=data.get("note"))
    except LookbookError as error:
        if error.code == "order_not_found":
            raise
        return _order_page(order_id, errors=service_error(error), note=note, status=409)
    flash(DONE[target].format(id=order_id), "success")
    return redirect(url_for("admin.orders_detail", order_id=order_id), code=303)
