"""My notifications over HTTP: newest first with the unread count, marked read one by one or all at once, mine only."""

from __future__ import annotations

from sqlalchemy import select

from lookbook.accounts.models import User
from lookbook.notifications.models import Notification
from lookbook.notifications.service import notify
from lookbook.web.tests.conftest import bearer, make_admin, register

URL = "/api/v1/me/notifications"


def _notify(app, user_id: int, *titles: str) -> list[int]:
    with app.extensions["lookbook"].db.session() as session:
        user = session.get(User, user_id)
        return [notify(session, user=user, kind="order_shipped", title=title, body=f"{title}: on its way.",
                       data={"order_id": 7, "status": "shipped"}).id for title in titles]


def _read_at(app) -> dict[int, object]:
    with app.extensions["lookbook"].db.session() as session:
        return {n.id: n.read_at for n in session.scalars(select(Notification))}


def test_i_see_my_notifications_newest_first_with_how_many_are_unread(app, client, customer):
    headers = bearer(customer["access_token"])
    _notify(app, customer["user"]["id"], "Order 1 shipped", "Order 2 shipped", "Order 3 shipped")

    response = client.get(URL, headers=headers)

    assert response.status_code == 200
    body = response.json
    assert [n["title"] for n in body["items"]] == ["Order 3 shipped", "Order 2 shipped", "Order 1 shipped"]
    assert (body["total"], body["unread"], body["page"], body["pages"]) == (3, 3, 1, 1)
    first = body["items"][0]
    assert first["kind"] == "order_shipped" and first["body"] == "Order 3 shipped: on its way."
    assert first["data"] == {"order_id": 7, "status": "shipped"} and first["read_at"] is None
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_and_the_unread_filter(app, client, customer):
    headers = bearer(customer["access_token"])
    ids = _notify(app, customer["user"]["id"], *(f"Note {n}" for n in range(5)))
    client.post(f"{URL}/{ids[4]}/read", headers=headers)

    second_page = client.get(URL, headers=headers, query_string={"per_page": 2, "page": 2}).json
    unread = client.get(URL, headers=headers, query_string={"unread_only": "true"}).json

    assert [n["title"] for n in second_page["items"]] == ["Note 2", "Note 1"]
    assert (second_page["total"], second_page["pages"], second_page["unread"]) == (5, 3, 4)
    assert [n["title"] for n in unread["items"]] == ["Note 3", "Note 2", "Note 1", "Note 0"]
    assert (unread["total"], unread["unread"]) == (4, 4)


def test_marking_one_read_records_when_and_reading_it_again_changes_nothing(app, client, customer):
    headers = bearer(customer["access_token"])
    first, second = _notify(app, customer["user"]["id"], "Order 1 shipped", "Order 2 shipped")

    marked = client.post(f"{URL}/{first}/read", headers=headers)
    again = client.post(f"{URL}/{first}/read", headers=headers)

    assert marked.status_code == 200 and marked.json["id"] == first and marked.json["read_at"]
    assert again.status_code == 200 and again.json["read_at"] == marked.json["read_at"]
    assert client.get(URL, headers=headers).json["unread"] == 1
    assert _read_at(app)[second] is None


def test_marking_all_read_clears_the_unread_count(app, client, customer):
    headers = bearer(customer["access_token"])
    _notify(app, customer["user"]["id"], "A", "B", "C")

    response = client.post(f"{URL}/read-all", headers=headers)

    assert response.status_code == 200 and response.json == {"marked_read": 3, "unread": 0}
    listing = client.get(URL, headers=headers).json
    assert listing["unread"] == 0 and all(n["read_at"] for n in listing["items"])
    assert client.post(f"{URL}/read-all", headers=headers).json == {"marked_read": 0, "unread": 0}


def test_someone_elses_notification_is_not_found_and_stays_unread(app, client, customer):
    bob = register(client, name="Bob")
    [adas] = _notify(app, customer["user"]["id"], "Order 1 shipped")
    _notify(app, bob["user"]["id"], "Bob's order shipped")
    bob_headers = bearer(bob["access_token"])

    response = client.post(f"{URL}/{adas}/read", headers=bob_headers)
    missing = client.post(f"{URL}/2147483647/read", headers=bob_headers)
    client.post(f"{URL}/read-all", headers=bob_headers)

    assert response.status_code == 404 and response.json["error"]["code"] == "notification_not_found"
    assert missing.status_code == 404 and missing.json["error"]["code"] == "notification_not_found"
    assert _read_at(app)[adas] is None
    ada_view = client.get(URL, headers=bearer(customer["access_token"])).json
    assert ada_view["unread"] == 1 and [n["title"] for n in ada_view["items"]] == ["Order 1 shipped"]
    assert [n["title"] for n in client.get(URL, headers=bob_headers).json["items"]] == ["Bob's order shipped"]


def test_admins_have_their_own_notifications_and_visitors_must_sign_in(app, client):
    admin = make_admin(app)
    _notify(app, admin["user"]["id"], "Stock is low")

    listing = client.get(URL, headers=bearer(admin["access_token"]))
    anonymous = client.get(URL)

    assert listing.status_code == 200 and [n["title"] for n in listing.json["items"]] == ["Stock is low"]
    assert anonymous.status_code == 401 and anonymous.json["error"]["code"] == "not_authenticated"
    assert client.post(f"{URL}/read-all").status_code == 401


def test_wrong_list_arguments_are_refused_naming_the_field(client, customer):
    headers = bearer(customer["access_token"])

    for query, field in (({"unread_only": "perhaps"}, "unread_only"), ({"per_page": 0}, "per_page"),
                         ({"page": "x"}, "page")):
        response = client.get(URL, headers=headers, query_string=query)
        assert response.status_code == 422 and field in response.json["error"]["fields"]
