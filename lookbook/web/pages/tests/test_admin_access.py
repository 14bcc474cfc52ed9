"""Every admin page is for admins only, and every admin form needs the session's CSRF token."""

from __future__ import annotations

import re

from lookbook.web.pages.tests.test_admin_support import text


def _admin_rules(app, method: str):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and method in rule.methods:
            yield rule, re.sub(r"<[^>]+>", "1", rule.rule)


def test_a_customer_gets_the_403_page_on_every_admin_page(app, shopper, client):
    urls = [url for _, url in _admin_rules(app, "GET")]
    assert len(urls) >= 20 and "/admin/catalog/status.json" in urls and "/admin/charts/revenue.svg" in urls
    for url in urls:
        refused = shopper.get(url)
        assert refused.status_code == 403, url
        assert "Your account may not open this page" in text(refused), url
        assert client.get(url).status_code == 302, url  # anonymous: sent to log in
    for _, url in _admin_rules(app, "POST"):
        assert shopper.post(url, data={"csrf_token": "x"}).status_code in (400, 403), url


def test_every_admin_form_without_the_csrf_token_is_refused_and_changes_nothing(app, admin_browser):
    posts = list(_admin_rules(app, "POST"))
    assert len(posts) >= 15
    for rule, url in posts:
        response = admin_browser.post(url, data={"status": "shipped", "name": "Forged"})
        assert response.status_code == 400, url
        assert "This form expired or came from another site" in text(response), url
    assert "Forged" not in text(admin_browser.get("/admin/products"))


def test_the_admin_pages_use_no_inline_script_or_style_and_share_the_sidebar(app, admin_browser):
    for url in ("/admin", "/admin/orders", "/admin/customers", "/admin/products", "/admin/products/new",
                "/admin/products/101", "/admin/deals", "/admin/deals/new", "/admin/coupons", "/admin/coupons/new",
                "/admin/reviews", "/admin/feedback", "/admin/catalog"):
        response = admin_browser.get(url)
        assert response.status_code == 200, url
        html = text(response)
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], url
        tags = " ".join(re.findall(r"<[^>]+>", html))
        assert " style=" not in tags and not re.search(r"\son[a-z]+=", re.sub(r'"[^"]*"', '""', tags)), url
        assert 'aria-label="Admin sections"' in html and 'aria-current="page"' in html, url
        assert html.count("<h1") == 1, url
        for control in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', html):
            assert f'for="{control}"' in html, (url, control)
