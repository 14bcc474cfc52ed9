"""The customer dashboard: cart and checkout, orders, notifications, reviews and feedback, style, settings.

Every view is for signed-in customers and every service call names the signed-in customer (``user_id``), so
someone else's order, address, review or notification looks missing. The pages add no rules of their own:
they validate forms with the API's schemas, call the domain services and show what those return.
"""

from __future__ import annotations


import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for

from lookbook.accounts import preferences
from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.accounts.roles import Role
from lookbook.catalog.service import get_product
from lookbook.errors import LookbookError, NotFound, PaymentFailed
from lookbook.feedback import service as feedback
from lookbook.notifications import service as notices
from lookbook.orders import service as orders
from lookbook.orders.models import OrderStatus
from lookbook.payments import service as payments
from lookbook.payments.providers import SANDBOX_CARDS
from lookbook.web.accounts import AddressSchema, ProfileUpdateSchema
from lookbook.web.api import STATUS_OF, PageArgs, services, transaction
from lookbook.web.catalog import product_dict
from lookbook.web.feedback import (
    FeedbackInputSchema,
    ReviewChangesSchema,
    ReviewInputSchema,
)
from lookbook.web.fields import INT32_MAX, INT64_MAX
from lookbook.web.orders import (
    AddItemSchema,
    CheckoutSchema,
    CouponSchema,
    OrderListArgs,
    PaymentRequestSchema,
    QuantitySchema,
)
from lookbook.web.pages.auth import _safe_next
from lookbook.web.pages.base import (
    PageBlueprint,
    amount_in_minor_units,
    load_form,
    service_error,
    sign_out,
    signed_in_user,
)
from lookbook.web.preferences import PreferencesSchema

account_bp = PageBlueprint("account", __name__, url_prefix="/account")

ID = f"int(max={INT32_MAX})"
PRODUCT_ID = f"int(max={INT64_MAX})"
ORDERS_PER_PAGE = 10
NOTIFICATIONS_PER_PAGE = 20
FEEDBACK_PER_PAGE = 10
LIKES_PER_PAGE = 24
RECENT = 5
DELETE_WORD = "DELETE"

# Why the sandbox refused a card, for people (the provider's reason codes are for programs).
DECLINE_REASONS = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "card_number_unknown_to_sandbox": "That number is not one of the sandbox test cards listed below.",
}
# Form fields as people know them, for messages about actions that have no form of their own on the page.
FIELD_NAMES = {"variant_id": "size", "quantity": "quantity", "product_id": "product", "rating": "rating",
               "body": "review", "title": "title"}
OPTIONAL_ADDRESS_FIELDS = ("label", "line2", "region", "notes")
ADDRESS_FIELDS = ("label", "recipient", "line1", "line2", "city", "postal_code", "region", "country", "notes")
PREFERENCE_LISTS = ("sizes", "categories", "colours")


class ReviewFormSchema(ReviewInputSchema):
    """The API's review fields plus the product, which the API takes from the URL."""

    product_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=INT64_MAX))


# ---- helpers ---------------------------------------------------------------------------------------------------

def _me() -> User:
    return signed_in_user()


def _status_of(error: LookbookError) -> int:
    return next((status for cls, status in STATUS_OF if isinstance(error, cls)), 400)


def _back(endpoint: str, **values):
    """303 to the form's ``next`` (a path on this site) or to the action's own page."""
    target = _safe_next(request.form.get("next")) or _safe_next(request.args.get("next"))
    return redirect(target or url_for(endpoint, **values), code=303)


def _problems(errors: dict) -> str:
    """Form errors as one sentence, for actions posted from other pages (the message comes back as a flash)."""
    parts = [f"{FIELD_NAMES.get(name, name.replace('_', ' '))}: {' '.join(map(str, messages))}"
             for name, messages in errors.items()]
    return "Please check the " + "; ".join(parts)


def _page_number() -> int:
    try:
        return PageArgs().load({"page": request.args.get("page") or 1})["page"]
    except ma.ValidationError:
        return 1


def _pages(total: int, page: int, per_page: int) -> dict:
    return {"page": page, "pages": (total + per_page - 1) // per_page, "total": total}


def _page(template: str, section: str, status: int = 200, **context):
    return render_template(f"account/{template}", section=section, **context), status


# ---- dashboard ---------------------------------------------------------------------------------------------

@account_bp.route("")
@account_bp.access(Role.CUSTOMER)
def dashboard():
    user = _me()
    with transaction() as session:
        recent, order_count = orders.list_orders(session, user_id=user.id, per_page=RECENT)
        unread = notices.count_unread(session, user_id=user.id)
        liked, liked_count = preferences.liked_products(session, user_id=user.id, per_page=6)
        cart = orders.view_cart(session, user_id=user.id)
    return _page("dashboard.html", "dashboard", user=user, recent=recent, order_count=order_count, unread=unread,
                 liked=[product_dict(product) for product, _ in liked], liked_count=liked_count,
                 cart_count=sum(item.quantity for item, _, _ in cart.items), cart_total=cart.quote.total_minor,
                 currency=cart.quote.currency)


# ---- cart ------------------------------------------------------------------------------------------------------

def _cart_lines(view: orders.CartView) -> list[dict]:
    return [{"item_id": item.id, "product": product_dict(product), "quote": line, "stock": variant.stock}
            for (item, variant, product), line in zip(view.items, view.quote.lines, strict=True)]


def _render_cart(status: int = 200, *, errors: dict | None = None, values: dict | None = None,
                 line_errors: dict | None = None):
    with transaction() as session:
        view = orders.view_cart(session, user_id=_me().id)
    return _page("cart.html", "cart", status, view=view, quote=view.quote, lines=_cart_lines(view),
                 errors=errors or {}, values=values or {}, line_errors=line_errors or {})


@account_bp.route("/cart")
@account_bp.access(Role.CUSTOMER)
def cart():
    return _render_cart()


@account_bp.route("/cart/items", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def add_to_cart():
    """Form fields: variant_id, quantity (default 1), next."""
    form = {"variant_id": request.form.get("variant_id", ""), "quantity": request.form.get("quantity") or "1"}
    data, errors = load_form(AddItemSchema(), form)
    if errors:
        flash(_problems(errors), "error")
        return _back("account.cart")
    try:
        with transaction() as session:
            orders.add_to_cart(session, user_id=_me().id, variant_id=data["variant_id"], quantity=data["quantity"])
    except LookbookError as error:
        service_error(error)
        return _back("account.cart")
    flash("Added to your cart." if data["quantity"] == 1 else f"Added {data['quantity']} to your cart.", "success")
    return _back("account.cart")


@account_bp.route(f"/cart/items/<{ID}:item_id>", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def change_quantity(item_id: int):
    data, errors = load_form(QuantitySchema())
    if not errors:
        try:
            with transaction() as session:
                orders.set_quantity(session, user_id=_me().id, item_id=item_id, quantity=data["quantity"])
        except LookbookError as error:
            errors = service_error(error) or {"quantity": [error.message]}
            return _render_cart(_status_of(error), line_errors={item_id: errors.get("quantity", [])})
        flash("Quantity updated.", "success")
        return redirect(url_for("account.cart"), code=303)
    flash("Please enter a quantity from 1 to 99.", "error")
    return _render_cart(422, line_errors={item_id: errors.get("quantity", [])})


@account_bp.route(f"/cart/items/<{ID}:item_id>/remove", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def remove_item(item_id: int):
    try:
        with transaction() as session:
            orders.remove_from_cart(session, user_id=_me().id, item_id=item_id)
    except LookbookError as error:
        service_error(error)
        return _render_cart(_status_of(error))
    flash("Removed from your cart.", "success")
    return redirect(url_for("account.cart"), code=303)


@account_bp.route("/cart/coupon", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def apply_coupon():
    values = {"code": request.form.get("code", "")}
    data, errors = load_form(CouponSchema())
    if not errors:
        try:
            with transaction() as session:
                orders.apply_coupon(session, user_id=_me().id, code=data["code"])
        except LookbookError as error:
            errors = service_error(error) or {"code": [error.message]}
            return _render_cart(_status_of(error), errors=errors, values=values)
        flash("Coupon applied.", "success")
        return redirect(url_for("account.cart"), code=303)
    return _render_cart(422, errors=errors, values=values)


@account_bp.route("/cart/coupon/remove", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def remove_coupon():
    with transaction() as session:
        orders.remove_coupon(session, user_id=_me().id)
    flash("Coupon removed.", "success")
    return redirect(url_for("account.cart"), code=303)


# ---- checkout and payment ---------------------------------------------------------------------------------------

def _address_form(form, prefix: str = "") -> dict:
    """An address form's fields; an empty optional field clears it (None), an empty required one is missing."""
    data = {}
    for name in ADDRESS_FIELDS:
        value = form.get(prefix + name, "")
        data[name] = None if name in OPTIONAL_ADDRESS_FIELDS and not value.strip() else value
    return data


@account_bp.route("/checkout", methods=["GET", "POST"])
@account_bp.access(Role.CUSTOMER)
def checkout():
    user, errors, values, status = _me(), {}, {}, 200
    if request.method == "POST":
        values = request.form.to_dict()
        choice = request.form.get("address", "")
        address = None
        if choice == "new":
            address, errors = load_form(AddressSchema(), _address_form(request.form, "new-"))
        elif not choice:
            errors = {"address": ["Choose one of your addresses or add a new one."]}
        data, more = load_form(CheckoutSchema(), {"cart_version": request.form.get("cart_version", ""),
                                                  "address_id": "" if choice == "new" else choice})
        if "cart_version" in more:
            flash("Your cart changed or the form expired; review your order and place it again.", "error")
        errors = {**errors, **{("address" if k == "address_id" else k): v for k, v in more.items()}}
        if not errors:
            try:
                with transaction() as session:
                    address_id = data.get("address_id")
                    if address is not None:
                        address_id = accounts.add_address(session, user_id=user.id, fields=address).id
                    order = orders.checkout(session, user=session.get(User, user.id), cart_version=data["cart_version"],
                                            address_id=address_id)
                    order_id = order.id
            except LookbookError as error:
                service_error(error)
                errors = {"address": [error.message]} if error.code == "address_not_found" else {"checkout": [error.message]}
                status = _status_of(error)
            else:
                flash(f"Order {order_id} is placed. Pay for it now to confirm it.", "success")
                return redirect(url_for("account.pay", order_id=order_id), code=303)
        else:
            status = 422
    with transaction() as session:
        view = orders.view_cart(session, user_id=user.id)
        addresses = accounts.list_addresses(session, user_id=user.id)
    if request.method == "GET" or not values.get("address"):
        values.setdefault("address", str(addresses[0].id) if addresses else "new")
    return _page("checkout.html", "cart", status, view=view, quote=view.quote, lines=_cart_lines(view),
                 addresses=addresses, errors=errors, values=values)


def _sandbox_cards() -> list[dict]:
    return [{"number": " ".join(number[i:i + 4] for i in range(0, len(number), 4)),
             "outcome": DECLINE_REASONS.get(reason, reason) if reason else "The payment succeeds."}
            for number, reason in SANDBOX_CARDS.items()]


@account_bp.route(f"/orders/<{ID}:order_id>/pay", methods=["GET", "POST"])
@account_bp.access(Role.CUSTOMER)
def pay(order_id: int):
    """The sandbox payment; a paid order shows its confirmation here."""
    user, errors, status, declined = _me(), {}, 200, None
    if request.method == "POST":
        data, errors = load_form(PaymentRequestSchema(only=("card_number",)))
        if not errors and not data.get("card_number"):
            errors = {"card_number": ["Enter a card number."]}
        sandbox = services().payment_providers.get("sandbox")
        if errors:
            status = 422
        elif sandbox is None:
            flash("Card payments in the sandbox are switched off in this shop.", "error")
            status = 409
        else:
            try:
                payments.pay(services().db, order_id=order_id, user_id=user.id,
                             provider=sandbox, card_number=data["card_number"])
            except NotFound:
                raise
            except PaymentFailed as error:
                declined = DECLINE_REASONS.get(error.code, error.message)
                status = 402
            except LookbookError as error:
                service_error(error)
                status = _status_of(error)
            else:
                flash(f"Thank you! Your payment was received and order {order_id} is confirmed.", "success")
                return redirect(url_for("account.pay", order_id=order_id), code=303)
    with transaction() as session:
        order = orders.get_order(session, order_id=order_id, user_id=user.id)
        lines = orders.order_lines(session, order.id)
    payable = order.status == OrderStatus.PENDING_PAYMENT
    return _page("pay.html", "orders", status, order=order, lines=lines, errors=errors, declined=declined,
                 cards=_sandbox_cards(), payable=payable, sandbox="sandbox" in services().payment_providers,
                 stripe=_stripe_payment(order.id, user.id) if payable else None)


def _stripe_payment(order_id: int, user_id: int) -> dict | None:
    """What Stripe Elements needs to take the card in the browser (the key, the PaymentIntent's client secret),
    or None when the shop takes no Stripe payments; Stripe being unreachable shows as a message."""
    settings, provider = services().settings, services().payment_providers.get("stripe")
    if provider is None or not settings.stripe_publishable_key:
        return None
    try:
        payment = payments.start_payment(services().db, order_id=order_id, user_id=user_id, provider=provider)
    except LookbookError as error:
        return {"unavailable": error.message}
    return {"publishable_key": settings.stripe_publishable_key, "client_secret": payment.client_secret,
            "js_url": settings.stripe_js_url}


# ---- orders ----------------------------------------------------------------------------------------------------

@account_bp.route("/orders")
@account_bp.access(Role.CUSTOMER)
def order_list():
    try:
        args = OrderListArgs().load({k: v for k, v in request.args.items() if k in ("page", "status") and v})
    except ma.ValidationError:
        args = {"page": 1}
    with transaction() as session:
        found, total = orders.list_orders(session, user_id=_me().id, status=args.get("status"), page=args["page"],
                                          per_page=ORDERS_PER_PAGE)
    return _page("orders.html", "orders", orders=found, pages=_pages(total, args["page"], ORDERS_PER_PAGE),
                 status_filter=args.get("status"), statuses=list(OrderStatus))


@account_bp.route(f"/orders/<{ID}:order_id>")
@account_bp.access(Role.CUSTOMER)
def order(order_id: int):
    with transaction() as session:
        found = orders.get_order(session, order_id=order_id, user_id=_me().id)
        lines = orders.order_lines(session, found.id)
        events = orders.order_events(session, found.id)
    payable = found.status == OrderStatus.PENDING_PAYMENT
    return _page("order.html", "orders", order=found, lines=lines, events=events, payable=payable,
                 awaiting_stripe=payable and request.args.get("paying") == "stripe")


@account_bp.route(f"/orders/<{ID}:order_id>/cancel", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def cancel_order(order_id: int):
    try:
        with transaction() as session:
            orders.cancel_unpaid(session, order_id=order_id, user_id=_me().id)
    except NotFound:
        raise
    except LookbookError as error:
        service_error(error)
    else:
        flash(f"Order {order_id} is cancelled.", "success")
    return redirect(url_for("account.order", order_id=order_id), code=303)


# ---- notifications ---------------------------------------------------------------------------------------------

@account_bp.route("/notifications")
@account_bp.access(Role.CUSTOMER)
def notifications():
    page, user = _page_number(), _me()
    with transaction() as session:
        items, total = notices.list_notifications(session, user_id=user.id, page=page,
                                                        per_page=NOTIFICATIONS_PER_PAGE)
        unread = notices.count_unread(session, user_id=user.id)
    return _page("notifications.html", "notifications", items=items, unread=unread,
                 pages=_pages(total, page, NOTIFICATIONS_PER_PAGE))


@account_bp.route(f"/notifications/<{ID}:notification_id>/read", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def mark_notification_read(notification_id: int):
    with transaction() as session:
        notices.mark_read(session, user_id=_me().id, notification_id=notification_id)
    flash("Marked as read.", "success")
    return _back("account.notifications")


@account_bp.route("/notifications/read-all", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def mark_all_notifications_read():
    with transaction() as session:
        marked = notices.mark_all_read(session, user_id=_me().id)
    flash(f"Marked {marked} notification{'s' if marked != 1 else ''} as read." if marked else "Nothing was unread.",
          "success")
    return _back("account.notifications")


# ---- reviews and feedback ---------------------------------------------------------------------------------------

def _product_names(session, product_ids) -> dict[int, str]:
    names = {}
    for product_id in product_ids:
        try:
            names[product_id] = get_product(session, product_id=product_id).name
        except NotFound:
            names[product_id] = f"Product {product_id}"
    return names


def _reviewable(session, user_id: int, reviewed: set[int]) -> list[tuple[int, str]]:
    """Products in my recent orders that the feedback service says I bought and that I did not review yet."""
    recent, _ = orders.list_orders(session, user_id=user_id, per_page=50)
    seen: dict[int, str] = {}
    for found in recent:
        for line in orders.order_lines(session, found.id):
            if line.product_id not in seen and line.product_id not in reviewed:
                seen[line.product_id] = line.name
    return [(pid, name) for pid, name in seen.items() if feedback.has_bought(session, user_id=user_id, product_id=pid)]


def _render_reviews(status: int = 200, *, review_errors=None, review_values=None, feedback_errors=None,
                    feedback_values=None, edit_errors=None, edit_values=None):
    user, page = _me(), _page_number()
    with transaction() as session:
        reviews = feedback.my_reviews(session, user_id=user.id)
        names = _product_names(session, {r.product_id for r in reviews})
        reviewable = _reviewable(session, user.id, {r.product_id for r in reviews})
        rows, total = feedback.list_feedback(session, user_id=user.id, page=page, per_page=FEEDBACK_PER_PAGE)
    return _page("reviews.html", "reviews", status, reviews=reviews, names=names, reviewable=reviewable,
                 feedback_items=[item for item, _ in rows], pages=_pages(total, page, FEEDBACK_PER_PAGE),
                 review_errors=review_errors or {}, review_values=review_values or {},
                 feedback_errors=feedback_errors or {}, feedback_values=feedback_values or {},
                 edit_errors=edit_errors or {}, edit_values=edit_values or {})


@account_bp.route("/reviews", methods=["GET"])
@account_bp.access(Role.CUSTOMER)
def reviews():
    return _render_reviews()


@account_bp.route("/reviews", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def write_review():
    """Form fields: product_id, rating (1-5), body (and title), next. From another page (``next``) a refusal
    comes back there as a message; from the reviews page the form is shown again with it."""
    values = {k: request.form.get(k, "") for k in ("product_id", "rating", "title", "body")}
    from_elsewhere = _safe_next(request.form.get("next")) is not None
    data, errors = load_form(ReviewFormSchema())
    status = 422
    if not errors:
        try:
            with transaction() as session:
                feedback.create_review(session, user_id=_me().id, **data)
        except LookbookError as error:
            if from_elsewhere:
                flash(error.message, "error")
                return _back("account.reviews")
            errors = service_error(error) or {"product_id": [error.message]}
            status = _status_of(error)
        else:
            flash("Thank you for your review! It is published on the product page.", "success")
            return _back("account.reviews")
    elif from_elsewhere:
        flash(_problems(errors), "error")
        return _back("account.reviews")
    return _render_reviews(status, review_errors=errors, review_values=values)


@account_bp.route(f"/reviews/<{ID}:review_id>", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def edit_review(review_id: int):
    """Form fields r<id>-rating, r<id>-title, r<id>-body (one form per review on the page)."""
    prefix = f"r{review_id}-"
    form = {k: request.form[prefix + k] for k in ("rating", "title", "body") if prefix + k in request.form}
    data, errors = load_form(ReviewChangesSchema(partial=True), form)
    if not errors:
        if "title" in form and not form["title"].strip():
            data["title"] = None
        if form.get("body") == "":
            data["body"] = ""
        try:
            with transaction() as session:
                feedback.update_review(session, user_id=_me().id, review_id=review_id, changes=data)
        except NotFound:
            raise
        except LookbookError as error:
            errors = service_error(error)
        else:
            flash("Your review is updated.", "success")
            return redirect(url_for("account.reviews"), code=303)
    return _render_reviews(422, edit_errors={review_id: errors}, edit_values={review_id: form})


@account_bp.route(f"/reviews/<{ID}:review_id>/delete", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def delete_review(review_id: int):
    with transaction() as session:
        feedback.delete_review(session, user_id=_me().id, review_id=review_id)
    flash("Your review is deleted.", "success")
    return redirect(url_for("account.reviews"), code=303)


@account_bp.route("/feedback", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def send_feedback():
    values = {k: request.form.get(k, "") for k in ("subject", "body")}
    data, errors = load_form(FeedbackInputSchema())
    if not errors:
        try:
            with transaction() as session:
                feedback.send_feedback(session, user_id=_me().id, subject=data["subject"], body=data["body"])
        except LookbookError as error:
            errors = service_error(error)
        else:
            flash("Thank you! Your message was sent to the shop.", "success")
            return redirect(url_for("account.reviews"), code=303)
    return _render_reviews(422, feedback_errors=errors, feedback_values=values)


# ---- style: preferences and likes ----------------------------------------------------------------------------

def _minor(text: str) -> tuple[int | None, str | None]:
    """An amount typed in the currency's units ("25", "25.50") as integer minor units."""
    if not text.strip():
        return None, None
    minor = amount_in_minor_units(text)
    return (None, "Enter an amount like 25 or 25.50.") if minor is None else (minor, None)


def _flat(messages) -> list[str]:
    """Marshmallow's messages for a list field ({index: [messages]}) as plain sentences."""
    if isinstance(messages, dict):
        return sorted({f"Each value: {m}" for value in messages.values() for m in _flat(value)})
    if isinstance(messages, list):
        return [m for value in messages for m in _flat(value)]
    return [str(messages)]


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def _render_style(status: int = 200, *, errors=None, values=None):
    user, page = _me(), _page_number()
    with transaction() as session:
        prefs = preferences.get_preferences(session, user_id=user.id)
        liked, total = preferences.liked_products(session, user_id=user.id, page=page, per_page=LIKES_PER_PAGE)
    if values is None:
        values = {name: ", ".join(getattr(prefs, name)) for name in PREFERENCE_LISTS}
        for name in ("budget_min", "budget_max"):
            minor = getattr(prefs, f"{name}_minor")
            values[name] = "" if minor is None else f"{minor // 100}.{minor % 100:02d}"
    return _page("style.html", "style", status, prefs=prefs, values=values, errors=errors or {},
                 liked=[product_dict(product) for product, _ in liked], pages=_pages(total, page, LIKES_PER_PAGE))


@account_bp.route("/style", methods=["GET", "POST"])
@account_bp.access(Role.CUSTOMER)
def style():
    if request.method == "GET":
        return _render_style()
    values = {k: request.form.get(k, "") for k in (*PREFERENCE_LISTS, "budget_min", "budget_max")}
    form, errors = {name: _words(values[name]) for name in PREFERENCE_LISTS}, {}
    for name in ("budget_min", "budget_max"):
        form[f"{name}_minor"], problem = _minor(values[name])
        if problem:
            errors[name] = [problem]
    data = None
    try:  # not load_form: the lists' messages come per item ({index: [messages]}), flattened here
        data = PreferencesSchema().load(form)
    except ma.ValidationError as error:
        for name, messages in error.normalized_messages().items():
            errors.setdefault(name.removesuffix("_minor"), []).extend(_flat(messages))
    if not errors:
        try:
            with transaction() as session:
                preferences.set_preferences(session, user_id=_me().id, **data)
        except LookbookError as error:
            errors = {name.removesuffix("_minor"): m for name, m in service_error(error).items()}
        else:
            flash("Your style preferences are saved.", "success")
            return redirect(url_for("account.style"), code=303)
    return _render_style(422, errors=errors, values=values)


@account_bp.route(f"/likes/<{PRODUCT_ID}:product_id>", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def like_product(product_id: int):
    """Form fields: next."""
    try:
        with transaction() as session:
            preferences.like_product(session, user_id=_me().id, product_id=product_id)
    except LookbookError as error:
        service_error(error)
    else:
        flash("Added to your liked products.", "success")
    return _back("account.style")


@account_bp.route(f"/likes/<{PRODUCT_ID}:product_id>/remove", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def unlike_product(product_id: int):
    """Form fields: next."""
    with transaction() as session:
        preferences.unlike_product(session, user_id=_me().id, product_id=product_id)
    flash("Removed from your liked products.", "success")
    return _back("account.style")


# ---- settings --------------------------------------------------------------------------------------------------

def _render_settings(status: int = 200, *, errors=None, values=None):
    user = _me()
    with transaction() as session:
        fresh = session.get(User, user.id)
        addresses = accounts.list_addresses(session, user_id=user.id)
    return _page("settings.html", "settings", status, user=fresh, addresses=addresses, errors=errors or {},
                 values=values or {}, delete_word=DELETE_WORD)


@account_bp.route("/settings")
@account_bp.access(Role.CUSTOMER)
def settings():
    return _render_settings()


@account_bp.route("/settings/profile", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def update_profile():
    values = {"name": request.form.get("name", ""), "phone": request.form.get("phone", "")}
    form = {"name": values["name"], "phone": values["phone"].strip() or None,
            "email_preferences": {"order_updates": "order_updates" in request.form, "deals": "deals" in request.form}}
    data, errors = load_form(ProfileUpdateSchema(only=("name", "phone", "email_preferences")), form)
    if not errors:
        try:
            with transaction() as session:
                accounts.update_profile(session, user=session.get(User, _me().id), changes=data)
        except LookbookError as error:
            errors = service_error(error)
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("account.settings"), code=303)
    return _render_settings(422, errors={"profile": errors}, values={"profile": values})


@account_bp.route("/settings/password", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def change_password():
    data, errors = load_form(ProfileUpdateSchema(only=("current_password", "new_password")))
    if not errors and "new_password" not in data:
        errors = {"new_password": ["Enter a new password."]}
    if not errors and request.form.get("new_password_again") != request.form.get("new_password"):
        errors = {"new_password_again": ["The two new passwords differ."]}
    if not errors:
        try:
            with transaction() as session:
                user = session.get(User, _me().id)
                accounts.check_current_password(user, data["current_password"])
                accounts.update_profile(session, user=user, changes={"password": data["new_password"]})
        except LookbookError as error:
            errors = service_error(error)
        else:
            flash("Your password is changed.", "success")
            return redirect(url_for("account.settings"), code=303)
    return _render_settings(422, errors={"password": errors})


@account_bp.route("/settings/addresses", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def add_address():
    fields, errors = load_form(AddressSchema(), _address_form(request.form, "new-"))
    if not errors:
        with transaction() as session:
            accounts.add_address(session, user_id=_me().id, fields=fields)
        flash("Address added.", "success")
        return redirect(url_for("account.settings"), code=303)
    return _render_settings(422, errors={"address-new": errors},
                            values={"address-new": {k: request.form.get("new-" + k, "") for k in ADDRESS_FIELDS}})


@account_bp.route(f"/settings/addresses/<{ID}:address_id>", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def edit_address(address_id: int):
    prefix = f"a{address_id}-"
    changes, errors = load_form(AddressSchema(), _address_form(request.form, prefix))
    if not errors:
        with transaction() as session:
            accounts.update_address(session, user_id=_me().id, address_id=address_id, changes=changes)
        flash("Address saved.", "success")
        return redirect(url_for("account.settings"), code=303)
    return _render_settings(422, errors={f"address-{address_id}": errors},
                            values={f"address-{address_id}": {k: request.form.get(prefix + k, "") for k in ADDRESS_FIELDS}})


@account_bp.route(f"/settings/addresses/<{ID}:address_id>/delete", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def delete_address(address_id: int):
    with transaction() as session:
        accounts.delete_address(session, user_id=_me().id, address_id=address_id)
    flash("Address deleted.", "success")
    return redirect(url_for("account.settings"), code=303)


@account_bp.route("/settings/delete", methods=["POST"])
@account_bp.access(Role.CUSTOMER)
def delete_account():
    if request.form.get("confirm", "").strip().upper() != DELETE_WORD:
        flash(f"Type {DELETE_WORD} to confirm that your account should be deleted.", "error")
        return _render_settings(422, errors={"delete": {"confirm": [f"type {DELETE_WORD} to confirm"]}})
    with transaction() as session:
        accounts.delete_user(session, user_id=_me().id)
    sign_out()
    flash("Your account and its personal details are deleted. Goodbye!", "success")
    return redirect(url_for("storefront.home"), code=303)
