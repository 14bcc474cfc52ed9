"""Screenshots of a running Lookbook store for the README, taken in Debian's Chromium with Playwright.

The shopper logs in, searches by photo, opens the best match, adds it to the cart, checks out and pays with the
sandbox card 4242 4242 4242 4242; then the script saves viewport-sized PNGs (1280 px wide by default; the admin
dashboard's viewport is taller, to hold its first chart) of:

  storefront-search.png    the search-by-photo results
  product.png              the product page of the match that was bought
  customer-dashboard.png   the shopper's dashboard, with the new order
  admin-dashboard.png      the admin dashboard with its charts

Run it against the demo store (see `lookbook demo`, which prints the logins):

  .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:8123 \
      --shopper-email shopper@lookbook.test --shopper-password ... \
      --admin-email admin@lookbook.test --admin-password ... \
      --photo data/saleor/saleordemoproduct_sneakers_01_3.png --out docs/screenshots

Never `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",  # as the tests
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 20_000
GOOD_CARD = "4242 4242 4242 4242"
ADDRESS = {"Recipient": "Demo Shopper", "Street and number": "1 Sample Street", "Postal code": "10115",
           "City": "Berlin", "Country code": "DE"}
# Every <img> in the viewport has loaded (lazy images below the fold are left alone).
IMAGES_IN_VIEW_LOADED = """() => Array.from(document.images).filter(image => {
  const box = image.getBoundingClientRect();
  return box.width > 0 && box.bottom > 0 && box.top < innerHeight;
}).every(image => image.complete && image.naturalWidth > 0)"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the running store, e.g. http://127.0.0.1:8123")
    parser.add_argument("--shopper-email", required=True)
    parser.add_argument("--shopper-password", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--photo", required=True, type=Path, help="the photo to search with")
    parser.add_argument("--out", default=Path("docs/screenshots"), type=Path, help="folder for the PNGs")
    parser.add_argument("--width", default=1280, type=int, help="viewport width in CSS pixels")
    parser.add_argument("--height", default=860, type=int, help="viewport height in CSS pixels")
    parser.add_argument("--admin-height", default=1300, type=int,
                        help="viewport height for the admin dashboard, tall enough for the summary and first chart")
    parser.add_argument("--max-kb", default=300, type=int,
                        help="a PNG larger than this is reduced to 256 colours")
    return parser.parse_args(argv)


def save_png(data: bytes, path: Path, max_kb: int) -> int:
    """The screenshot, losslessly optimised; reduced to a 256-colour palette if it is still too large."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    if buffer.tell() > max_kb * 1024:
        buffer = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
            buffer, format="PNG", optimize=True)
    path.write_bytes(buffer.getvalue())
    return buffer.tell()


class Shooter:
    def __init__(self, browser, args: argparse.Namespace):
        self.browser, self.args, self.errors = browser, args, []
        args.out.mkdir(parents=True, exist_ok=True)

    def page(self, height: int | None = None):
        context = self.browser.new_context(base_url=self.args.url.rstrip("/"), locale="en-GB", timezone_id="UTC",
                                           viewport={"width": self.args.width, "height": height or self.args.height},
                                           device_scale_factor=1, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"{page.url}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        return page

    def shoot(self, page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        page.wait_for_function(IMAGES_IN_VIEW_LOADED)
        page.mouse.move(0, 0)  # no hover effects
        path = self.args.out / name
        size = save_png(page.screenshot(animations="disabled", caret="hide"), path, self.args.max_kb)
        print(f"saved {path} ({size // 1024} KB)")


def log_in(page, email: str, password: str, home: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    try:
        expect(page).to_have_url(re.compile(re.escape(home) + r"([?#].*)?$"))
    except AssertionError:
        sys.exit(f"could not log in as {email} (still on {page.url}): check the email and password")


def shop(shooter: Shooter, page) -> int:
    """Search by photo, open the best match that is in stock, buy it; the order's id."""
    args = shooter.args
    log_in(page, args.shopper_email, args.shopper_password, "/account")
    page.get_by_role("link", name="Lookbook", exact=True).click()
    details = page.locator("details.photo-search")
    if not details.evaluate("element => element.open"):
        details.locator("summary").click()
    form = details.locator("form[data-photo-search]")
    form.get_by_label("Choose a photo, drop it here, or paste it").set_input_files(args.photo)
    form.get_by_role("button", name="Find similar items").click()
    expect(page).to_have_url(re.compile(r"/search/photo/[^/?]+$"))
    expect(page.locator(".results .product-card").first).to_be_visible()
    shooter.shoot(page, "storefront-search.png")

    in_stock = page.locator(".results .product-card").filter(has_not=page.locator(".stock.out"))
    in_stock.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/products/\d+$"))
    expect(page.get_by_role("button", name="Add to cart")).to_be_visible()
    shooter.shoot(page, "product.png")

    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".flash").first).to_contain_text("to your cart")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cart").click()
    page.get_by_role("link", name="Check out").click()
    new_address = page.get_by_label("A new address (saved to your account)")
    if new_address.is_checked():  # no saved address yet (a second run uses the saved one)
        for label, value in ADDRESS.items():
            page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name=re.compile(r"^Place order")).click()
    expect(page).to_have_url(re.compile(r"/account/orders/\d+/pay$"))
    order_id = int(re.search(r"/orders/(\d+)/pay", page.url).group(1))
    page.get_by_label("Card number").fill(GOOD_CARD)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Thank you! Order {order_id} is confirmed")
    print(f"order {order_id} is paid")
    return order_id


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.photo.is_file():
        sys.exit(f"no photo at {args.photo}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            shooter = Shooter(browser, args)
            shopper = shooter.page()
            order_id = shop(shooter, shopper)

            shopper.get_by_role("navigation", name="Main").get_by_role("link", name="My account").click()
            expect(shopper.get_by_role("link", name=f"Order {order_id}")).to_be_visible()
            shooter.shoot(shopper, "customer-dashboard.png")

            admin = shooter.page(args.admin_height)  # the charts start below the period form and the summary
            log_in(admin, args.admin_email, args.admin_password, "/admin")
            for chart in admin.locator("img.chart").all():
                expect(chart).to_have_js_property("complete", True)
            shooter.shoot(admin, "admin-dashboard.png")
        finally:
            browser.close()
    for error in shooter.errors:
        print(f"browser error: {error}", file=sys.stderr)
    return 1 if shooter.errors else 0


if __name__ == "__main__":
    sys.exit(main())
