"""Signing in and out in the browser, the page role check, CSRF, cookies, static assets and error pages."""

from __future__ import annotations

import re
from dataclasses import replace

from lookbook.web import create_app
from lookbook.web.pages.tests.conftest import PASSWORD, csrf_token, sign_in, submit


def test_each_role_lands_on_its_own_dashboard(app, customer, admin):
    shopper = app.test_client()
    assert sign_in(shopper, customer["user"]["email"]).headers["Location"] == "/account"
    assert shopper.get("/account").status_code == 200
    boss = app.test_client()
    assert sign_in(boss, "admin@example.com").headers["Location"] == "/admin"
    assert boss.get("/admin").status_code == 200


def test_a_customer_gets_a_403_page_on_admin_pages_and_an_anonymous_visitor_is_sent_to_log_in(shopper, client):
    refused = shopper.get("/admin")
    assert refused.status_code == 403
    assert refused.mimetype == "text/html"
    assert "Your account may not open this page" in refused.get_data(as_text=True)
    anonymous = client.get("/account/cart")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=/account/cart")


def test_login_follows_next_only_within_the_site(app, customer):
    email = customer["user"]["email"]
    for target, landing in (("/account/cart", "/account/cart"), ("https://evil.example/", "/account"),
                            ("//evil.example/x", "/account"), ("/\\evil.example", "/account")):
        browser = app.test_client()
        response = browser.post(f"/login?next={target}", data={"csrf_token": csrf_token(browser), "email": email,
                                                                 "password": PASSWORD})
        assert response.headers["Location"] == landing, target


def test_a_wrong_password_shows_the_form_again_with_one_message_for_both_mistakes(client, customer):
    wrong = submit(client, "/login", {"email": customer["user"]["email"], "password": "not the password"})
    unknown = submit(client, "/login", {"email": "nobody@example.com", "password": "not the password"})
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "email or password is wrong" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # still signed out


def test_registering_validates_with_the_api_rules_and_signs_the_new_customer_in(client):
    short = submit(client, "/register", {"email": "new@example.com", "name": "New", "password": "short"})
    assert short.status_code == 422
    assert 'aria-invalid="true"' in short.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    made = submit(client, "/register", {"email": "new@example.com", "name": "New", "password": PASSWORD})
    assert made.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    taken = submit(client, "/register", {"email": "NEW@example.com", "name": "Again", "password": PASSWORD})
    assert taken.status_code == 422
    assert "already exists" in taken.get_data(as_text=True)


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(client, customer):
    response = client.post("/login", data={"email": customer["user"]["email"], "password": PASSWORD})
    assert response.status_code == 400
    assert "This form expired or came from another site" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    forged = client.post("/login", data={"csrf_token": "forged", "email": customer["user"]["email"], "password": PASSWORD})
    assert forged.status_code == 400


def test_the_api_needs_no_csrf_token(client, customer):
    response = client.post("/api/v1/auth/login", json={"email": customer["user"]["email"], "password": PASSWORD})
    assert response.status_code == 200


def test_logging_out_ends_the_sign_in_on_the_server_so_a_copied_cookie_stops_working(app, shopper):
    stolen = app.test_client()
    cookie = shopper.get_cookie("session")
    stolen.set_cookie("session", cookie.value)
    assert stolen.get("/account").status_code == 200
    assert submit(shopper, "/logout").status_code == 303
    assert shopper.get("/account").status_code == 302
    assert stolen.get("/account").status_code == 302


def test_the_session_cookie_is_httponly_lax_expiring_and_secure_over_https(app, settings, catalog, customer):
    browser = app.test_client()
    header = sign_in(browser, customer["user"]["email"]).headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Expires=" in header
    assert "Secure" not in header
    secure_app = create_app(replace(settings, https=True), catalog=catalog)
    browser = secure_app.test_client()
    page = browser.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    header = browser.post("/login", data={"csrf_token": token, "email": customer["user"]["email"], "password": PASSWORD},
                          base_url="https://localhost", headers={"Referer": "https://localhost/login"}
                          ).headers["Set-Cookie"]
    assert "Secure" in header


def test_static_assets_carry_their_content_hash_and_are_cached_for_a_year(client):
    html = client.get("/").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/assets/[^"]+)"', html)
    assert any(u.startswith("/assets/css/store.css?v=") for u in urls)
    assert any(u.startswith("/assets/js/photo-search.js?v=") for u in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Set-Cookie" not in response.headers
    stale = client.get(urls[0].split("?")[0] + "?v=000000000000")
    assert "immutable" not in stale.headers.get("Cache-Control", "")


def test_pages_use_no_inline_script_and_the_csp_forbids_it(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert " on" not in re.sub(r'"[^"]*"', '""', " ".join(re.findall(r"<[^>]+>", html))).replace(" one", "")
    assert "script-src" not in response.headers["Content-Security-Policy"] or "'unsafe-inline'" not in response.headers[
        "Content-Security-Policy"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_unknown_pages_get_an_html_404_and_unknown_api_paths_keep_the_json_error(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"


def test_a_revisited_page_that_did_not_change_answers_304(client):
    first = client.get("/")
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
