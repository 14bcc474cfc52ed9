"""The storefront: home with deals, the catalog with filters, product pages, and search by photo.

Every page reads through the same services as the JSON API and shows products the way the API does
(``product_dict``: image URLs, srcset, any deal price). Filters arrive as GET parameters, prices typed in
major units ("12.50") and turned into integer minor units exactly; a value that does not make sense gets a
message, never an error page. A photo search is kept for a day under a random id (``photo_queries``) so its
results have an address that the shopper can reload and narrow without uploading again.
"""

from __future__ import annotations

import io
import re
from typing import ClassVar

import marshmallow as ma
from flask import (
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from lookbook.accounts import preferences
from lookbook.accounts.roles import Role
from lookbook.catalog import management, photo_queries
from lookbook.catalog import service as catalog_service
from lookbook.catalog.service import SearchFilters
from lookbook.deals import service as deals
from lookbook.errors import NotFound
from lookbook.feedback import service as feedback
from lookbook.orders.service import MAX_QUANTITY
from lookbook.vision.encoder import ModelNotFoundError
from lookbook.vision.images import ImageError
from lookbook.web.api import (
    IMAGE_STATUS,
    PUBLIC,
    RATE_LIMIT_ATTRIBUTE,
    services,
    transaction,
)
from lookbook.web.catalog import (
    PRODUCT_ID,
    FilterArgs,
    ProductListArgs,
    deals_in_force,
    filters_of,
    product_dict,
    variant_dict,
)
from lookbook.web.pages.base import PageBlueprint, amount_in_minor_units, error_page, load_form, signed_in_user

storefront_bp = PageBlueprint("storefront", __name__, revalidate=True)

PER_PAGE = 24
HOME_DEALS, HOME_FEATURED = 8, 12
SIMILAR_ITEMS, PHOTO_MATCHES = 8, 24
REVIEWS_SHOWN = 20
LABEL_NAMES = {"masterCategory": "Department", "subCategory": "Type", "articleType": "Article",
               "baseColour": "Base colour", "productDisplayName": "Display name"}
SORT_LABELS = {"name": "Name", "price": "Price: low to high", "-price": "Price: high to low", "newest": "Newest"}
FIELD_LABELS = {"category": "Category", "gender": "Gender", "colour": "Colour", "min_price": "Lowest price",
                "max_price": "Highest price", "in_stock": "In stock only", "q": "Words", "sort": "Sort",
                "page": "Page", "per_page": "Products per page"}
SHOP_FIELDS = ("q", "category", "gender", "colour", "min_price", "max_price", "in_stock", "sort", "per_page")
PHOTO_FIELDS = ("category", "gender", "colour", "min_price", "max_price", "in_stock")
IMAGE_MESSAGES = {
    "too_large": "That photo is too large. Choose one under {limit} MB.",
    "too_many_pixels": "That photo has too many pixels for us to read. Try a smaller photo or a screenshot.",
    "not_an_image": "That file is not a photo we can read. Choose a JPEG, PNG, WEBP or GIF image.",
    "corrupt": "That photo seems damaged or incomplete. Try saving or taking it again.",
    "unreadable": "We could not read that file. Try another photo.",
}
NO_MODEL = "Search by photo is not available yet: the shop has no trained model. Try the word search instead."


# ---- filters typed by shoppers ---------------------------------------------------------------------------------

class MajorUnits(ma.fields.Field):
    """A price typed in major units ("12", "12.5", "12,50") as integer minor units, exactly (Decimal, no floats)."""

    default_error_messages: ClassVar[dict] = {"invalid": "enter an amount like 12.50"}

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        minor = amount_in_minor_units(value) if isinstance(value, str) else None
        if minor is None:
            raise self.make_error("invalid")
        return minor


class MajorUnitPrices(ma.Schema):
    """``min_price``/``max_price`` in major units, loaded as the API's ``min_price_minor``/``max_price_minor``."""

    min_price = MajorUnits()
    max_price = MajorUnits()

    @ma.post_load
    def _as_minor_units(self, data, **_):
        for side in ("min", "max"):
            if f"{side}_price" in data:
                data[f"{side}_price_minor"] = data.pop(f"{side}_price")
        return data


class ShopArgs(MajorUnitPrices, ProductListArgs):
    per_page = ma.fields.Integer(load_default=PER_PAGE, validate=ma.validate.Range(min=1, max=100))


class PhotoFilterArgs(MajorUnitPrices, FilterArgs):
    pass


def _read_filters(schema: ma.Schema, fields: tuple[str, ...]) -> tuple[dict, dict, dict, str | None]:
    """The query's filters: (loaded values, the raw values to show in the form and carry in links, field errors,
    a message). Values that do not make sense are all dropped, so the page shows everything and says why."""
    raw = {name: request.args.get(name, "").strip() for name in fields}
    raw = {name: value for name, value in raw.items() if value}
    data, errors = load_form(schema, raw)
    if data is not None:
        return data, raw, {}, None
    message = f"We could not use these filters, so nothing is filtered ({_problems(errors)})."
    return schema.load({}), raw, errors, message


def _problems(errors: dict) -> str:
    return "; ".join(f"{FIELD_LABELS.get(name, name)}: {' '.join(map(str, messages))}"
                     for name, messages in errors.items())


def _filter_values() -> dict:
    """The catalog's categories, genders and colours to choose from. Reading them scans the products, so each
    process keeps them until the catalog changes."""
    def read():
        with transaction() as session:
            return catalog_service.filter_values(session)

    return services().catalog.memo("filter values", read)


def _choices() -> dict:
    return {**_filter_values(), "sorts": SORT_LABELS}


# ---- home and catalog ------------------------------------------------------------------------------------------

@storefront_bp.route("/")
@storefront_bp.access(PUBLIC)
def home():
    with transaction() as session:
        offers = deals.best_deals(session, limit=HOME_DEALS, deals=deals_in_force())
        best = [product_dict(offer.product) for offer in offers]
    newest, _ = catalog_service.browse_products(services().catalog, filters=SearchFilters(in_stock=True),
                                                sort="newest", per_page=HOME_FEATURED)
    featured = [product_dict(product) for product in newest]
    return render_template("storefront/home.html", deals=best, featured=featured, choices=_filter_values())


@storefront_bp.route("/shop")
@storefront_bp.access(PUBLIC)
def catalog():
    args, values, errors, message = _read_filters(ShopArgs(), SHOP_FIELDS + ("page",))
    products, total = catalog_service.browse_products(
        services().catalog, filters=filters_of(args), text=args.get("q"), sort=args["sort"], page=args["page"],
        per_page=args["per_page"])
    items = [product_dict(product) for product in products]
    page = {"page": args["page"], "pages": (total + args["per_page"] - 1) // args["per_page"], "total": total}
    links = {} if errors else {k: v for k, v in values.items() if k != "page"}
    return render_template("storefront/catalog.html", products=items, page=page, values=values, errors=errors,
                           message=message, links=links, choices=_choices(), filtered=bool(links)
                           ), 422 if errors else 200


# ---- product page ----------------------------------------------------------------------------------------------

def _details(item: dict) -> list[tuple[str, str]]:
    """The product's facts as (name, value) rows: its columns, then every label the source had."""
    rows = [(name, item[key]) for name, key in (("Category", "category"), ("Gender", "gender"), ("Colour", "colour"))
            if item.get(key)]
    for key, value in sorted(item["labels"].items()):
        name = LABEL_NAMES.get(key) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).capitalize()
        rows.append((name, value))
    return rows


def _similar(product_id: int) -> list[dict] | None:
    """Products that look like this one, each with its similarity; None when visual search has no model."""
    try:
        hits = catalog_service.similar_products(services().catalog, product_id, k=SIMILAR_ITEMS)
    except ModelNotFoundError:
        return None
    except NotFound:
        return []
    return [{**product_dict(hit), "score": hit.score} for hit in hits]


@storefront_bp.route(f"/products/{PRODUCT_ID}")
@storefront_bp.access(PUBLIC)
def product(product_id: int):
    user = signed_in_user()
    customer = user is not None and user.role == Role.CUSTOMER
    with transaction() as session:
        try:
            found = management.public_product(session, product_id=product_id)
        except NotFound:
            abort(404)
        item = product_dict(found)
        variants = [variant_dict(found, v) for v in management.variants_of(session, [found.id])[found.id]]
        listed = feedback.product_reviews(session, product_id=product_id, per_page=REVIEWS_SHOWN)
        reviews = [{"rating": r.review.rating, "title": r.review.title, "body": r.review.body,
                    "reviewer": r.reviewer, "created_at": r.review.created_at} for r in listed.items]
        summary = {"average": listed.average_rating, "count": listed.total, "ratings": listed.ratings}
        liked = customer and preferences.likes(session, user_id=user.id, product_id=product_id)
        reviewed = customer and any(r.product_id == product_id for r in feedback.my_reviews(session, user_id=user.id))
        can_review = customer and not reviewed and feedback.has_bought(session, user_id=user.id, product_id=product_id)
    return render_template(
        "storefront/product.html", product=item, variants=variants, reviews=reviews, summary=summary,
        similar=_similar(product_id), customer=customer, liked=liked, reviewed=reviewed, can_review=can_review,
        details=_details(item), max_quantity=MAX_QUANTITY, stock_cap=management.SHOWN_STOCK_CAP, here=request.path)


# ---- search by photo -------------------------------------------------------------------------------------------

def _wants_json() -> bool:
    """The photo search script asks for JSON; a plain form post (or a browser) gets HTML."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _photo_refused(message: str, status: int, *, html_status: int = 422):
    """A search photo we cannot use: a JSON message for the script, or the page with the form open."""
    if _wants_json():
        response = jsonify(message=message)
        response.status_code = status
        return response
    return render_template("storefront/photo_search.html", message=message, photo_search_open=True,
                           photo_search_error=message), html_status


def _upload_limit_mb() -> int:
    return max(1, services().settings.max_upload_bytes // (1024 * 1024))


def _uploaded_photo() -> bytes:
    """The bytes of the chosen photo: the first non-empty ``image`` file (the form offers a file and a camera)."""
    limit = services().settings.max_upload_bytes
    for upload in request.files.getlist("image"):
        data = upload.read(limit + 1)
        if data:
            if len(data) > limit:
                raise ImageError("too_large")
            return data
    return b""


@storefront_bp.route("/search/photo", methods=["POST"])
@storefront_bp.access(PUBLIC)
def photo_search():
    _, errors = load_form(PhotoFilterArgs(), request.form)
    if errors:
        return _photo_refused(f"We could not use the filters ({_problems(errors)}).", 422)
    catalog = services().catalog
    try:
        data = _uploaded_photo()
        if not data:
            return _photo_refused("Choose a photo to search with (or drop or paste one).", 422)
        vector = catalog_service.query_vector(catalog, data)
    except ImageError as error:
        message = IMAGE_MESSAGES.get(error.reason, str(error)).format(limit=_upload_limit_mb())
        return _photo_refused(message, IMAGE_STATUS.get(error.reason, 422))
    except ModelNotFoundError:
        return _photo_refused(NO_MODEL, 503, html_status=503)
    query_id = photo_queries.save_query(catalog.paths.home, vector=vector, image_bytes=data,
                                        vector_version=catalog.encoder.vector_version)
    narrowed = {k: v for k in PHOTO_FIELDS if (v := request.form.get(k, "").strip())}
    location = url_for("storefront.photo_results", query_id=query_id, **narrowed)
    if _wants_json():
        return jsonify(location=location)
    return redirect(location, code=303)


setattr(photo_search, RATE_LIMIT_ATTRIBUTE, "search")  # the API's photo-search limit, by the app's limiter


@storefront_bp.route("/search/photo", methods=["GET"])
@storefront_bp.access(PUBLIC)
def photo_search_page():
    """The address of the photo search form (a bookmark, a reload): the form, open, with some advice."""
    return render_template("storefront/photo_search.html", message=None, photo_search_open=True)


@storefront_bp.route("/search/photo/<query_id>")
@storefront_bp.access(PUBLIC)
def photo_results(query_id: str):
    catalog = services().catalog
    try:
        version = catalog.encoder.vector_version
    except ModelNotFoundError:
        return error_page(503, NO_MODEL)
    query = photo_queries.load_query(catalog.paths.home, query_id, vector_version=version)
    if query is None:
        return render_template("storefront/photo_expired.html", photo_search_open=True), 404
    args, values, errors, message = _read_filters(PhotoFilterArgs(), PHOTO_FIELDS)
    try:
        hits = catalog_service.search_by_vector(catalog, query.vector, k=PHOTO_MATCHES, filters=filters_of(args),
                                                exclude_image=query.sha256)
    except ModelNotFoundError:
        return error_page(503, NO_MODEL)
    matches = [{**product_dict(hit), "score": hit.score} for hit in hits]
    return render_template("storefront/photo_results.html", query_id=query_id, matches=matches, values=values,
                           errors=errors, message=message, choices=_choices(), filtered=bool(values) and not errors
                           ), 422 if errors else 200


@storefront_bp.route("/search/photo/<query_id>/thumbnail")
@storefront_bp.access(PUBLIC)
def photo_thumbnail(query_id: str):
    data = photo_queries.load_thumbnail(services().catalog.paths.home, query_id)
    if data is None:
        abort(404)
    return send_file(io.BytesIO(data), mimetype="image/webp", etag=query_id[:16], conditional=True, max_age=3600)


# ---- the script's failures: it reads {"message"} --------------------------------------------------------------

@storefront_bp.errorhandler(RequestEntityTooLarge)
def _upload_too_large(error):
    """Flask refuses an oversized body before the view runs (while reading the CSRF token): say so kindly."""
    message = f"That photo is larger than the {_upload_limit_mb()} MB limit. Choose a smaller one."
    return _photo_refused(message, 413, html_status=413)


@storefront_bp.errorhandler(TooManyRequests)
def _too_many_searches(error):
    if _wants_json():
        return _photo_refused("Too many searches in a short time; wait a minute and try again.", 429)
    return error_page(429)
