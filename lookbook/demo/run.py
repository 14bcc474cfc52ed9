"""`lookbook demo`: build the demo catalog once, keep its index current, search it by photo, and get the store
ready to open in a browser: a demo customer and a demo admin with new passwords, some deals and a coupon."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.accounts.roles import HOME, Role
from lookbook.catalog.importer import import_catalog
from lookbook.catalog.indexing import index_catalog
from lookbook.catalog.models import Product
from lookbook.catalog.service import Catalog, count_products, search_by_image
from lookbook.config import Paths
from lookbook.datasets import fashion_mnist, saleor
from lookbook.db import Database
from lookbook.deals import service as deals
from lookbook.deals.models import Coupon, DiscountKind
from lookbook.demo.build import write_fashion_mnist_catalog, write_saleor_catalog
from lookbook.errors import Conflict

DEMO_ACCOUNTS = (  # (email, name, role): made by the demo, with a new password on every run
    ("shopper@lookbook.test", "Demo Shopper", Role.CUSTOMER),
    ("admin@lookbook.test", "Demo Admin", Role.ADMIN),
)
DEMO_COUPON = "WELCOME10"  # 10 % off at checkout
# The demo's deals go to Saleor's studio-photographed products when the catalog has them.
DEAL_CATEGORY, DEAL_PRODUCT = "Hoodies", "Yellow Plimsolls"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    name: str
    role: Role


def reset_demo_accounts(db: Database) -> list[DemoLogin]:
    """Create the demo customer and admin, or give them a new password; never a fixed default password."""
    logins = []
    with db.session() as session:
        for email, name, role in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(15)
            user = session.scalar(select(User).where(User.email == accounts.normalise_email(email)))
            if user is None:
                accounts.create_user(session, email=email, password=password, name=name, role=role)
            elif user.role != role:
                raise Conflict(f"{email} is a {user.role} account here, not the demo {role}: delete it or use "
                               "another LOOKBOOK_HOME", code="demo_account_role")
            else:
                accounts.set_password(session, user=user, password=password)
            logins.append(DemoLogin(email=email, password=password, name=name, role=role))
    return logins


def add_demo_offers(db: Database) -> list[str]:
    """Two deals if the store has none yet, and the welcome coupon if it is missing; what was added."""
    added = []
    with db.session() as session:
        if deals.list_deals(session, per_page=1)[1] == 0:
            live = Product.retired_at.is_(None)
            category = session.scalar(select(Product.category).where(live, Product.category == DEAL_CATEGORY).limit(1))
            category = category or session.scalar(
                select(Product.category).where(live, Product.category.is_not(None)).group_by(Product.category)
                .order_by(func.count().desc(), Product.category).limit(1))
            if category:
                deal, _ = deals.create_deal(session, name=f"20 % off {category}", kind=DiscountKind.PERCENT,
                                            value=2000, category=category)
                added.append(f"deal: {deal.name}")
            others = select(Product).where(live).order_by(Product.id)
            if category:
                others = others.where(Product.category.is_distinct_from(category))
            product = (session.scalar(others.where(Product.name == DEAL_PRODUCT).limit(1))
                       or session.scalar(others.limit(1)))
            if product is not None:
                deal, _ = deals.create_deal(session, name=f"15 % off {product.name}", kind=DiscountKind.PERCENT,
                                            value=1500, product_id=product.id)
                added.append(f"deal: {deal.name}")
        if session.scalar(select(Coupon.id).where(Coupon.code == DEMO_COUPON)) is None:
            deals.create_coupon(session, code=DEMO_COUPON, kind=DiscountKind.PERCENT, value=1000)
            added.append(f"coupon: {DEMO_COUPON} (10 % off)")
    return added


def build_demo_catalog(catalog: Catalog, *, fashion_mnist_items: int) -> None:
    source = catalog.paths.home / "demo-source"
    for folder, write in (
        (source / "saleor", lambda f: write_saleor_catalog(f)),
        (source / "fashion-mnist", lambda f: write_fashion_mnist_catalog(f, limit=fashion_mnist_items)),
    ):
        write(folder)
        report = import_catalog(folder, db=catalog.db, store=catalog.store, progress=True)
        print(report.summary())


def sample_queries(home: Path) -> list[tuple[str, Path]]:
    """A Saleor photo that is not any product's main image, and a Fashion-MNIST test article."""
    queries = []
    for product in saleor.load():
        if product.name == "Yellow Plimsolls" and len(product.photos) > 2:
            queries.append((f"another view of the {product.name} (not in the index)", product.photos[2]))
    test = fashion_mnist.load("test")
    path = home / "demo-queries" / "fashion-mnist-test-0.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(test.images[0]).save(path)
    queries.append((f"a Fashion-MNIST test {fashion_mnist.CLASS_NAMES[test.labels[0]]} (not in the catalog)", path))
    return queries


def run_demo(paths: Paths, *, fashion_mnist_items: int = 12_000, address: str = "http://127.0.0.1:8000",
             serving: bool = True) -> list[DemoLogin]:
    """Set up the demo store in `paths` and print how to open it at `address`; returns the demo logins."""
    catalog = Catalog(paths)
    try:
        if count_products(catalog) == 0:
            build_demo_catalog(catalog, fashion_mnist_items=fashion_mnist_items)
        report = index_catalog(db=catalog.db, store=catalog.store, encoder=catalog.encoder,
                               directory=paths.index, colour_weight=catalog.colour_weight)
        print(report.summary())
        for description, photo in sample_queries(paths.home):
            print(f"\nSearch by photo: {description}\n  {photo}")
            for rank, hit in enumerate(search_by_image(catalog, photo.read_bytes(), k=5), 1):
                print(f"  {rank}. {hit.score:.3f}  #{hit.id}  {hit.name}  [{hit.category}]")
        print(f"\nCatalog: {count_products(catalog)} products in {paths.home}. Try it yourself:\n"
              f"  .venv/bin/lookbook search PHOTO --k 5")
        logins = reset_demo_accounts(catalog.db)
        for line in add_demo_offers(catalog.db):
            print(f"Added the demo {line}")
    finally:
        catalog.close()
    print_store_access(address, logins, serving=serving, tls_directory=paths.home / "tls")
    return logins


def print_store_access(address: str, logins: list[DemoLogin], *, serving: bool, tls_directory: Path) -> None:
    width = max(len(login.email) for login in logins)
    print(f"\nThe store: {address}/" + ("" if serving else "  (start it with `.venv/bin/lookbook serve`)"))
    print(f"Log in at {address}/login as")
    for login in logins:
        who = "the demo customer" if login.role == Role.CUSTOMER else "the demo admin   "
        print(f"  {who}  {login.email:<{width}}  password: {login.password}  (lands on {HOME[login.role]})")
    print(f"The passwords are new on every demo run. At checkout, try the coupon code {DEMO_COUPON}.")
    if address.startswith("https:"):
        print(f"HTTPS uses a self-signed development certificate ({tls_directory / 'cert.pem'}): "
              "the browser asks you to accept it once.")
    if serving:
        print("Ctrl-C stops the store.\n", flush=True)
