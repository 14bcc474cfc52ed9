"""Cart, checkout, payment and orders over HTTP, for customers; order handling for admins."""

from __future__ import annotations

import marshmallow as ma

from lookbook.accounts.roles import Role
from lookbook.errors import NotFound
from lookbook.orders import service as orders
from lookbook.orders.models import OrderStatus
from lookbook.payments import service as payments
from lookbook.web.api import attributes, ApiBlueprint, PageArgs, current_user, page_of, page_schema, services, transaction
from lookbook.web.fields import INT32_MAX, Text

cart_bp = ApiBlueprint("cart", __name__, url_prefix="/api/v1", description="The signed-in customer's cart and checkout")
orders_bp = ApiBlueprint("orders", __name__, url_prefix="/api/v1/orders", description="The signed-in customer's orders")
admin_orders_bp = ApiBlueprint("admin_orders", __name__, url_prefix="/api/v1/admin/orders", description="Orders, for admins")

ID = f"int(max={INT32_MAX})"
Quantity = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=orders.MAX_QUANTITY))


class CartLineSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "Cart item id"})
    variant_id = ma.fields.Integer(required=True)
    product_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    sku = ma.fields.String(required=True)
    size = ma.fields.String(allow_none=True)
    colour = ma.fields.String(allow_none=True)
    quantity = ma.fields.Integer(required=True)
    in_stock = ma.fields.Integer(required=True, metadata={"description": "Units of this variant available now"})
    list_price_minor = ma.fields.Integer(required=True)
    unit_price_minor = ma.fields.Integer(required=True)
    line_total_minor = ma.fields.Integer(required=True)
    deal = ma.fields.String(allow_none=True)


class CartSchema(ma.Schema):
    version = ma.fields.Integer(required=True, metadata={"description": "Send it to checkout: proves you saw this cart"})
    items = ma.fields.List(ma.fields.Nested(CartLineSchema), required=True)
    currency = ma.fields.String(required=True)
    subtotal_minor = ma.fields.Integer(required=True)
    coupon_code = ma.fields.String(allow_none=True)
    discount_minor = ma.fields.Integer(required=True)
    total_minor = ma.fields.Integer(required=True)
    problems = ma.fields.List(ma.fields.String(), required=True)


class AddItemSchema(ma.Schema):
    variant_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=INT32_MAX))
    quantity = Quantity


class QuantitySchema(ma.Schema):
    quantity = Quantity


class CouponSchema(ma.Schema):
    code = Text(min=1, max=40, required=True)


class CheckoutSchema(ma.Schema):
    cart_version = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=INT32_MAX))
    address_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT32_MAX), allow_none=True)


class OrderLineSchema(ma.Schema):
    product_id = ma.fields.Integer(required=True)
    variant_id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String(required=True)
    sku = ma.fields.String(required=True)
    size = ma.fields.String(allow_none=True)
    colour = ma.fields.String(allow_none=True)
    quantity = ma.fields.Integer(required=True)
    list_price_minor = ma.fields.Integer(required=True)
    unit_price_minor = ma.fields.Integer(required=True)
    line_total_minor = ma.fields.Integer(required=True)


class OrderEventSchema(ma.Schema):
    type = ma.fields.String(required=True)
    data = ma.fields.Dict(required=True)
    created_at = ma.fields.DateTime(required=True)


class OrderSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    user_id = ma.fields.Integer(allow_none=True)
    email = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([str(s) for s in OrderStatus]))
    currency = ma.fields.String(required=True)
    subtotal_minor = ma.fields.Integer(required=True)
    discount_minor = ma.fields.Integer(required=True)
    total_minor = ma.fields.Integer(required=True)
    coupon_code = ma.fields.String(allow_none=True)
    shipping_address = ma.fields.Dict(allow_none=True)
    payment_due_at = ma.fields.DateTime(required=True)
    created_at = ma.fields.DateTime(required=True)


class OrderDetailSchema(OrderSchema):
    lines = ma.fields.List(ma.fields.Nested(OrderLineSchema), required=True)
    events = ma.fields.List(ma.fields.Nested(OrderEventSchema), required=True)


class PaymentRequestSchema(ma.Schema):
    provider = ma.fields.String(load_default="sandbox", validate=ma.validate.OneOf(["sandbox", "stripe"]))
    card_number = Text(max=30, metadata={"description": "Sandbox (or server-side test) card; omit to get a client secret"})


class PaymentSchema(ma.Schema):
    provider = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    amount_minor = ma.fields.Integer(required=True)
    currency = ma.fields.String(required=True)
    client_secret = ma.fields.String(allow_none=True, metadata={"description": "For Stripe Elements"})
    failure_reason = ma.fields.String(allow_none=True)


class PaymentResultSchema(ma.Schema):
    order = ma.fields.Nested(OrderDetailSchema, required=True)
    payment = ma.fields.Nested(PaymentSchema, required=True)


class OrderListArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf([str(s) for s in OrderStatus]))


class AdminOrderListArgs(OrderListArgs):
    customer_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT32_MAX))


class StatusChangeSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(
        [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REFUNDED]))
    note = Text(max=500)


def _cart(session) -> dict:
    view = orders.view_cart(session, user_id=current_user().id)
    stock = {variant.id: variant.stock for _, variant, _ in view.items}
    lines = [
        {"id": item.id, "variant_id": line.variant_id, "product_id": line.product_id, "name": line.name,
         "sku": line.sku, "size": line.size, "colour": line.colour, "quantity": line.quantity,
         "in_stock": stock[line.variant_id], "list_price_minor": line.price.list_minor,
         "unit_price_minor": line.price.unit_minor, "line_total_minor": line.total_minor, "deal": line.price.deal_name}
        for (item, _, _), line in zip(view.items, view.quote.lines, strict=True)
    ]
    q = view.quote
    return {"version": view.version, "items": lines, "currency": q.currency, "subtotal_minor": q.subtotal_minor,
            "coupon_code": q.coupon_code, "discount_minor": q.discount_minor, "total_minor": q.total_minor,
            "problems": q.problems}


def _detail(session, order) -> dict:
    return {**attributes(order, OrderSchema),
            "lines": orders.order_lines(session, order.id), "events": orders.order_events(session, order.id)}


@cart_bp.route("/cart", methods=["GET"])
@cart_bp.access(Role.CUSTOMER)
@cart_bp.response(200, CartSchema)
def get_cart():
    """My cart, priced with today's deals and my coupon."""
    with transaction() as session:
        return _cart(session)


@cart_bp.route("/cart/items", methods=["POST"])
@cart_bp.access(Role.CUSTOMER)
@cart_bp.arguments(AddItemSchema)
@cart_bp.response(201, CartSchema)
def add_item(data):
    """Add a product variant (adds to the quantity if it is already in the cart)."""
    with transaction() as session:
        orders.add_to_cart(session, user_id=current_user().id, variant_id=data["variant_id"], quantity=data["quantity"])
        return _cart(session)


@cart_bp.route(f"/cart/items/<{ID}:item_id>", methods=["PATCH"])
@cart_bp.access(Role.CUSTOMER)
@cart_bp.arguments(QuantitySchema)
@cart_bp.response(200, CartSchema)
def change_quantity(data, item_id):
    """Change how many of an item I want."""
    with transaction() as session:
        orders.set_quantity(session, user_id=current_user().id, item_id=item_id, quantity=data["quantity"])
        return _cart(session)


@cart_bp.route(f"/cart/items/<{ID}:item_id>", methods=["DELETE"])
@cart_bp.access(Role.CUSTOMER)
@cart_bp.response(200, CartSchema)
def remove_item(item_id):
    """Take an item out of my cart."""
    with transaction() as session:
        orders.remove_from_cart(session, user_id=current_user().id, item_id=item_id)
        return _cart(session)


@cart_bp.route("/cart/coupon", methods=["PUT"])
@cart_bp.access(Role.CUSTOMER)
@cart_bp.arguments(CouponSchema)
@cart_bp.response(200, CartSchema)
def apply_coupon(data):
    """Apply a coupon code (checked against the cart as it is now)."""
    with transaction() as session:
        orders.apply_coupon(session, user_id=current_user().id, code=data["code"])
        return _cart(session)


@cart_bp.route("/cart/coupon", methods=["DELETE"])
@cart_bp.access(Role.CUSTOMER)
@cart_bp.response(200, CartSchema)
def remove_coupon():
    """Remove the coupon."""
    with transaction() as session:
        orders.remove_coupon(session, user_id=current_user().id)
        return _cart(session)


@cart_bp.route("/checkout", methods=["POST"])
@cart_bp.access(Role.CUSTOMER)
@cart_bp.arguments(CheckoutSchema)
@cart_bp.response(201, OrderDetailSchema)
def checkout(data):
    """Turn the cart I saw (its `version`) into an order awaiting payment; stock is held for 30 minutes."""
    with transaction() as session:
        order = orders.checkout(session, user=session.merge(current_user()), cart_version=data["cart_version"],
                                address_id=data.get("address_id"))
        return _detail(session, order)


@orders_bp.route("", methods=["GET"])
@orders_bp.access(Role.CUSTOMER)
@orders_bp.arguments(OrderListArgs, location="query")
@orders_bp.response(200, page_schema(OrderSchema, "OrderPage"))
def list_my_orders(args):
    """My orders, newest first."""
    with transaction() as session:
        found, total = orders.list_orders(session, user_id=current_user().id, status=args.get("status"),
                                          page=args["page"], per_page=args["per_page"])
        return page_of(found, total, args)


@orders_bp.route(f"/<{ID}:order_id>", methods=["GET"])
@orders_bp.access(Role.CUSTOMER)
@orders_bp.response(200, OrderDetailSchema)
def get_my_order(order_id):
    """One of my orders with its lines and its history."""
    with transaction() as session:
        return _detail(session, orders.get_order(session, order_id=order_id, user_id=current_user().id))


def _provider(name: str):
    provider = services().payment_providers.get(name)
    if provider is None:
        raise NotFound(f"the payment provider {name!r} is not configured", code="provider_not_configured")
    return provider


@orders_bp.route(f"/<{ID}:order_id>/payment", methods=["POST"])
@orders_bp.access(Role.CUSTOMER)
@orders_bp.arguments(PaymentRequestSchema)
@orders_bp.response(200, PaymentResultSchema)
@orders_bp.doc(responses={"402": "PAYMENT_REQUIRED"})
def pay_order(data, order_id):
    """Pay an order: with a card number the payment is confirmed now (sandbox); without one, the answer holds
    the client secret for Stripe Elements. A refused card answers 402 and leaves the order unpaid."""
    provider, user_id, db = _provider(data["provider"]), current_user().id, services().db
    if data.get("card_number"):
        payments.pay(db, order_id=order_id, user_id=user_id, provider=provider, card_number=data["card_number"])
    else:
        payments.start_payment(db, order_id=order_id, user_id=user_id, provider=provider)
    with transaction() as session:
        order = orders.get_order(session, order_id=order_id, user_id=user_id)
        return {"order": _detail(session, order), "payment": payments.latest_payment(session, order_id=order_id)}


@orders_bp.route(f"/<{ID}:order_id>/cancel", methods=["POST"])
@orders_bp.access(Role.CUSTOMER)
@orders_bp.response(200, OrderDetailSchema)
def cancel_my_order(order_id):
    """Cancel my order while it awaits payment; its items go back into stock."""
    with transaction() as session:
        order = orders.cancel_unpaid(session, order_id=order_id, user_id=current_user().id)
        return _detail(session, order)


@admin_orders_bp.route("", methods=["GET"])
@admin_orders_bp.access(Role.ADMIN)
@admin_orders_bp.arguments(AdminOrderListArgs, location="query")
@admin_orders_bp.response(200, page_schema(OrderSchema, "AdminOrderPage"))
def list_orders(args):
    """All orders, newest first, by status and by customer."""
    with transaction() as session:
        found, total = orders.list_orders(session, user_id=args.get("customer_id"), status=args.get("status"),
                                          page=args["page"], per_page=args["per_page"])
        return page_of(found, total, args)


@admin_orders_bp.route(f"/<{ID}:order_id>", methods=["GET"])
@admin_orders_bp.access(Role.ADMIN)
@admin_orders_bp.response(200, OrderDetailSchema)
def get_order(order_id):
    """Any order with its lines and history."""
    with transaction() as session:
        return _detail(session, orders.get_order(session, order_id=order_id))


@admin_orders_bp.route(f"/<{ID}:order_id>/status", methods=["POST"])
@admin_orders_bp.access(Role.ADMIN)
@admin_orders_bp.arguments(StatusChangeSchema)
@admin_orders_bp.response(200, OrderDetailSchema)
def change_status(data, order_id):
    """Ship, mark delivered, cancel or refund; only the changes the order's status allows.
    Cancelling a paid order refunds it; refunding a paid order puts its items back in stock."""
    payments.change_order_status(services().db, order_id=order_id, to=OrderStatus(data["status"]),
                                 providers=services().payment_providers, actor_user_id=current_user().id,
                                 note=data.get("note"))
    with transaction() as session:
        return _detail(session, orders.get_order(session, order_id=order_id))
