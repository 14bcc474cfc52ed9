"""The store's pages in a real browser: they load without errors (console, CSP), are styled, sign each role in
to its own dashboard, refuse customers the admin pages, work from the keyboard and at phone width, and the
photo-search form uploads a chosen photo with a preview and progress."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lookbook.accounts.roles import Role

from .conftest import create_account, log_in, photo_file, screenshot

SKIP_LINK = "Skip to content"


def test_home_page_loads_styled_without_errors(page):
    response = page.goto("/")
    assert response is not None and response.status == 200
    expect(page).to_have_title(re.compile("Lookbook"))
    # The stylesheet (a hashed static asset, allowed by the CSP) applies: custom properties and header rules.
    assert page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()") != ""
    expect(page.locator(".site-header")).to_have_css("border-bottom-style", "solid")
    expect(page.get_by_role("link", name=SKIP_LINK)).not_to_be_in_viewport()  # hidden until focused
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    screenshot(page, "home")


def test_customer_logs_in_to_the_account_dashboard(page, customer_account):
    log_in(page, customer_account)
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out")).to_be_visible()


def test_admin_logs_in_to_the_admin_dashboard(page, admin_account):
    log_in(page, admin_account)
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out")).to_be_visible()


def test_customer_is_refused_the_admin_pages(page, customer_account, browser_errors):
    log_in(page, customer_account)
    browser_errors.allow_status(403)  # Chromium logs the 403 answer to the page load as a console error
    response = page.goto("/admin")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for your account")
    expect(page.get_by_role("link", name="Back to the shop")).to_be_visible()
    screenshot(page, "forbidden-403")


def test_wrong_password_stays_on_the_login_page(page, app, browser_errors):
    browser_errors.allow_status(422)  # the form comes back with its errors
    account = create_account(app, role=Role.CUSTOMER)
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("email or password is wrong").first).to_be_visible()


def test_the_first_tab_reaches_the_skip_link(page, browser_errors):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=SKIP_LINK)
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown while focused
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


def test_no_horizontal_scroll_on_a_phone(phone_page):
    for path in ("/", "/login"):
        phone_page.goto(path)
        widths = phone_page.evaluate(
            "({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})")
        assert widths["scroll"] <= widths["client"] == 360, (path, widths)


def test_photo_search_form_previews_and_uploads_the_chosen_photo(page, tmp_path):
    photo = photo_file(tmp_path, "tshirt", "blue")
    held = []  # the upload is held back until the progress has been seen, then let through to the store
    page.route("**/search/photo", lambda route: held.append(route))
    page.goto("/")
    details = page.locator("details.photo-search")
    if not details.evaluate("element => element.open"):
        details.locator("summary").click()
    form = page.locator("form[data-photo-search]")

    form.locator("#photo-search-image").set_input_files(photo)
    preview = form.locator("img[data-preview]")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    assert preview.evaluate("image => image.complete && image.naturalWidth") == 160
    expect(form.get_by_role("status")).to_contain_text(photo.name)

    form.get_by_role("button", name="Find similar items").click()
    expect(form.locator("progress[data-progress]")).to_be_visible()
    expect(form.get_by_role("status")).to_contain_text("Uploading your photo")
    expect(form.get_by_role("button", name="Find similar items")).to_be_disabled()
    assert len(held) == 1
    request = held[0].request
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("multipart/form-data")
    body = request.post_data_buffer or b""  # Chromium shows the parts, but not the bytes of a file
    assert f'name="image"; filename="{photo.name}"'.encode() in body and b'name="csrf_token"' in body
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/search/photo")) as answer:
        held[0].continue_()
    assert answer.value.status < 500
