"""Admin pages: customers by name or email, and one customer's details, spending and orders (also as CSV)."""

from __future__ import annotations

from flask import render_template

from lookbook.accounts import service as accounts
from lookbook.accounts.roles import Role
from lookbook.reports import service as reports
from lookbook.web.accounts import CustomerListArgs
from lookbook.web.api import transaction
from lookbook.web.pages.admin import (
    ID,
    ListArgs,
    PerPage,
    admin_bp,
    csv_download,
    query_args,
)


class CustomerArgs(CustomerListArgs):
    per_page = PerPage()


@admin_bp.route("/customers")
@admin_bp.access(Role.ADMIN)
def customers_list():
    args, errors = query_args(CustomerArgs())
    with transaction() as session:
        users, total = accounts.list_customers(session, page=args["page"], per_page=args["per_page"], text=args.get("q"))
    pages = (total + args["per_page"] - 1) // args["per_page"]
    return render_template("admin/customers.html", customers=users, total=total, q=args.get("q") or "",
                           page={"page": args["page"], "pages": pages},
                           filters={"q": args["q"]} if args.get("q") else {}), 400 if errors else 200


@admin_bp.route(f"/customers/<{ID}:customer_id>")
@admin_bp.access(Role.ADMIN)
def customers_detail(customer_id: int):
    args, errors = query_args(ListArgs())
    with transaction() as session:
        customer = accounts.get_customer(session, user_id=customer_id)
        addresses = accounts.list_addresses(session, user_id=customer.id)
        history = reports.customer_history(session, customer=customer, page=args["page"], per_page=args["per_page"])
    pages = (history.total + args["per_page"] - 1) // args["per_page"]
    return render_template("admin/customer.html", customer=customer, addresses=addresses, history=history,
                           page={"page": args["page"], "pages": pages}), 400 if errors else 200


@admin_bp.route(f"/customers/<{ID}:customer_id>/orders.csv")
@admin_bp.access(Role.ADMIN)
def customers_orders_csv(customer_id: int):
    with transaction() as session:
        customer = accounts.get_customer(session, user_id=customer_id)
        text = reports.customer_history_csv(reports.customer_history(session, customer=customer, per_page=None))
    return csv_download(text, f"customer_{customer_id}_orders.csv")
