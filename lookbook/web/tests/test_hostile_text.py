"""Hostile text through every text field a client can write: it is data, never code.

Each hostile string is either refused with 422 naming the field, or stored and returned exactly as given
inside JSON: markup is not escaped into entities, templates are not evaluated (``{{7*7}}`` never becomes
49), SQL is not executed (the tables are still there afterwards). Every answer is ``application/json`` with
``X-Content-Type-Options: nosniff``, so a browser never sniffs a stored ``<script>`` into HTML.

The fields come from the OpenAPI document: ``test_every_client_writable_text_field_is_covered`` fails when a
new text field appears that no table below covers.

Tests marked ``xfail(strict=True)`` with a reason starting "BUG" pin down app bugs found while writing them:
they pass (xfail) while the bug is there and fail (XPASS) once it is fixed, so the mark must then be removed.
"""

from __future__ import annotations

import io
import itertools

import pytest
from sqlalchemy import func, inspect, select, text

from conftest import garment_photo
from lookbook.web.tests.conftest import PASSWORD, bearer, make_admin, register

HOSTILE = {
    "script-tag": "<script>alert(1)</script>",
    "attribute-breakout": '"><img src=x onerror=alert(1)>',
    "jinja-expression": "{{7*7}}",
    "jinja-block": "{% raw %}",
    "template-literal": "${7*7}",
    "sql-injection": "'; DROP TABLE users; --",
    "rtl-override": "\u202eexe.txt",  # shows as "txt.exe" in a naive UI
    "like-wildcards": "100% _real_ \\",
    "html-entities": "&lt;b&gt; &amp; &#60;",
    "non-ascii": "Zoë 🧥 東京 ﷽ e\u0301",
    "json-breakout": '"}, "role": "admin", "x": {"',
}
HOSTILE_PARAMS = [pytest.param(value, id=name) for name, value in HOSTILE.items()]
# Characters that no form field has a use for: refused, never stored.
CONTROL = {"nul": "a\x00b", "escape": "a\x1b[31mred", "backspace": "a\x08b"}
LONE_SURROGATE = "a\ud800b"  # valid JSON ("\ud800"), but not text: no UTF-8 encoding exists

ADDRESS = {"label": "Home", "recipient": "Ada King", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"}
ADDRESS_TEXT_FIELDS = ("label", "recipient", "line1", "line2", "city", "postal_code", "region", "notes")

# Every string field a client can send, by operation, and what the API does with it.
STORED = {  # kept and shown back to the client
    "POST /api/v1/auth/register": {"name"},
    "PATCH /api/v1/me": {"name", "phone"},
    "POST /api/v1/me/addresses": set(ADDRESS_TEXT_FIELDS),
    "PATCH /api/v1/me/addresses/{address_id}": set(ADDRESS_TEXT_FIELDS),
    "POST /api/v1/admin/deals": {"name", "category"},
    "PATCH /api/v1/admin/deals/{deal_id}": {"name", "category"},
    "POST /api/v1/products/{product_id}/reviews": {"title", "body"},  # lookbook/feedback/tests: byte for byte
    "PATCH /api/v1/me/reviews/{review_id}": {"title", "body"},
    "POST /api/v1/me/feedback": {"subject", "body"},
    # lookbook/web/tests/test_admin_catalog_api.py: byte for byte through the admin and shop views
    "POST /api/v1/admin/products": {"name", "category", "gender", "colour", "description"},
    "PATCH /api/v1/admin/products/{product_id}": {"name", "category", "gender", "colour", "description"},
    "POST /api/v1/admin/products/{product_id}/labels": {"category", "gender", "colour"},
    "POST /api/v1/admin/products/{product_id}/variants": {"sku", "size", "colour"},
    "PATCH /api/v1/admin/variants/{variant_id}": {"size", "colour"},
    # lookbook/web/tests/test_orders_api.py: the note comes back byte for byte in the order's history
    "POST /api/v1/admin/orders/{order_id}/status": {"note"},
}
FILTERS = {  # matched against the catalog or the customers, never stored
    "GET /api/v1/products": {"q", "category", "gender", "colour"},
    "GET /api/v1/products/{product_id}/similar": {"category", "gender", "colour"},
    "POST /api/v1/search/image": {"category", "gender", "colour"},
    "GET /api/v1/admin/customers": {"q"},
    "GET /api/v1/products/{product_id}/image": {"v"},
    "GET /api/v1/admin/products": {"q"},
}
RESTRICTED = {  # a format, pattern or list of values that hostile text can never meet
    "POST /api/v1/auth/register": {"email"},
    "POST /api/v1/me/addresses": {"country"},
    "PATCH /api/v1/me/addresses/{address_id}": {"country"},
    "GET /api/v1/products": {"sort"},
    "GET /api/v1/admin/products": {"status", "sort"},
    "POST /api/v1/admin/products": {"currency"},
    "PATCH /api/v1/admin/products/{product_id}": {"currency"},
    "POST /api/v1/admin/deals": {"kind", "starts_at", "ends_at"},
    "PATCH /api/v1/admin/deals/{deal_id}": {"kind", "starts_at", "ends_at"},
    "POST /api/v1/admin/coupons": {"code", "kind", "starts_at", "ends_at"},
    "PATCH /api/v1/admin/coupons/{coupon_id}": {"code", "kind", "starts_at", "ends_at"},
    "GET /api/v1/admin/reviews": {"status"},
    "PATCH /api/v1/admin/reviews/{review_id}": {"status"},
    "GET /api/v1/admin/feedback": {"status"},
    "PATCH /api/v1/admin/feedback/{feedback_id}": {"status"},
    **{f"GET /api/v1/admin/reports/{report}": {"from", "to"} for report in ("sales", "sales.csv", "orders", "orders.csv")},
    "PUT /api/v1/cart/coupon": {"code"},  # looked up, never stored as given: unknown codes are 422 on "code"
    "POST /api/v1/orders/{order_id}/payment": {"provider"},
    "POST /api/v1/admin/orders/{order_id}/status": {"status"},
    "GET /api/v1/orders": {"status"},
    "GET /api/v1/admin/orders": {"status"},
}
SECRETS = {  # credentials: checked, hashed or compared, never shown back
    "POST /api/v1/auth/register": {"password"},
    "POST /api/v1/auth/login": {"email", "password"},
    "POST /api/v1/auth/refresh": {"refresh_token"},
    "PATCH /api/v1/me": {"new_password", "current_password"},
    "POST /api/v1/orders/{order_id}/payment": {"card_number"},
}

_emails = itertools.count()


def _email() -> str:
    return f"hostile{next(_emails)}@example.com"


def assert_safe(response, *statuses) -> None:
    """A JSON answer (never HTML), that browsers must not sniff, with one of these statuses."""
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json", response.headers.get("Content-Type")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


def refused_naming(response, field: str) -> bool:
    """True for a 422 that names the field; anything else but a success fails the test."""
    if response.status_code != 422:
        return False
    assert_safe(response, 422)
    assert field in response.json["error"].get("fields", {}), response.json
    return True


def _documented_text_fields(client) -> dict[str, set[str]]:
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]

    def resolve(schema):
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    found: dict[str, set[str]] = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            key = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("type") == "string":
                    found.setdefault(key, set()).add(parameter["name"])
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for name, prop in resolve(content["schema"]).get("properties", {}).items():
                    prop = resolve(prop)
                    if prop.get("type") == "string" and prop.get("format") != "binary" and not prop.get("readOnly"):
                        found.setdefault(key, set()).add(name)
    return found


def _max_lengths(client) -> dict[str, int]:
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    lengths = {f"address.{name}": schemas["Address"]["properties"][name]["maxLength"] for name in ADDRESS_TEXT_FIELDS}
    lengths["register.name"] = schemas["Register"]["properties"]["name"]["maxLength"]
    lengths["profile.name"] = schemas["ProfileUpdate"]["properties"]["name"]["maxLength"]
    lengths["profile.phone"] = schemas["ProfileUpdate"]["properties"]["phone"]["maxLength"]
    return lengths


class Writer:
    """Writes one value into one stored field through the API and reads it back through every view of it."""

    def __init__(self, app, client):
        self.client = client
        self.customer = register(client, name="Hostile Holder")
        self.headers = bearer(self.customer["access_token"])
        self.admin = bearer(make_admin(app, email=f"admin-{_email()}")["access_token"])
        created = client.post("/api/v1/me/addresses", headers=self.headers, json=ADDRESS)
        assert_safe(created, 201)
        self.address_id = created.json["id"]

    def register_name(self, value: str):
        response = self.client.post("/api/v1/auth/register", json={"email": _email(), "password": PASSWORD,
                                                                    "name": value})
        if refused_naming(response, "name"):
            return None
        assert_safe(response, 201)
        me = self.client.get("/api/v1/me", headers=bearer(response.json["access_token"]))
        assert_safe(me, 200)
        admin_view = self.client.get(f"/api/v1/admin/customers/{me.json['id']}", headers=self.admin)
        assert_safe(admin_view, 200)
        return [response.json["user"]["name"], me.json["name"], admin_view.json["name"]]

    def profile(self, field: str, value: str):
        response = self.client.patch("/api/v1/me", headers=self.headers, json={field: value})
        if refused_naming(response, field):
            return None
        assert_safe(response, 200)
        me = self.client.get("/api/v1/me", headers=self.headers)
        assert_safe(me, 200)
        return [response.json[field], me.json[field]]

    def new_address(self, field: str, value: str):
        response = self.client.post("/api/v1/me/addresses", headers=self.headers, json={**ADDRESS, field: value})
        if refused_naming(response, field):
            return None
        assert_safe(response, 201)
        return [response.json[field], *self._read_back(response.json["id"], field)]

    def changed_address(self, field: str, value: str):
        response = self.client.patch(f"/api/v1/me/addresses/{self.address_id}", headers=self.headers,
                                     json={field: value})
        if refused_naming(response, field):
            return None
        assert_safe(response, 200)
        return [response.json[field], *self._read_back(self.address_id, field)]

    def _read_back(self, address_id: int, field: str) -> list[str]:
        mine = self.client.get("/api/v1/me/addresses", headers=self.headers)
        assert_safe(mine, 200)
        customer = self.client.get(f"/api/v1/admin/customers/{self.customer['user']['id']}", headers=self.admin)
        assert_safe(customer, 200)
        return [next(a[field] for a in mine.json if a["id"] == address_id),
                next(a[field] for a in customer.json["addresses"] if a["id"] == address_id)]

    def targets(self):
        """(label, write) for every stored field of STORED."""
        yield "register.name", self.register_name
        for field in sorted(STORED["PATCH /api/v1/me"]):
            yield f"profile.{field}", lambda value, field=field: self.profile(field, value)
        for field in ADDRESS_TEXT_FIELDS:
            yield f"address.{field}", lambda value, field=field: self.new_address(field, value)
            yield f"address.{field} (change)", lambda value, field=field: self.changed_address(field, value)


def _table_names(app) -> set[str]:
    return set(inspect(app.extensions["lookbook"].db.engine).get_table_names())


# ---- coverage of the fields -----------------------------------------------------------------------------


def test_every_client_writable_text_field_is_covered(client):
    documented = _documented_text_fields(client)
    covered: dict[str, set[str]] = {}
    for table in (STORED, FILTERS, RESTRICTED, SECRETS):
        for operation, fields in table.items():
            covered.setdefault(operation, set()).update(fields)

    assert documented == covered


# ---- stored fields --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_PARAMS)
def test_hostile_text_is_stored_and_returned_byte_for_byte_or_refused_naming_the_field(app, client, value):
    writer = Writer(app, client)
    tables = _table_names(app)
    wrong, stored = {}, []

    for label, write in writer.targets():
        shown = write(value)
        if shown is not None:
            stored.append(label)
            if any(s != value for s in shown):
                wrong[label] = shown

    assert wrong == {}, f"changed on the way: {wrong!r}"
    assert stored, "every field refused it: nothing was shown to come back unchanged"
    assert _table_names(app) == tables


def test_no_template_is_ever_evaluated(app, client):
    writer = Writer(app, client)

    for label, write in writer.targets():
        for template in ("{{7*7}}", "${7*7}", "#{7*7}", "<%= 7*7 %>", "{{7*'7'}}"):
            shown = write(template)
            assert shown is None or all(s == template for s in shown), (label, template, shown)
            assert shown is None or not any("49" in s or "7777777" in s for s in shown)


def test_text_at_each_field_maximum_is_stored_whole_and_one_character_more_is_refused_naming_the_field(app, client):
    writer = Writer(app, client)
    maxima = _max_lengths(client)
    pattern = "".join(HOSTILE.values())  # markup, templates, SQL, RTL override and astral characters
    problems = {}

    for label, write in writer.targets():
        limit = maxima[label.removesuffix(" (change)")]
        longest = (pattern * (limit // len(pattern) + 1))[:limit]
        assert len(longest) == limit
        shown = write(longest)
        if shown is None or any(s != longest for s in shown):
            problems[label] = f"{limit} characters were not stored whole"
        if write(longest + "x") is not None:  # None: refused with 422 naming the field
            problems[label] = f"{limit + 1} characters were not refused"

    assert problems == {}


@pytest.mark.parametrize("name", CONTROL)
def test_control_characters_are_refused_naming_the_field(app, client, name):
    writer = Writer(app, client)
    value = CONTROL[name]

    for label, write in writer.targets():
        assert write(value) is None, f"{label} stored {value!r}"


def test_a_lone_surrogate_is_refused_naming_the_field(app, client):
    writer = Writer(app, client)
    failures = {}

    for label, write in writer.targets():
        try:
            shown = write(LONE_SURROGATE)
        except AssertionError as error:
            failures[label] = str(error)[:120]
            continue
        if shown is not None:
            failures[label] = f"stored {shown!r}"
    for label, url, body in [
        ("login.email", "/api/v1/auth/login", {"email": LONE_SURROGATE, "password": PASSWORD}),
        ("login.password", "/api/v1/auth/login", {"email": writer.customer["user"]["email"],
                                                  "password": LONE_SURROGATE}),
        ("register.password", "/api/v1/auth/register", {"email": _email(), "password": PASSWORD + LONE_SURROGATE,
                                                         "name": "Ada"}),
        ("refresh.refresh_token", "/api/v1/auth/refresh", {"refresh_token": LONE_SURROGATE}),
    ]:
        response = client.post(url, json=body)
        if response.status_code not in (401, 422):
            failures[label] = f"answered {response.status_code}"

    assert failures == {}


# ---- restricted fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_PARAMS)
def test_hostile_text_in_an_email_a_country_or_a_sort_order_is_refused_naming_the_field(client, customer, value):
    headers = bearer(customer["access_token"])

    email = client.post("/api/v1/auth/register", json={"email": value, "password": PASSWORD, "name": "Ada"})
    assert refused_naming(email, "email")
    country = client.post("/api/v1/me/addresses", headers=headers, json={**ADDRESS, "country": value})
    assert refused_naming(country, "country")
    sort = client.get("/api/v1/products", query_string={"sort": value})
    assert refused_naming(sort, "sort")


def test_a_country_code_with_a_trailing_newline_is_refused(client, customer):
    headers = bearer(customer["access_token"])

    response = client.post("/api/v1/me/addresses", headers=headers, json={**ADDRESS, "country": "gb\n"})

    assert refused_naming(response, "country")


# ---- credentials -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_PARAMS)
def test_hostile_credentials_are_refused_and_never_shown_back(client, customer, value):
    email = customer["user"]["email"]
    headers = bearer(customer["access_token"])
    answers = [  # (response, what may come back: refused, or for a new password long enough, accepted)
        (client.post("/api/v1/auth/login", json={"email": value, "password": PASSWORD}), (401, 422)),
        (client.post("/api/v1/auth/login", json={"email": email, "password": value}), (401, 422)),
        (client.post("/api/v1/auth/refresh", json={"refresh_token": value}), (401, 422)),
        (client.patch("/api/v1/me", headers=headers, json={"new_password": PASSWORD + "!", "current_password": value}),
         (401, 422)),
        (client.post("/api/v1/auth/register", json={"email": _email(), "password": value, "name": "Ada"}), (201, 422)),
    ]

    for response, statuses in answers:
        assert_safe(response, *statuses)
        assert value not in response.get_data(as_text=True)
    assert client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200


def test_a_hostile_but_strong_password_works_as_given(client):
    password = "<script>{{7*7}}'; DROP TABLE users; --\u202e🧥"
    body = register(client, password=password)

    login = client.post("/api/v1/auth/login", json={"email": body["user"]["email"], "password": password})
    assert_safe(login, 200)
    wrong = client.post("/api/v1/auth/login", json={"email": body["user"]["email"], "password": "{{7*7}}" * 2})
    assert_safe(wrong, 401)


@pytest.mark.parametrize("field", ["email", "password"])
@pytest.mark.parametrize("name", CONTROL)
def test_control_characters_in_login_fields_are_refused_or_fail_to_log_in_but_never_crash(client, customer, field,
                                                                                          name):
    # A NUL must never reach PostgreSQL, which refuses it in text.
    credentials = {"email": customer["user"]["email"], "password": PASSWORD, field: CONTROL[name]}

    response = client.post("/api/v1/auth/login", json=credentials)

    assert_safe(response, 401, 422)


# ---- filters and query text ------------------------------------------------------------------------------


def _search_photo() -> bytes:
    return garment_photo("tshirt", "black", seed=4242)


@pytest.mark.parametrize("value", HOSTILE_PARAMS)
def test_hostile_filters_and_query_text_match_as_plain_text(app, client, admin, value):
    tables = _table_names(app)
    admin_headers = bearer(admin["access_token"])

    for field in sorted(FILTERS["GET /api/v1/products"]):
        response = client.get("/api/v1/products", query_string={field: value})
        if not refused_naming(response, field):
            assert_safe(response, 200)
            assert response.json["total"] == 0 and response.json["items"] == [], (field, response.json)
    for field in sorted(FILTERS["GET /api/v1/products/{product_id}/similar"]):
        response = client.get("/api/v1/products/101/similar", query_string={field: value})
        if not refused_naming(response, field):
            assert_safe(response, 200)
            assert response.json["results"] == [], field
    for field in sorted(FILTERS["POST /api/v1/search/image"]):
        response = client.post("/api/v1/search/image", content_type="multipart/form-data",
                               data={"image": (io.BytesIO(_search_photo()), "q.png"), field: value})
        if not refused_naming(response, field):
            assert_safe(response, 200)
            assert response.json["results"] == [], field
    image = client.get("/api/v1/products/101/image", query_string={"v": value})
    if not refused_naming(image, "v"):
        assert image.status_code == 200 and image.mimetype == "image/webp"
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        assert "immutable" not in image.headers["Cache-Control"]  # a wrong version is not cached for a year
    customers = client.get("/api/v1/admin/customers", query_string={"q": value}, headers=admin_headers)
    if not refused_naming(customers, "q"):
        assert_safe(customers, 200)
        assert customers.json["total"] == 0

    assert _table_names(app) == tables
    assert client.get("/api/v1/products").json["total"] == 12


@pytest.mark.parametrize("value", HOSTILE_PARAMS)
def test_the_admin_search_finds_hostile_names_exactly_as_written(client, admin, value):
    holder = register(client, name=f"Ada {value} King")
    register(client, name="Grace Hopper")
    register(client, name="100 percent real")  # what LIKE would wrongly match for "100% _real_"

    found = client.get("/api/v1/admin/customers", query_string={"q": value}, headers=bearer(admin["access_token"]))

    if not refused_naming(found, "q"):
        assert_safe(found, 200)
        assert [c["id"] for c in found.json["items"]] == [holder["user"]["id"]]
        assert found.json["items"][0]["name"] == f"Ada {value} King"


def test_like_wildcards_in_product_words_match_themselves_only(client):
    for word in ("%", "_", "\\", "%tshirt", "t_hirt", "[a-z]*"):
        response = client.get("/api/v1/products", query_string={"q": word})
        assert_safe(response, 200)
        assert response.json["total"] == 0, word
    assert client.get("/api/v1/products", query_string={"q": "tshirt"}).json["total"] == 4


# ---- the database afterwards -----------------------------------------------------------------------------


def test_sql_in_every_field_leaves_every_table_and_row_in_place(app, client):
    writer = Writer(app, client)
    db = app.extensions["lookbook"].db
    before = _table_names(app)
    injections = ["'; DROP TABLE users; --", "1; DELETE FROM products", "' OR '1'='1", "x'); DROP TABLE addresses;--",
                  "\"; DROP TABLE auth_sessions; --", "1 UNION SELECT password_hash FROM users--"]

    for injection in injections:
        for _label, write in writer.targets():
            write(injection)
        client.get("/api/v1/products", query_string={"q": injection, "category": injection, "colour": injection})
        client.post("/api/v1/auth/login", json={"email": injection, "password": injection})

    assert _table_names(app) == before
    assert {"users", "addresses", "auth_sessions", "refresh_tokens", "products"} <= before
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(text("products"))) == 12
        assert session.scalar(text("SELECT count(*) FROM users WHERE password_hash NOT LIKE '$argon2%'")) == 0
    login = client.post("/api/v1/auth/login", json={"email": writer.customer["user"]["email"], "password": PASSWORD})
    assert_safe(login, 200)


def test_an_email_at_the_maximum_that_grows_when_lower_cased_is_stored_or_refused_naming_the_field(
        request, database_url, client):
    email = "\u0130" * 242 + "@example.com"  # 254 characters; "İ".lower() is two characters
    assert len(email) == 254 and len(email.lower()) > 254

    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Ada"})

    if not refused_naming(response, "email"):
        assert_safe(response, 201)
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert_safe(login, 200)
