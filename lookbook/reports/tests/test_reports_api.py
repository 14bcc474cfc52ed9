"""Reports over HTTP: admins only, JSON and CSV with the same numbers, dates checked."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from lookbook.accounts.models import User
from lookbook.orders.models import OrderStatus
from lookbook.reports.tests.purchases import make_product, place_order
from lookbook.web.tests.conftest import bearer, register

RANGE = {"from": "2026-03-10", "to": "2026-03-15"}
REPORTS = ["/api/v1/admin/reports/sales", "/api/v1/admin/reports/sales.csv", "/api/v1/admin/reports/orders",
           "/api/v1/admin/reports/orders.csv"]
EVIL_NAME = "=HYPERLINK(\"http://evil.example\",\"Invoice\")"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def orders(app, client):
    """Two paid orders and a refunded one inside the range, a paid one outside it, for one customer."""
    ada = register(client, name="Ada King")
    with app.extensions["lookbook"].db.session() as session:
        shirt = make_product(session, product_id=1001, name="Linen shirt", price_minor=2500).id
        evil = make_product(session, product_id=1002, name=EVIL_NAME, price_minor=700).id
        user = session.get(User, ada["user"]["id"])
        ids = [place_order(session, user=user, items=items, status=status, at=when).id for items, status, when in [
            ({shirt: 2, evil: 1}, OrderStatus.PAID, at(10)),
            ({shirt: 1}, OrderStatus.DELIVERED, at(11)),
            ({shirt: 4, evil: 4}, OrderStatus.REFUNDED, at(12)),
            ({evil: 9}, OrderStatus.PAID, at(20)),
        ]]
    return {"customer": ada, "ids": ids}


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_sales_report_counts_paid_orders_only_with_exact_units_and_revenue(client, admin, orders):
    response = client.get("/api/v1/admin/reports/sales", headers=bearer(admin["access_token"]), query_string=RANGE)

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == {
        "from": "2026-03-10", "to": "2026-03-15",
        "items": [{"product_id": 1001, "name": "Linen shirt", "currency": "USD", "units": 3, "revenue_minor": 7500,
                   "orders": 2},
                  {"product_id": 1002, "name": EVIL_NAME, "currency": "USD", "units": 1, "revenue_minor": 700,
                   "orders": 1}],
        "totals": [{"currency": "USD", "units": 4, "revenue_minor": 8200}],
    }


def test_the_sales_csv_is_an_attachment_with_the_same_numbers_and_no_formulas(client, admin, orders):
    response = client.get("/api/v1/admin/reports/sales.csv", headers=bearer(admin["access_token"]), query_string=RANGE)

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="sales_2026-03-10_2026-03-15.csv"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert _csv(response) == [["product_id", "name", "currency", "units", "revenue_minor", "orders"],
                              ["1001", "Linen shirt", "USD", "3", "7500", "2"],
                              ["1002", "'" + EVIL_NAME, "USD", "1", "700", "1"]]


def test_the_order_summary_counts_by_status_and_day_in_json_and_csv(client, admin, orders):
    headers = bearer(admin["access_token"])

    summary = client.get("/api/v1/admin/reports/orders", headers=headers, query_string=RANGE)
    sheet = client.get("/api/v1/admin/reports/orders.csv", headers=headers, query_string=RANGE)

    assert summary.status_code == 200
    assert summary.json["by_status"] == [
        {"status": "paid", "currency": "USD", "orders": 1, "total_minor": 5700},
        {"status": "delivered", "currency": "USD", "orders": 1, "total_minor": 2500},
        {"status": "refunded", "currency": "USD", "orders": 1, "total_minor": 12800}]
    assert summary.json["by_day"] == [
        {"date": "2026-03-10", "currency": "USD", "orders": 1, "revenue_minor": 5700},
        {"date": "2026-03-11", "currency": "USD", "orders": 1, "revenue_minor": 2500},
        {"date": "2026-03-12", "currency": "USD", "orders": 1, "revenue_minor": 0}]
    assert summary.json["totals"] == [{"currency": "USD", "orders": 3, "revenue_orders": 2, "revenue_minor": 8200}]
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert sheet.headers["Content-Disposition"] == 'attachment; filename="orders_2026-03-10_2026-03-15.csv"'
    assert _csv(sheet)[-1] == ["total", "revenue", "USD", "2", "8200"]


def test_a_customers_order_history_in_json_and_csv(client, admin, orders):
    headers = bearer(admin["access_token"])
    customer_id = orders["customer"]["user"]["id"]

    history = client.get(f"/api/v1/admin/customers/{customer_id}/orders", headers=headers, query_string={"per_page": 2})
    sheet = client.get(f"/api/v1/admin/customers/{customer_id}/orders.csv", headers=headers)

    assert history.status_code == 200
    assert history.json["customer"]["id"] == customer_id and history.json["customer"]["name"] == "Ada King"
    assert [o["id"] for o in history.json["items"]] == list(reversed(orders["ids"]))[:2]
    assert (history.json["total"], history.json["pages"]) == (4, 2)
    assert history.json["items"][0]["lines"][0]["quantity"] == 9
    assert history.json["spent"] == [{"currency": "USD", "orders": 3, "spent_minor": 5700 + 2500 + 9 * 700}]
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert sheet.headers["Content-Disposition"] == f'attachment; filename="customer_{customer_id}_orders.csv"'
    rows = _csv(sheet)
    assert len(rows) == 1 + 6  # a header and one row per order line
    assert {row[6] for row in rows[1:]} == {"Linen shirt", "'" + EVIL_NAME}
    assert client.get("/api/v1/admin/customers/999999/orders", headers=headers).status_code == 404
    assert client.get("/api/v1/admin/customers/999999/orders.csv", headers=headers).status_code == 404


@pytest.mark.parametrize("url", REPORTS)
def test_a_range_that_ends_before_it_starts_or_is_not_a_date_is_refused(client, admin, url):
    headers = bearer(admin["access_token"])

    backwards = client.get(url, headers=headers, query_string={"from": "2026-03-15", "to": "2026-03-10"})
    not_a_date = client.get(url, headers=headers, query_string={"from": "last tuesday"})

    assert backwards.status_code == 422 and backwards.json["error"]["code"] == "invalid_date_range"
    assert not_a_date.status_code == 422 and "from" in not_a_date.json["error"]["fields"]


@pytest.mark.parametrize("url", REPORTS + ["/api/v1/admin/customers/1/orders", "/api/v1/admin/customers/1/orders.csv"])
def test_reports_are_for_admins_only(client, customer, url):
    assert client.get(url).status_code == 401
    refused = client.get(url, headers=bearer(customer["access_token"]))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"


def test_without_dates_a_report_covers_the_last_thirty_days(client, admin):
    response = client.get("/api/v1/admin/reports/sales", headers=bearer(admin["access_token"]))

    today = datetime.now(timezone.utc).date()
    assert response.status_code == 200 and response.json["to"] == today.isoformat()
    assert (today - datetime.fromisoformat(response.json["from"]).date()).days == 29


def test_the_api_document_describes_each_csv_download_as_a_text_csv_attachment(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    csv_paths = [p for p in paths if p.endswith(".csv")]

    assert sorted(csv_paths) == ["/api/v1/admin/customers/{customer_id}/orders.csv",
                                 "/api/v1/admin/reports/orders.csv", "/api/v1/admin/reports/sales.csv"]
    for path in csv_paths:
        ok = paths[path]["get"]["responses"]["200"]
        assert list(ok["content"]) == ["text/csv"], path
        assert ok["headers"]["Content-Disposition"]["required"] is True, path
        assert "attachment" in ok["headers"]["Content-Disposition"]["description"], path
