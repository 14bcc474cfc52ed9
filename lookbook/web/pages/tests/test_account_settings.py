"""Style preferences, likes and account settings in the customer dashboard: profile, addresses, password,
deleting the account, logging out."""

from __future__ import annotations

from lookbook.accounts import preferences
from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BLUE_TSHIRT
from lookbook.web.pages.tests.conftest import PASSWORD, csrf_token, submit
from lookbook.web.pages.tests.test_account_cart import (
    ADDRESS,
    another_shopper,
    db,
    html,
    place_order,
    user_id,
)

NEW_PASSWORD = "a much longer new passphrase"


def prefs(app, browser):
    with db(app).session() as session:
        return preferences.get_preferences(session, user_id=user_id(browser))


def liked_ids(app, browser) -> list[int]:
    with db(app).session() as session:
        return [p.id for p, _ in preferences.liked_products(session, user_id=user_id(browser))[0]]


def addresses(app, browser):
    with db(app).session() as session:
        return accounts.list_addresses(session, user_id=user_id(browser))


def user(app, browser) -> User | None:
    with db(app).session() as session:
        return session.get(User, user_id(browser))


def login(app, email: str, password: str):
    browser = app.test_client()
    return browser.post("/login", data={"csrf_token": csrf_token(browser), "email": email, "password": password})


# ---- style -------------------------------------------------------------------------------------------------------

def test_style_preferences_are_saved_and_shown_again(app, shopper):
    saved = submit(shopper, "/account/style", {"sizes": "M, L ,, 40", "categories": "Tshirts", "colours": "",
                                               "budget_min": "10", "budget_max": "50.5"})
    assert saved.status_code == 303 and saved.headers["Location"] == "/account/style"
    stored = prefs(app, shopper)
    assert (stored.sizes, stored.categories, stored.colours) == (["M", "L", "40"], ["Tshirts"], [])
    assert (stored.budget_min_minor, stored.budget_max_minor) == (1000, 5050)
    page = html(shopper, "/account/style")
    assert "Your style preferences are saved." in page
    assert 'value="M, L, 40"' in page and 'value="10.00"' in page and 'value="50.50"' in page

    cleared = submit(shopper, "/account/style", {"sizes": "", "categories": "", "colours": "Navy Blue",
                                                 "budget_min": "", "budget_max": ""})
    assert cleared.status_code == 303
    stored = prefs(app, shopper)
    assert (stored.sizes, stored.colours, stored.budget_max_minor) == ([], ["Navy Blue"], None)


def test_bad_preferences_are_refused_with_messages_and_change_nothing(app, shopper):
    for data, message in (({"budget_min": "cheap"}, "Enter an amount like 25 or 25.50."),
                          ({"budget_min": "50", "budget_max": "10"}, "must not be more than budget_max_minor"),
                          ({"sizes": "x" * 21}, "Each value: Length must be between 1 and 20."),
                          ({"sizes": ", ".join(str(n) for n in range(21))}, "Longer than maximum length 20.")):
        response = submit(shopper, "/account/style", data)
        assert response.status_code == 422, data
        text = response.get_data(as_text=True)
        assert message in text and 'aria-invalid="true"' in text, data
    assert prefs(app, shopper).updated_at is None


def test_like_and_unlike_products(app, shopper):
    liked = submit(shopper, f"/account/likes/{BLACK_TSHIRT}", {"next": f"/products/{BLACK_TSHIRT}"})
    assert liked.status_code == 303 and liked.headers["Location"] == f"/products/{BLACK_TSHIRT}"
    assert submit(shopper, f"/account/likes/{BLUE_TSHIRT}").headers["Location"] == "/account/style"
    assert submit(shopper, f"/account/likes/{BLUE_TSHIRT}").status_code == 303  # twice changes nothing
    assert sorted(liked_ids(app, shopper)) == [BLACK_TSHIRT, BLUE_TSHIRT]
    page = html(shopper, "/account/style")
    assert "Black tshirt" in page and "Blue tshirt" in page
    assert f'action="/account/likes/{BLACK_TSHIRT}/remove"' in page

    unliked = submit(shopper, f"/account/likes/{BLACK_TSHIRT}/remove", {"next": "/account/style"})
    assert unliked.status_code == 303
    assert liked_ids(app, shopper) == [BLUE_TSHIRT]
    assert "Removed from your liked products." in html(shopper, "/account/style")

    unknown = submit(shopper, "/account/likes/987654")
    assert unknown.status_code == 303 and "no product with id 987654" in html(shopper, "/account/style")


# ---- settings ----------------------------------------------------------------------------------------------------

def test_profile_changes_are_saved(app, shopper):
    page = html(shopper, "/account/settings")
    assert 'value="Ada Customer"' in page and shopper.account["user"]["email"] in page
    saved = submit(shopper, "/account/settings/profile", {"name": "Ada Lovelace", "phone": "+44 20 7946 0000",
                                                          "deals": "1"})
    assert saved.status_code == 303
    stored = user(app, shopper)
    assert (stored.name, stored.phone) == ("Ada Lovelace", "+44 20 7946 0000")
    assert stored.email_preferences == {"order_updates": False, "deals": True}
    assert "Hello, Ada Lovelace" in html(shopper, "/account")

    blank = submit(shopper, "/account/settings/profile", {"name": "   ", "phone": ""})
    assert blank.status_code == 422 and "must not be blank" in blank.get_data(as_text=True)
    assert user(app, shopper).name == "Ada Lovelace"
    submit(shopper, "/account/settings/profile", {"name": "Ada", "phone": ""})
    assert user(app, shopper).phone is None


def test_addresses_are_added_edited_and_deleted(app, client, shopper):
    added = submit(shopper, "/account/settings/addresses", ADDRESS)
    assert added.status_code == 303
    (address,) = addresses(app, shopper)
    assert (address.city, address.country, address.label) == ("London", "GB", "Home")
    assert "12 Analytical Street" in html(shopper, "/account/settings")

    invalid = submit(shopper, "/account/settings/addresses", {**ADDRESS, "new-city": "", "new-country": "GBR"})
    assert invalid.status_code == 422
    assert "two-letter country code" in invalid.get_data(as_text=True) and 'value="Ada Lovelace"' in invalid.get_data(as_text=True)
    assert len(addresses(app, shopper)) == 1

    prefix = f"a{address.id}-"
    edit = {prefix + k.removeprefix("new-"): v for k, v in ADDRESS.items()}
    edited = submit(shopper, f"/account/settings/addresses/{address.id}", {**edit, prefix + "city": "Leeds",
                                                                           prefix + "label": ""})
    assert edited.status_code == 303
    (address,) = addresses(app, shopper)
    assert (address.city, address.label) == ("Leeds", None)
    bad_edit = submit(shopper, f"/account/settings/addresses/{address.id}", {**edit, prefix + "line1": ""})
    assert bad_edit.status_code == 422 and addresses(app, shopper)[0].line1 == "12 Analytical Street"

    eve = another_shopper(app, client)
    assert submit(eve, f"/account/settings/addresses/{address.id}", edit).status_code == 404
    assert submit(eve, f"/account/settings/addresses/{address.id}/delete").status_code == 404
    assert addresses(app, shopper)[0].city == "Leeds"

    assert submit(shopper, f"/account/settings/addresses/{address.id}/delete").status_code == 303
    assert addresses(app, shopper) == []
    assert "Address deleted." in html(shopper, "/account/settings")


def test_a_password_change_needs_the_right_current_password(app, shopper):
    email = shopper.account["user"]["email"]
    wrong = submit(shopper, "/account/settings/password", {"current_password": "not my password",
                                                           "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert wrong.status_code == 422 and "the current password is wrong" in wrong.get_data(as_text=True)
    missing = submit(shopper, "/account/settings/password", {"new_password": NEW_PASSWORD,
                                                             "new_password_again": NEW_PASSWORD})
    assert missing.status_code == 422 and "give your current password" in missing.get_data(as_text=True)
    differ = submit(shopper, "/account/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                            "new_password_again": NEW_PASSWORD + "!"})
    assert differ.status_code == 422 and "The two new passwords differ." in differ.get_data(as_text=True)
    short = submit(shopper, "/account/settings/password", {"current_password": PASSWORD, "new_password": "short",
                                                           "new_password_again": "short"})
    assert short.status_code == 422
    assert login(app, email, PASSWORD).status_code == 303  # nothing changed yet

    changed = submit(shopper, "/account/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                             "new_password_again": NEW_PASSWORD})
    assert changed.status_code == 303
    assert "Your password is changed." in html(shopper, "/account/settings")
    assert login(app, email, PASSWORD).status_code == 422
    assert login(app, email, NEW_PASSWORD).status_code == 303


def test_deleting_the_account_needs_confirmation_then_signs_out(app, shopper):
    order_id = place_order(shopper, app)
    unconfirmed = submit(shopper, "/account/settings/delete", {"confirm": "yes"})
    assert unconfirmed.status_code == 422 and "Type DELETE to confirm" in unconfirmed.get_data(as_text=True)
    assert user(app, shopper) is not None

    deleted = submit(shopper, "/account/settings/delete", {"confirm": "delete"})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/"
    assert user(app, shopper) is None
    assert shopper.get("/account").status_code == 302
    assert "Your account and its personal details are deleted" in shopper.get("/").get_data(as_text=True)
    assert login(app, shopper.account["user"]["email"], PASSWORD).status_code == 422
    from lookbook.orders import service as orders
    with db(app).session() as session:
        assert orders.get_order(session, order_id=order_id).user_id is None  # the shop keeps its books


def test_logging_out_from_the_dashboard(shopper):
    page = html(shopper, "/account/settings")
    assert 'action="/logout"' in page
    assert submit(shopper, "/logout").status_code == 303
    assert shopper.get("/account/settings").status_code == 302
