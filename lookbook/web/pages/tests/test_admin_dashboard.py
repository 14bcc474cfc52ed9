"""The admin dashboard: order summary, charts as SVG with their own policy and as tables, CSV downloads."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from lookbook.catalog.models import Product
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, WHITE_TSHIRT
from lookbook.web.pages.tests.test_admin_support import db_of, place_order, text

TODAY = datetime.now(UTC).date()


def _compact(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"[ \t\n]+", " ", html))


def test_the_dashboard_shows_a_paid_order_in_numbers_charts_and_tables(app, admin_browser, customer):
    place_order(app, customer["user"]["id"], {BLACK_TSHIRT: 2, WHITE_TSHIRT: 1})   # 2 x 5.00 + 25.00
    place_order(app, customer["user"]["id"], {BLACK_TSHIRT: 1}, pay=False)         # placed, not paid

    page = admin_browser.get("/admin")
    html = _compact(text(page))
    assert page.status_code == 200
    assert "2</span> orders placed" in html
    assert "35.00 USD</span> revenue from 1 paid order" in html
    assert "3</span> items sold (USD)" in html
    start = (TODAY - timedelta(days=29)).isoformat()
    assert f'value="{start}"' in html and f'value="{TODAY.isoformat()}"' in html  # default: the last 30 days
    # each chart is an <img> with alt text, and its numbers are in a table beside it
    for chart in ("revenue", "orders", "top-products", "statuses"):
        assert f'src="/admin/charts/{chart}.svg?from={start}&amp;to={TODAY.isoformat()}"' in html
    assert len(re.findall(r'<img class="chart" [^>]*alt="[^"]{20,}"', html)) == 4
    assert f'<tr><th scope="row">{TODAY.isoformat()}</th><td class="num">35.00 USD</td></tr>' in html  # revenue
    assert f'<tr><th scope="row">{TODAY.isoformat()}</th><td class="num">2</td></tr>' in html         # orders
    assert html.index("White tshirt") < html.index("Black tshirt")  # by revenue: 25.00 before 10.00
    assert (f'Black tshirt</a><span class="muted">#{BLACK_TSHIRT}</span></th><td class="num">2</td>'
            '<td class="num">1</td><td class="num">10.00 USD</td>') in html
    assert re.search(r'pending payment</span></a></th><td class="num">1</td><td class="num">5.00 USD</td>', html)


def test_charts_are_svg_with_their_own_policy_that_allows_no_script(app, admin_browser, customer):
    with db_of(app).session() as session:
        session.get(Product, BLACK_TSHIRT).name = "<script>alert(1)</script> tee"
    place_order(app, customer["user"]["id"], {BLACK_TSHIRT: 2})
    page_policy = admin_browser.get("/admin").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in page_policy
    for chart in ("revenue", "orders", "top-products", "statuses"):
        response = admin_browser.get(f"/admin/charts/{chart}.svg")
        assert response.status_code == 200, chart
        assert response.mimetype == "image/svg+xml"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "style-src 'unsafe-inline'" in policy
        assert "script-src" not in policy and "'self'" not in policy  # nothing may run or load
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        svg = text(response)
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        assert "http://" not in svg.replace("http://www.w3.org/", "").replace("http://pygal.org", "").replace(
            "http://github.com/Kozea/pygal", "")  # references no outside file
        assert "<script" not in svg or 'src="' not in svg.split("<script", 1)[1].split(">", 1)[0]
    top = text(admin_browser.get("/admin/charts/top-products.svg"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; tee" in top and "<script>alert(1)" not in top
    assert "10.00" in text(admin_browser.get("/admin/charts/revenue.svg"))


def test_charts_of_a_period_without_orders_say_so(admin_browser):
    for chart in ("revenue", "orders", "top-products", "statuses"):
        response = admin_browser.get(f"/admin/charts/{chart}.svg?from=2020-01-01&to=2020-12-31")
        assert response.status_code == 200, chart
        assert "in this period" in text(response), chart  # "No orders (sales, revenue) in this period"
    assert "No sales in this period" in text(admin_browser.get("/admin?from=2020-01-01&to=2020-12-31"))


def test_a_bad_period_gets_a_message_not_an_error(admin_browser):
    page = admin_browser.get("/admin?from=2026-13-40&to=yesterday")
    assert page.status_code == 400
    assert "That period was not understood" in text(page) and 'aria-invalid="true"' in text(page)
    backwards = admin_browser.get("/admin?from=2026-03-10&to=2026-03-01")
    assert backwards.status_code == 400 and "must not be after" in text(backwards)
    for edge in ("from=9999-12-01&to=9999-12-31", "from=0001-01-01&to=0001-01-31", "from=9990-01-01&to=9999-12-31"):
        assert admin_browser.get(f"/admin?{edge}").status_code == 200, edge  # the ends of the calendar
        assert admin_browser.get(f"/admin/charts/orders.svg?{edge}").status_code == 200, edge
    chart = admin_browser.get("/admin/charts/revenue.svg?from=nonsense")
    assert chart.status_code == 400 and chart.mimetype == "text/html"
    assert admin_browser.get("/admin/reports/sales.csv?from=2026-03-10&to=2026-03-01").status_code == 400


def test_reports_download_as_csv_attachments(app, admin_browser, customer):
    place_order(app, customer["user"]["id"], {BLACK_TSHIRT: 2})
    period = {"from": TODAY.isoformat(), "to": TODAY.isoformat()}
    sales = admin_browser.get("/admin/reports/sales.csv", query_string=period)
    assert sales.mimetype == "text/csv"
    assert sales.headers["Content-Disposition"] == f'attachment; filename="sales_{TODAY}_{TODAY}.csv"'
    rows = list(csv.reader(io.StringIO(text(sales))))
    assert rows == [["product_id", "name", "currency", "units", "revenue_minor", "orders"],
                    [str(BLACK_TSHIRT), "Black tshirt", "USD", "2", "1000", "1"]]
    summary = admin_browser.get("/admin/reports/orders.csv", query_string=period)
    assert summary.headers["Content-Disposition"] == f'attachment; filename="orders_{TODAY}_{TODAY}.csv"'
    assert ["total", "revenue", "USD", "1", "1000"] in list(csv.reader(io.StringIO(text(summary))))
    page = text(admin_browser.get("/admin", query_string=period))
    assert f'href="/admin/reports/sales.csv?from={TODAY}&amp;to={TODAY}"' in page
