"""A customer's style preferences and liked products over HTTP."""

from __future__ import annotations

import marshmallow as ma

from lookbook.accounts import preferences
from lookbook.accounts.roles import Role
from lookbook.web.api import ApiBlueprint, PageArgs, current_user, page_of, page_schema, transaction
from lookbook.web.catalog import PRODUCT_ID, ProductSchema, product_dict
from lookbook.web.fields import INT64_MAX, Text

preferences_bp = ApiBlueprint("preferences", __name__, url_prefix="/api/v1/me",
                              description="The signed-in customer's style preferences and liked products")


def _words(length: int, example: list[str]) -> ma.fields.List:
    return ma.fields.List(Text(min=1, max=length), load_default=list,
                          validate=ma.validate.Length(max=preferences.MAX_ITEMS), metadata={"example": example})


def _budget() -> ma.fields.Integer:
    return ma.fields.Integer(allow_none=True, load_default=None, validate=ma.validate.Range(min=0, max=INT64_MAX),
                             metadata={"description": "Minor units (cents); null: no limit"})


class PreferencesSchema(ma.Schema):
    sizes = _words(preferences.MAX_LENGTH["sizes"], ["M", "40"])
    categories = _words(preferences.MAX_LENGTH["categories"], ["Tshirts", "Topwear"])
    colours = _words(preferences.MAX_LENGTH["colours"], ["Navy Blue"])
    budget_min_minor = _budget()
    budget_max_minor = _budget()
    updated_at = ma.fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "null: never set"})

    @ma.validates_schema
    def _budget_in_order(self, data, **_):
        low, high = data.get("budget_min_minor"), data.get("budget_max_minor")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("must not be more than budget_max_minor", "budget_min_minor")


class LikedProductSchema(ProductSchema):
    liked_at = ma.fields.DateTime(required=True)


@preferences_bp.route("/preferences", methods=["GET"])
@preferences_bp.access(Role.CUSTOMER)
@preferences_bp.response(200, PreferencesSchema)
def get_preferences():
    """My style preferences (empty lists and no budget until I set them)."""
    with transaction() as session:
        return preferences.get_preferences(session, user_id=current_user().id)


@preferences_bp.route("/preferences", methods=["PUT"])
@preferences_bp.access(Role.CUSTOMER)
@preferences_bp.arguments(PreferencesSchema)
@preferences_bp.response(200, PreferencesSchema)
def set_preferences(data):
    """Replace my style preferences: sizes, favourite categories and colours, budget (what is left out is cleared)."""
    with transaction() as session:
        return preferences.set_preferences(session, user_id=current_user().id, **data)


@preferences_bp.route("/likes", methods=["GET"])
@preferences_bp.access(Role.CUSTOMER)
@preferences_bp.arguments(PageArgs, location="query")
@preferences_bp.response(200, page_schema(LikedProductSchema, "LikedProductPage"))
def list_likes(args):
    """The products I like that are still sold, most recently liked first."""
    with transaction() as session:
        rows, total = preferences.liked_products(session, user_id=current_user().id, page=args["page"],
                                                 per_page=args["per_page"])
        return page_of([{**product_dict(product), "liked_at": liked_at} for product, liked_at in rows], total, args)


@preferences_bp.route(f"/likes/{PRODUCT_ID}", methods=["PUT"])
@preferences_bp.access(Role.CUSTOMER)
@preferences_bp.response(204)
@preferences_bp.doc(responses={"404": "NOT_FOUND"})
def like(product_id):
    """Like a product (liking it again changes nothing)."""
    with transaction() as session:
        preferences.like_product(session, user_id=current_user().id, product_id=product_id)


@preferences_bp.route(f"/likes/{PRODUCT_ID}", methods=["DELETE"])
@preferences_bp.access(Role.CUSTOMER)
@preferences_bp.response(204)
def unlike(product_id):
    """Stop liking a product (also when I did not like it)."""
    with transaction() as session:
        preferences.unlike_product(session, user_id=current_user().id, product_id=product_id)
