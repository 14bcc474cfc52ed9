"""Products and visual search over HTTP: browse, look up, search by photo, similar items, product images."""

from __future__ import annotations

import io

import marshmallow as ma
from flask_smorest.fields import Upload
from flask import current_app, g, json, request, send_file, url_for

from lookbook.catalog import management
from lookbook.catalog import service as catalog_service
from lookbook.catalog.service import IMAGE_WIDTHS, SORTS, SearchFilters
from lookbook.deals import pricing
from lookbook.deals.service import sale_of
from lookbook.web.answers import cached_json, deal_ids_in_force
from lookbook.web.api import PUBLIC, ApiBlueprint, PageArgs, page_of, page_schema, services, transaction
from lookbook.web.fields import INT64_MAX, Text

products_bp = ApiBlueprint("products", __name__, url_prefix="/api/v1/products", description="The shop's products")
search_bp = ApiBlueprint("search", __name__, url_prefix="/api/v1/search", description="Visual search")

PRODUCT_ID = f"<int(max={INT64_MAX}):product_id>"
GRID_WIDTH, DETAIL_WIDTH = 320, 1024
LIST_CACHE = "public, max-age=60"


class ProductImagesSchema(ma.Schema):
    thumbnail = ma.fields.String(required=True, metadata={"description": f"{GRID_WIDTH} px wide, for grids"})
    detail = ma.fields.String(required=True, metadata={"description": f"{DETAIL_WIDTH} px wide, for the product page"})
    srcset = ma.fields.String(required=True, metadata={"description": "Every width, for <img srcset>"})


class ProductDealSchema(ma.Schema):
    name = ma.fields.String(required=True)
    ends_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When the deal ends; null: open-ended"})


class ProductSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    category = ma.fields.String(allow_none=True)
    gender = ma.fields.String(allow_none=True)
    colour = ma.fields.String(allow_none=True)
    labels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    price_minor = ma.fields.Integer(allow_none=True, metadata={"description": "Price in minor units (cents)"})
    currency = ma.fields.String(required=True)
    in_stock = ma.fields.Boolean(required=True)
    description = ma.fields.String(allow_none=True)
    images = ma.fields.Nested(ProductImagesSchema, allow_none=True)
    sale_price_minor = ma.fields.Integer(metadata={"description": "Price under a deal (only when one applies)"})
    deal = ma.fields.Nested(ProductDealSchema, metadata={"description": "The deal behind sale_price_minor"})


class ProductVariantSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "What to put in the cart (variant_id)"})
    sku = ma.fields.String(required=True)
    size = ma.fields.String(allow_none=True)
    colour = ma.fields.String(allow_none=True)
    price_minor = ma.fields.Integer(allow_none=True, metadata={"description": "List price in minor units (its own "
                                                                              "or the product's), before deals"})
    in_stock = ma.fields.Boolean(required=True)
    stock = ma.fields.Integer(required=True, metadata={
        "description": f"Units available, capped at {management.SHOWN_STOCK_CAP}: {management.SHOWN_STOCK_CAP} "
                       f"means that many or more"})


ProductPageSchema = page_schema(ProductSchema, "ProductPage")
_PRODUCT_SCHEMA = ProductSchema()


class ProductDetailSchema(ProductSchema):
    variants = ma.fields.List(ma.fields.Nested(ProductVariantSchema), required=True)


class ScoredProductSchema(ProductSchema):
    score = ma.fields.Float(required=True, metadata={"description": "Cosine similarity to the query, 1 is identical"})


class SearchResultsSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(ScoredProductSchema), required=True)


class FilterArgs(ma.Schema):
    category = Text(max=120, metadata={"description": "A category, specific (Tshirts) or broad (Topwear)"})
    gender = Text(max=40)
    colour = Text(max=60)
    min_price_minor = ma.fields.Integer(validate=ma.validate.Range(min=0, max=INT64_MAX))
    max_price_minor = ma.fields.Integer(validate=ma.validate.Range(min=0, max=INT64_MAX))
    in_stock = ma.fields.Boolean(load_default=False)


class ProductListArgs(FilterArgs, PageArgs):
    q = Text(max=200, metadata={"description": "Words that must all appear in the product name"})
    sort = ma.fields.String(load_default="name", validate=ma.validate.OneOf(sorted(SORTS)))


class SimilarArgs(FilterArgs):
    k = ma.fields.Integer(load_default=8, validate=ma.validate.Range(min=1, max=50))


class ImageSearchSchema(SimilarArgs):
    image = Upload(required=True, metadata={"description": "A photo of a garment: JPEG, PNG, WEBP or GIF"})


class ImageSizeArgs(ma.Schema):
    width = ma.fields.Integer(load_default=GRID_WIDTH, validate=ma.validate.OneOf(IMAGE_WIDTHS))
    v = Text(max=64, metadata={"description": "Image version from the product's image URLs; makes the URL cacheable for a year"})


def _filters(args: dict) -> SearchFilters:
    return SearchFilters(
        category=args.get("category") or None, gender=args.get("gender") or None, colour=args.get("colour") or None,
        min_price_minor=args.get("min_price_minor"), max_price_minor=args.get("max_price_minor"),
        in_stock=bool(args.get("in_stock")),
    )


def _image_url_template() -> str:
    """The product image route as a format string, built by the router once per app and script root: a product
    list has 5 URLs per product, and ``url_for`` for each cost a third of a listing's time."""
    templates = current_app.extensions.setdefault("lookbook_image_url_templates", {})
    root = request.script_root
    if root not in templates:
        example = url_for("products.product_image", product_id=1, width=GRID_WIDTH, v="version")
        templates[root] = (example.replace("/1/", "/{id}/", 1).replace(f"width={GRID_WIDTH}", "width={width}")
                           .replace("v=version", "v={version}"))
    return templates[root]


def _images(product_id: int, digest: str | None) -> dict | None:
    if not digest:
        return None
    template, version = _image_url_template(), digest[:16]

    def url(width):
        return template.format(id=product_id, width=width, version=version)

    return {"thumbnail": url(GRID_WIDTH), "detail": url(DETAIL_WIDTH),
            "srcset": ", ".join(f"{url(w)} {w}w" for w in IMAGE_WIDTHS)}


def product_dict(product) -> dict:
    """A product as the API shows it (a Product row or a SearchHit)."""
    return {
        "id": product.id, "name": product.name, "category": product.category, "gender": product.gender,
        "colour": product.colour, "labels": {k: str(v) for k, v in (product.labels or {}).items() if v is not None},
        "price_minor": product.price_minor, "currency": product.currency, "in_stock": product.in_stock,
        "description": getattr(product, "description", None),
        "images": _images(product.id, getattr(product, "image_sha256", None)),
        **_sale(product),
    }


def deals_in_force() -> list:
    """The active deals, read once per request, so every product of an answer is priced at the same moment."""
    if "active_deals" not in g:
        with transaction() as session:
            g.active_deals = pricing.active_deals(session)
    return g.active_deals


def _sale(product) -> dict:
    sale = sale_of(product, deals_in_force())
    if sale is None:
        return {}
    return {"sale_price_minor": sale.price.unit_minor, "deal": {"name": sale.deal.name, "ends_at": sale.deal.ends_at}}


def _variant_dict(product, variant) -> dict:
    price = variant.price_minor if variant.price_minor is not None else product.price_minor
    return {"id": variant.id, "sku": variant.sku, "size": variant.size, "colour": variant.colour, "price_minor": price,
            "in_stock": variant.stock > 0, "stock": management.shown_stock(variant)}


def _scored(hits) -> dict:
    return {"results": [{**product_dict(hit), "score": round(hit.score, 4)} for hit in hits]}


@products_bp.route("", methods=["GET"])
@products_bp.access(PUBLIC)
@products_bp.arguments(ProductListArgs, location="query")
@products_bp.response(200, ProductPageSchema, headers={"ETag": {"schema": {"type": "string"}}})
def list_products(args):
    """Browse the catalog: filters, words in the name, sorting and pages."""
    def page() -> bytes:
        products, total = catalog_service.browse_products(
            services().catalog, filters=_filters(args), text=args.get("q"), sort=args["sort"], page=args["page"],
            per_page=args["per_page"])
        envelope = json.dumps(ProductPageSchema().dump(page_of([], total, args)))
        kept = services().catalog.memo("product json", dict)
        version = (deal_ids_in_force(), _image_url_template())
        items = ", ".join(_product_json(p, kept, version) for p in products)
        return envelope.replace('"items": []', f'"items": [{items}]', 1).encode()

    return cached_json(None, page, cache_control=LIST_CACHE)


def _product_json(product, kept: dict, version: tuple) -> str:
    """One product of a list as JSON, kept (in ``kept``, emptied when the catalog changes) for the deals in force
    and the image URL template in ``version``: most of a listing's time went into building and dumping the same
    products again for every page that shows them."""
    key = (product.id, *version)
    if key not in kept:
        kept[key] = json.dumps(_PRODUCT_SCHEMA.dump(product_dict(product)))
    return kept[key]


@products_bp.route(f"/{PRODUCT_ID}", methods=["GET"])
@products_bp.access(PUBLIC)
@products_bp.response(200, ProductDetailSchema)
def get_product(product_id):
    """One product with its variants (sizes, colours) to choose from; a retired product is not found."""
    def detail():
        with transaction() as session:
            product = management.public_product(session, product_id=product_id)
            variants = management.variants_of(session, [product.id])[product.id]
            return {**product_dict(product), "variants": [_variant_dict(product, v) for v in variants]}

    return cached_json(ProductDetailSchema, detail, cache_control=LIST_CACHE)


@products_bp.route(f"/{PRODUCT_ID}/similar", methods=["GET"])
@products_bp.access(PUBLIC)
@products_bp.arguments(SimilarArgs, location="query")
@products_bp.response(200, SearchResultsSchema)
def similar_products(args, product_id):
    """The products that look most like this one (never itself)."""
    hits = catalog_service.similar_products(services().catalog, product_id, k=args["k"], filters=_filters(args))
    return _scored(hits), 200, {"Cache-Control": LIST_CACHE}


@products_bp.route(f"/{PRODUCT_ID}/image", methods=["GET"])
@products_bp.access(PUBLIC)
@products_bp.arguments(ImageSizeArgs, location="query")
@products_bp.doc(responses={"200": {"description": "The image as WEBP",
                                    "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}}},
                            "404": "NOT_FOUND"})
def product_image(args, product_id):
    """The product's image at a grid or detail width; versioned URLs are cacheable for a year."""
    data, digest = catalog_service.product_image(services().catalog, product_id=product_id, width=args["width"])
    response = send_file(io.BytesIO(data), mimetype="image/webp", etag=f"{digest[:16]}-{args['width']}",
                         max_age=None, conditional=True)
    immutable = args.get("v") == digest[:16]
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "public, max-age=300"
    return response


@search_bp.route("/image", methods=["POST"])
@search_bp.access(PUBLIC)
@search_bp.rate_limited("search")
@search_bp.arguments(ImageSearchSchema, location="multipart")
@search_bp.response(200, SearchResultsSchema)
@search_bp.doc(responses={"413": "REQUEST_ENTITY_TOO_LARGE", "415": "UNSUPPORTED_MEDIA_TYPE", "503": "SERVICE_UNAVAILABLE"})
def search_by_image(args):
    """The catalog products most like a photo (multipart field ``image``), with optional filters."""
    upload = args["image"]
    data = upload.read(services().settings.max_upload_bytes + 1)
    hits = catalog_service.search_by_image(services().catalog, data, k=args["k"], filters=_filters(args))
    return _scored(hits)


# Public names for the store's pages, which show the same products the same way.
filters_of = _filters
variant_dict = _variant_dict
