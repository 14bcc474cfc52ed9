"""Accounts over HTTP: register, log in, refresh, log out, the signed-in user's details, and admin look-ups."""

from __future__ import annotations

import marshmallow as ma
from flask import g

from lookbook.accounts import service as accounts
from lookbook.accounts.roles import Role
from lookbook.web.api import attributes, PUBLIC, ApiBlueprint, PageArgs, current_user, page_of, page_schema, services, transaction
from lookbook.web.fields import INT32_MAX, Email, Name, Password, Text

auth_bp = ApiBlueprint("auth", __name__, url_prefix="/api/v1/auth", description="Register, log in, refresh and log out")
me_bp = ApiBlueprint("me", __name__, url_prefix="/api/v1/me", description="The signed-in user's own details")
admin_customers_bp = ApiBlueprint("admin_customers", __name__, url_prefix="/api/v1/admin/customers",
                                  description="Customers, for admins")

CUSTOMER_ID = f"<int(max={INT32_MAX}):customer_id>"
ADDRESS_ID = f"<int(max={INT32_MAX}):address_id>"


class EmailPreferencesSchema(ma.Schema):
    order_updates = ma.fields.Boolean(metadata={"description": "Emails about my orders"})
    deals = ma.fields.Boolean(metadata={"description": "Emails about new deals that match my preferences"})


class UserSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    email = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    phone = ma.fields.String(allow_none=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf([str(r) for r in Role]))
    email_preferences = ma.fields.Nested(EmailPreferencesSchema, required=True)
    created_at = ma.fields.DateTime(required=True)


class AddressSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    label = Text(max=60, allow_none=True, metadata={"example": "Home"})
    recipient = Name(required=True)
    line1 = Text(min=1, max=200, required=True)
    line2 = Text(max=200, allow_none=True)
    city = Text(min=1, max=120, required=True)
    postal_code = Text(min=1, max=20, required=True)
    region = Text(max=120, allow_none=True)
    country = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z]{2}\Z", error="two-letter country code"))
    notes = Text(max=1000, allow_none=True)


class AddressChangesSchema(AddressSchema):
    """Any subset of an address's fields."""


class CustomerSchema(UserSchema):
    addresses = ma.fields.List(ma.fields.Nested(AddressSchema), required=True)


class RegisterSchema(ma.Schema):
    email = Email(required=True)
    password = Password(new=True, required=True, load_only=True)
    name = Name(required=True)


class LoginSchema(ma.Schema):
    email = Text(max=254, required=True)
    password = Password(required=True, load_only=True)


class RefreshSchema(ma.Schema):
    refresh_token = Text(min=1, max=200, required=True, load_only=True)


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Seconds until the access token expires"})
    role = ma.fields.String(required=True)
    home = ma.fields.String(required=True, metadata={"description": "Where this role's dashboard lives"})
    user = ma.fields.Nested(UserSchema, required=True)


class ProfileUpdateSchema(ma.Schema):
    name = Name()
    phone = Text(max=40, allow_none=True)
    email_preferences = ma.fields.Nested(EmailPreferencesSchema)
    new_password = Password(new=True, load_only=True)
    current_password = Password(load_only=True)

    @ma.validates_schema
    def _password_change_needs_the_current_one(self, data, **_):
        if "new_password" in data and "current_password" not in data:
            raise ma.ValidationError("give your current password to set a new one", "current_password")


class CustomerListArgs(PageArgs):
    q = Text(max=200, metadata={"description": "Words in the name or email"})


def _tokens(pair: accounts.TokenPair) -> dict:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token, "token_type": "Bearer",
            "expires_in": pair.expires_in, "role": pair.role, "home": pair.home, "user": pair.user}


@auth_bp.route("/register", methods=["POST"])
@auth_bp.access(PUBLIC)
@auth_bp.rate_limited("register")
@auth_bp.arguments(RegisterSchema)
@auth_bp.response(201, TokenPairSchema)
def register(data):
    """Create a customer account and sign it in."""
    with transaction() as session:
        user = accounts.create_user(session, email=data["email"], password=data["password"], name=data["name"])
        return _tokens(accounts.start_session(session, user=user, settings=services().settings.tokens))


@auth_bp.route("/login", methods=["POST"])
@auth_bp.access(PUBLIC)
@auth_bp.rate_limited("login")
@auth_bp.arguments(LoginSchema)
@auth_bp.response(200, TokenPairSchema)
def login(data):
    """Trade email and password for an access token and a refresh token; the answer names the role's home."""
    with transaction() as session:
        user = accounts.authenticate(session, email=data["email"], password=data["password"])
        return _tokens(accounts.start_session(session, user=user, settings=services().settings.tokens))


@auth_bp.route("/refresh", methods=["POST"])
@auth_bp.access(PUBLIC)
@auth_bp.rate_limited("login")
@auth_bp.arguments(RefreshSchema)
@auth_bp.response(200, TokenPairSchema)
def refresh(data):
    """Trade a refresh token (usable once) for a new pair; reusing an old one ends the whole sign-in."""
    return _tokens(accounts.refresh_session(services().db, refresh_token=data["refresh_token"],
                                            settings=services().settings.tokens))


@auth_bp.route("/logout", methods=["POST"])
@auth_bp.access(Role.CUSTOMER, Role.ADMIN)
@auth_bp.response(204)
def logout():
    """End this sign-in: its access and refresh tokens stop working at once."""
    with transaction() as session:
        accounts.revoke_session(session, session_id=g.session_id)


@me_bp.route("", methods=["GET"])
@me_bp.access(Role.CUSTOMER, Role.ADMIN)
@me_bp.response(200, UserSchema)
def get_me():
    """My details."""
    return current_user()


@me_bp.route("", methods=["PATCH"])
@me_bp.access(Role.CUSTOMER, Role.ADMIN)
@me_bp.arguments(ProfileUpdateSchema)
@me_bp.response(200, UserSchema)
def update_me(changes):
    """Correct my details, or change my password (with the current one)."""
    with transaction() as session:
        user = session.merge(current_user())
        if "new_password" in changes:
            accounts.check_current_password(user, changes.pop("current_password"))
            changes["password"] = changes.pop("new_password")
        return accounts.update_profile(session, user=user, changes=changes)


@me_bp.route("", methods=["DELETE"])
@me_bp.access(Role.CUSTOMER)
@me_bp.response(204)
def delete_me():
    """Delete my account and the personal details it holds."""
    with transaction() as session:
        accounts.delete_user(session, user_id=current_user().id)


@me_bp.route("/addresses", methods=["GET"])
@me_bp.access(Role.CUSTOMER, Role.ADMIN)
@me_bp.response(200, AddressSchema(many=True))
def list_my_addresses():
    """My addresses."""
    with transaction() as session:
        return accounts.list_addresses(session, user_id=current_user().id)


@me_bp.route("/addresses", methods=["POST"])
@me_bp.access(Role.CUSTOMER, Role.ADMIN)
@me_bp.arguments(AddressSchema)
@me_bp.response(201, AddressSchema)
def add_my_address(fields):
    """Add an address."""
    with transaction() as session:
        return accounts.add_address(session, user_id=current_user().id, fields=fields)


@me_bp.route(f"/addresses/{ADDRESS_ID}", methods=["PATCH"])
@me_bp.access(Role.CUSTOMER, Role.ADMIN)
@me_bp.arguments(AddressChangesSchema(partial=True))
@me_bp.response(200, AddressSchema)
def update_my_address(changes, address_id):
    """Correct one of my addresses."""
    with transaction() as session:
        return accounts.update_address(session, user_id=current_user().id, address_id=address_id, changes=changes)


@me_bp.route(f"/addresses/{ADDRESS_ID}", methods=["DELETE"])
@me_bp.access(Role.CUSTOMER, Role.ADMIN)
@me_bp.response(204)
def delete_my_address(address_id):
    """Delete one of my addresses."""
    with transaction() as session:
        accounts.delete_address(session, user_id=current_user().id, address_id=address_id)


def _customer(session, user) -> dict:
    return {**attributes(user, UserSchema),
            "addresses": accounts.list_addresses(session, user_id=user.id)}


@admin_customers_bp.route("", methods=["GET"])
@admin_customers_bp.access(Role.ADMIN)
@admin_customers_bp.arguments(CustomerListArgs, location="query")
@admin_customers_bp.response(200, page_schema(UserSchema, "CustomerPage"))
def list_customers(args):
    """Customers, newest last, optionally those whose name or email contains the words."""
    with transaction() as session:
        users, total = accounts.list_customers(session, page=args["page"], per_page=args["per_page"], text=args.get("q"))
        return page_of(users, total, args)


@admin_customers_bp.route(f"/{CUSTOMER_ID}", methods=["GET"])
@admin_customers_bp.access(Role.ADMIN)
@admin_customers_bp.response(200, CustomerSchema)
def get_customer(customer_id):
    """One customer's details and addresses."""
    with transaction() as session:
        return _customer(session, accounts.get_customer(session, user_id=customer_id))
