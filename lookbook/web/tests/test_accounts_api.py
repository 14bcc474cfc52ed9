"""Accounts over the API: register, log in, rotating refresh tokens, logout, details, admin look-ups."""

from __future__ import annotations

from datetime import timedelta

from lookbook.web.tests.conftest import PASSWORD, bearer, register


def test_register_signs_the_customer_in_and_names_the_customer_home(client):
    body = register(client, email="Ada@Example.com", name="Ada Lovelace")

    assert body["role"] == "customer" and body["home"] == "/account"
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 15 * 60
    assert body["user"]["email"] == "ada@example.com"
    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json["name"] == "Ada Lovelace"
    assert "password" not in me.json and "password_hash" not in me.json


def test_register_refuses_a_taken_email_a_weak_password_and_names_the_field(client):
    register(client, email="ada@example.com")

    taken = client.post("/api/v1/auth/register", json={"email": "ADA@example.com", "password": PASSWORD, "name": "X"})
    assert taken.status_code == 409 and taken.json["error"]["code"] == "email_taken"
    weak = client.post("/api/v1/auth/register", json={"email": "b@example.com", "password": "short", "name": "B"})
    assert weak.status_code == 422 and "password" in weak.json["error"]["fields"]
    missing = client.post("/api/v1/auth/register", json={"email": "c@example.com"})
    assert missing.status_code == 422
    assert set(missing.json["error"]["fields"]) == {"password", "name"}


def test_login_gives_tokens_role_and_home_and_one_error_for_wrong_email_or_password(client, admin):
    register(client, email="ada@example.com")

    ok = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert ok.status_code == 200 and ok.json["role"] == "customer" and ok.json["home"] == "/account"
    assert admin["role"] == "admin" and admin["home"] == "/admin"
    wrong_password = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "x" * 12})
    unknown_email = client.post("/api/v1/auth/login", json={"email": "who@example.com", "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json == unknown_email.json


def test_a_refresh_token_works_once_and_its_reuse_ends_the_whole_family(client):
    first = register(client)

    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(second.json["access_token"])).status_code == 200

    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json["error"]["code"] == "token_reused"
    # The thief's replay revoked the family: the legitimate newer tokens stop working too.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second.json["refresh_token"]}).status_code == 401
    me = client.get("/api/v1/me", headers=bearer(second.json["access_token"]))
    assert me.status_code == 401 and me.json["error"]["code"] == "session_revoked"


def test_other_sign_ins_survive_when_one_family_is_revoked(client):
    register(client, email="ada@example.com")
    phone = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json
    laptop = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json

    assert client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"])).status_code == 204

    assert client.get("/api/v1/me", headers=bearer(phone["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(laptop["access_token"])).status_code == 200


def test_expired_access_and_refresh_tokens_are_refused(app, client):
    from dataclasses import replace

    services = app.extensions["lookbook"]
    services.settings = replace(services.settings, access_token_ttl=timedelta(seconds=-1),
                                refresh_token_ttl=timedelta(seconds=-1))
    body = register(client)

    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 401 and me.json["error"]["code"] == "token_expired"
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 401 and refreshed.json["error"]["code"] == "token_expired"


def test_forged_and_malformed_tokens_are_refused_with_401(client, settings):
    import jwt

    body = register(client)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "admin"}, "not-the-key-" + "z" * 32, algorithm="HS256")
    unsigned = jwt.encode({**claims, "role": "admin"}, None, algorithm="none")

    for token in (forged, unsigned, "garbage", body["refresh_token"]):
        response = client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/admin/customers", headers=bearer(forged)).status_code == 401


def test_a_customer_corrects_their_details_and_changes_password_only_with_the_current_one(client, customer):
    headers = bearer(customer["access_token"])

    changed = client.patch("/api/v1/me", headers=headers, json={
        "name": "Ada King", "phone": "+44 20 7946 0000", "email_preferences": {"deals": True}})
    assert changed.status_code == 200
    assert changed.json["name"] == "Ada King" and changed.json["phone"] == "+44 20 7946 0000"
    assert changed.json["email_preferences"] == {"order_updates": True, "deals": True}

    no_current = client.patch("/api/v1/me", headers=headers, json={"new_password": "another long password"})
    assert no_current.status_code == 422 and "current_password" in no_current.json["error"]["fields"]
    wrong = client.patch("/api/v1/me", headers=headers,
                         json={"new_password": "another long password", "current_password": "not it at all"})
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "wrong_password"
    ok = client.patch("/api/v1/me", headers=headers,
                      json={"new_password": "another long password", "current_password": PASSWORD})
    assert ok.status_code == 200
    email = customer["user"]["email"]
    assert client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": email, "password": "another long password"}).status_code == 200


ADDRESS = {"label": "Home", "recipient": "Ada King", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "gb"}


def test_addresses_are_added_corrected_deleted_and_private_to_their_owner(client, customer):
    mine = bearer(customer["access_token"])
    other = bearer(register(client)["access_token"])

    created = client.post("/api/v1/me/addresses", headers=mine, json=ADDRESS)
    assert created.status_code == 201 and created.json["country"] == "GB"
    address_id = created.json["id"]
    fixed = client.patch(f"/api/v1/me/addresses/{address_id}", headers=mine, json={"line2": "Flat 3"})
    assert fixed.status_code == 200 and fixed.json["line2"] == "Flat 3" and fixed.json["city"] == "London"

    # Someone else's address is indistinguishable from a missing one.
    assert client.patch(f"/api/v1/me/addresses/{address_id}", headers=other, json={"city": "Paris"}).status_code == 404
    assert client.delete(f"/api/v1/me/addresses/{address_id}", headers=other).status_code == 404
    assert client.get("/api/v1/me/addresses", headers=other).json == []

    assert client.delete(f"/api/v1/me/addresses/{address_id}", headers=mine).status_code == 204
    assert client.get("/api/v1/me/addresses", headers=mine).json == []


def test_a_customer_deletes_their_account_and_its_tokens_stop_working(client, customer, admin):
    headers = bearer(customer["access_token"])
    client.post("/api/v1/me/addresses", headers=headers, json=ADDRESS)

    assert client.delete("/api/v1/me", headers=headers).status_code == 204

    assert client.get("/api/v1/me", headers=headers).status_code == 401
    login = {"email": customer["user"]["email"], "password": PASSWORD}
    assert client.post("/api/v1/auth/login", json=login).status_code == 401
    listed = client.get("/api/v1/admin/customers", headers=bearer(admin["access_token"])).json
    assert listed["total"] == 0


def test_admins_list_search_and_look_up_customers(client, admin):
    for i in range(5):
        register(client, email=f"shopper{i}@example.com", name=f"Shopper {i}")
    register(client, email="grace@example.com", name="Grace Hopper")
    headers = bearer(admin["access_token"])

    page = client.get("/api/v1/admin/customers?per_page=4&page=2", headers=headers).json
    assert page["total"] == 6 and page["pages"] == 2 and len(page["items"]) == 2
    assert all(item["role"] == "customer" for item in page["items"])  # the admin is not listed
    found = client.get("/api/v1/admin/customers?q=GRACE", headers=headers).json
    assert [c["email"] for c in found["items"]] == ["grace@example.com"]

    grace_id = found["items"][0]["id"]
    client.post("/api/v1/me/addresses", headers=bearer(
        client.post("/api/v1/auth/login", json={"email": "grace@example.com", "password": PASSWORD}).json["access_token"]),
        json=ADDRESS)
    detail = client.get(f"/api/v1/admin/customers/{grace_id}", headers=headers)
    assert detail.status_code == 200 and detail.json["addresses"][0]["city"] == "London"
    assert client.get(f"/api/v1/admin/customers/{admin['user']['id']}", headers=headers).status_code == 404
    assert client.get("/api/v1/admin/customers/999999", headers=headers).status_code == 404
