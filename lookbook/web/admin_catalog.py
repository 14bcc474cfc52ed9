"""The catalog over HTTP, for admins: create, edit, retire and restore products; variants and stock; product
images with the model's label suggestions, and confirming those labels."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from lookbook.accounts.roles import Role
from lookbook.catalog import management
from lookbook.catalog.service import SORTS, get_product
from lookbook.web.api import attributes, ApiBlueprint, PageArgs, page_of, page_schema, services, transaction
from lookbook.web.catalog import PRODUCT_ID, ProductImagesSchema, _images
from lookbook.web.fields import INT32_MAX, INT64_MAX, Name, Text

admin_products_bp = ApiBlueprint("admin_products", __name__, url_prefix="/api/v1/admin/products",
                                 description="The catalog, for admins: products, variants, images and labels")
admin_variants_bp = ApiBlueprint("admin_variants", __name__, url_prefix="/api/v1/admin/variants",
                                 description="Product variants (sizes, colours) and their stock, for admins")

VARIANT_ID = f"<int(max={INT32_MAX}):variant_id>"

Price = ma.fields.Integer(validate=ma.validate.Range(min=0, max=INT64_MAX),
                          metadata={"description": "Price in minor units (cents)"})
Stock = ma.fields.Integer(validate=ma.validate.Range(min=0, max=INT32_MAX), metadata={"description": "Units in stock"})


def Labels(*, allow_none_values: bool = False, **kwargs) -> ma.fields.Dict:
    """Free-form labels (masterCategory, subCategory, season, usage, ...), bounded in number and length."""
    return ma.fields.Dict(keys=Text(min=1, max=60), values=Text(max=200, allow_none=allow_none_values),
                          validate=ma.validate.Length(max=50), **kwargs)


# ---- responses ---------------------------------------------------------------------------------------------

class SuggestionSchema(ma.Schema):
    label = ma.fields.String(required=True)
    confidence = ma.fields.Float(required=True, metadata={"description": "The model's probability, 0 to 1"})


Suggestions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(SuggestionSchema), required=True,
                             metadata={"description": "The model's label per head (category, colour, ...) for the "
                                                      "current image"})


class AdminVariantSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    product_id = ma.fields.Integer(required=True)
    sku = ma.fields.String(required=True)
    size = ma.fields.String(allow_none=True)
    colour = ma.fields.String(allow_none=True)
    price_minor = ma.fields.Integer(allow_none=True, metadata={"description": "Its own price; null: the product's"})
    stock = ma.fields.Integer(required=True)
    is_default = ma.fields.Boolean(required=True, metadata={
        "description": "The variant of a product without sizes; replaced by the first real variant"})


class AdminProductSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    category = ma.fields.String(allow_none=True)
    gender = ma.fields.String(allow_none=True)
    colour = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    labels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    price_minor = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String(required=True)
    stock = ma.fields.Integer(required=True, metadata={"description": "The total over its variants"})
    in_stock = ma.fields.Boolean(required=True)
    retired = ma.fields.Boolean(required=True)
    retired_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    suggestions = Suggestions
    images = ma.fields.Nested(ProductImagesSchema, allow_none=True)
    variants = ma.fields.List(ma.fields.Nested(AdminVariantSchema), required=True)


class ImageUploadResultSchema(ma.Schema):
    suggestions = Suggestions
    product = ma.fields.Nested(AdminProductSchema, required=True)


# ---- requests ----------------------------------------------------------------------------------------------

class ProductChangesSchema(ma.Schema):
    """Any subset of a product's fields (``labels`` replaces the labels whole)."""

    name = Name()
    category = Text(max=120, allow_none=True, metadata={"example": "Tshirts"})
    gender = Text(max=40, allow_none=True, metadata={"example": "Women"})
    colour = Text(max=60, allow_none=True, metadata={"example": "Blue"})
    description = Text(max=5000, allow_none=True)
    price_minor = Price
    currency = ma.fields.String(validate=[ma.validate.Length(equal=3), ma.validate.Regexp(
        r"^[A-Z]{3}$", error="three capital letters, such as EUR")])  # Length: "EUR\n" also matches $
    labels = Labels()


class NewProductSchema(ProductChangesSchema):
    name = Name(required=True)
    price_minor = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=INT64_MAX))
    stock = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=INT32_MAX),
                              metadata={"description": "Stock of its default variant (for a product without sizes)"})


class AdminProductListArgs(PageArgs):
    status = ma.fields.String(load_default="all", validate=ma.validate.OneOf(management.STATUSES))
    q = Text(max=200, metadata={"description": "Words that must all appear in the product name"})
    sort = ma.fields.String(load_default="id", validate=ma.validate.OneOf(sorted(SORTS)))


class ImageUploadSchema(ma.Schema):
    image = Upload(required=True, metadata={"description": "The product's photo: JPEG, PNG, WEBP or GIF"})


class LabelsSchema(ma.Schema):
    accept = ma.fields.List(Text(min=1, max=60), load_default=list, validate=ma.validate.Length(max=20),
                            metadata={"description": "Heads whose suggestion to take as they are, e.g. [\"category\"]"})
    category = Text(max=120, allow_none=True)
    gender = Text(max=40, allow_none=True)
    colour = Text(max=60, allow_none=True)
    labels = Labels(allow_none_values=True, metadata={"description": "Labels to set; null removes one"})


class NewVariantSchema(ma.Schema):
    sku = Text(min=1, max=64, required=True, metadata={"example": "TSHIRT-BLUE-M"})
    size = Text(max=20, allow_none=True, metadata={"example": "M"})
    colour = Text(max=60, allow_none=True)
    price_minor = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=0, max=INT64_MAX),
                                    metadata={"description": "Its own price in minor units; null: the product's"})
    stock = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=INT32_MAX))

    @ma.validates("sku")
    def _sku_has_no_surrounding_spaces(self, value, **_):
        if value != value.strip():
            raise ma.ValidationError("must not start or end with spaces")


class VariantChangesSchema(ma.Schema):
    size = Text(max=20, allow_none=True)
    colour = Text(max=60, allow_none=True)
    price_minor = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=0, max=INT64_MAX))
    stock = Stock


# ---- answers -----------------------------------------------------------------------------------------------

def _variant(variant) -> dict:
    return attributes(variant, AdminVariantSchema)


def _product(product, variants) -> dict:
    return {
        "id": product.id, "name": product.name, "category": product.category, "gender": product.gender,
        "colour": product.colour, "description": product.description,
        "labels": {k: str(v) for k, v in (product.labels or {}).items() if v is not None},
        "price_minor": product.price_minor, "currency": product.currency, "stock": product.stock,
        "in_stock": product.in_stock, "retired": product.retired_at is not None, "retired_at": product.retired_at,
        "created_at": product.created_at, "updated_at": product.updated_at,
        "suggestions": product.predicted_labels or {}, "images": _images(product.id, product.image_sha256),
        "variants": [_variant(v) for v in variants],
    }


def _shown(session, product) -> dict:
    session.flush()
    session.refresh(product)
    return _product(product, management.variants_of(session, [product.id])[product.id])


# ---- products ----------------------------------------------------------------------------------------------

@admin_products_bp.route("", methods=["GET"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.arguments(AdminProductListArgs, location="query")
@admin_products_bp.response(200, page_schema(AdminProductSchema, "AdminProductPage"))
def list_products(args):
    """Every product, retired ones too (``status`` narrows it), with variants and exact stock."""
    with transaction() as session:
        products, total = management.list_admin_products(
            session, status=args["status"], text=args.get("q"), sort=args["sort"], page=args["page"],
            per_page=args["per_page"])
        variants = management.variants_of(session, [p.id for p in products])
        return page_of([_product(p, variants[p.id]) for p in products], total, args)


@admin_products_bp.route("", methods=["POST"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.arguments(NewProductSchema)
@admin_products_bp.response(201, AdminProductSchema)
def create_product(fields):
    """Add a product; it takes the next id above every existing one and gets a default variant."""
    stock_count = fields.pop("stock")
    with transaction() as session:
        return _shown(session, management.create_product(session, fields=fields, stock_count=stock_count))


@admin_products_bp.route(f"/{PRODUCT_ID}", methods=["GET"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.response(200, AdminProductSchema)
def get_admin_product(product_id):
    """One product as admins see it: retired or not, exact stock, variants and the model's suggestions."""
    with transaction() as session:
        return _shown(session, get_product(session, product_id=product_id))


@admin_products_bp.route(f"/{PRODUCT_ID}", methods=["PATCH"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.arguments(ProductChangesSchema(partial=True))
@admin_products_bp.response(200, AdminProductSchema)
def update_product(changes, product_id):
    """Correct a product's details; only the fields sent change."""
    with transaction() as session:
        return _shown(session, management.update_product(session, product_id=product_id, changes=changes))


@admin_products_bp.route(f"/{PRODUCT_ID}/retire", methods=["POST"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.response(200, AdminProductSchema)
def retire_product(product_id):
    """Stop selling a product: gone from listing, search, similar items and new carts; orders keep it."""
    with transaction() as session:
        return _shown(session, management.retire_product(session, product_id=product_id))


@admin_products_bp.route(f"/{PRODUCT_ID}/restore", methods=["POST"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.response(200, AdminProductSchema)
def restore_product(product_id):
    """Sell a retired product again."""
    with transaction() as session:
        return _shown(session, management.restore_product(session, product_id=product_id))


@admin_products_bp.route(f"/{PRODUCT_ID}/image", methods=["POST"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.arguments(ImageUploadSchema, location="multipart")
@admin_products_bp.response(200, ImageUploadResultSchema)
@admin_products_bp.doc(responses={"404": "NOT_FOUND", "413": "REQUEST_ENTITY_TOO_LARGE",
                                  "415": "UNSUPPORTED_MEDIA_TYPE", "503": "SERVICE_UNAVAILABLE"})
def upload_image(args, product_id):
    """Replace the product's image (multipart field ``image``): searchable at once; answers the model's
    label suggestions, which ``POST .../labels`` can confirm."""
    data = args["image"].read(services().settings.max_upload_bytes + 1)
    suggestions = management.upload_product_image(services().catalog, product_id=product_id, image_bytes=data)
    with transaction() as session:
        return {"suggestions": suggestions, "product": _shown(session, get_product(session, product_id=product_id))}


@admin_products_bp.route(f"/{PRODUCT_ID}/labels", methods=["POST"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.arguments(LabelsSchema)
@admin_products_bp.response(200, AdminProductSchema)
def confirm_labels(args, product_id):
    """Confirm the model's suggestions (``accept``) and/or set category, gender, colour and labels."""
    accept = args.pop("accept")
    with transaction() as session:
        return _shown(session, management.confirm_labels(session, product_id=product_id, accept=accept, values=args))


# ---- variants ----------------------------------------------------------------------------------------------

@admin_products_bp.route(f"/{PRODUCT_ID}/variants", methods=["POST"])
@admin_products_bp.access(Role.ADMIN)
@admin_products_bp.arguments(NewVariantSchema)
@admin_products_bp.response(201, AdminVariantSchema)
@admin_products_bp.doc(responses={"404": "NOT_FOUND", "409": "CONFLICT"})
def add_variant(fields, product_id):
    """Add a size or colour with its own sku and stock; the first one replaces the default variant."""
    with transaction() as session:
        return _variant(management.add_variant(
            session, product_id=product_id, sku=fields["sku"], size=fields.get("size"), colour=fields.get("colour"),
            price_minor=fields.get("price_minor"), stock_count=fields["stock"]))


@admin_variants_bp.route(f"/{VARIANT_ID}", methods=["PATCH"])
@admin_variants_bp.access(Role.ADMIN)
@admin_variants_bp.arguments(VariantChangesSchema)
@admin_variants_bp.response(200, AdminVariantSchema)
@admin_variants_bp.doc(responses={"404": "NOT_FOUND"})
def update_variant(changes, variant_id):
    """Correct a variant's size, colour or price, or set its stock (the product's total follows)."""
    with transaction() as session:
        return _variant(management.update_variant(session, variant_id=variant_id, changes=changes))


@admin_variants_bp.route(f"/{VARIANT_ID}", methods=["DELETE"])
@admin_variants_bp.access(Role.ADMIN)
@admin_variants_bp.response(204)
@admin_variants_bp.doc(responses={"404": "NOT_FOUND", "409": "CONFLICT"})
def delete_variant(variant_id):
    """Delete a variant that was never ordered (else 409: set its stock to 0); a product keeps at least one."""
    with transaction() as session:
        management.delete_variant(session, variant_id=variant_id)
