"""The `lookbook` command: import, index, train, search and evaluate from the shell."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from lookbook.config import get_paths


def _catalog(colour_weight: float | None = None):
    from lookbook.catalog.service import Catalog

    return Catalog(get_paths(), colour_weight=colour_weight)


def _minor_units(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a price")
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise click.BadParameter(f"{value!r} must be a non-negative amount with at most 2 decimals")
    return int(amount * 100)


@click.group()
@click.version_option(package_name="lookbook")
def main() -> None:
    """Lookbook: a fashion store with visual search. State lives in $LOOKBOOK_HOME (default ./instance)."""


@main.group()
def catalog() -> None:
    """Manage the product catalog."""


@catalog.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--default-stock", type=click.IntRange(min=0), default=0, show_default=True,
              help="Stock for products whose source gives none.")
@click.option("--currency", default="USD", show_default=True, help="Currency for prices without one.")
def catalog_import(path: Path, default_stock: int, currency: str) -> None:
    """Import a Kaggle Fashion Product Images folder, or a plain products CSV/JSON file."""
    from lookbook.catalog.importer import CatalogImportError, import_catalog

    cat = _catalog()
    try:
        report = import_catalog(path, db=cat.db, store=cat.store, default_stock=default_stock,
                                default_currency=currency, progress=True)
    except CatalogImportError as error:
        raise click.ClickException(str(error))
    click.echo(report.summary())
    if report.imported + report.updated + report.unchanged == 0:
        sys.exit(1)


@catalog.command("remove")
@click.argument("product_ids", nargs=-1, required=True, type=int)
def catalog_remove(product_ids: tuple[int, ...]) -> None:
    """Delete products (row, image, vector) and drop them from the search index at once."""
    from lookbook.catalog.service import ProductNotFoundError, remove_product

    cat = _catalog()
    missing = []
    for product_id in product_ids:
        try:
            remove_product(cat, product_id)
            click.echo(f"removed product {product_id}")
        except ProductNotFoundError:
            missing.append(product_id)
    if missing:
        raise click.ClickException(f"no product with id {', '.join(map(str, missing))}")


@main.command()
@click.option("--colour-weight", type=click.FloatRange(0, 1), default=None,
              help="How much colour counts in similarity (0 = shape only). Default: the saved value, else 0.3.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
def index(colour_weight: float | None, batch_size: int) -> None:
    """Embed every product image not yet embedded with the current model and update the search index."""
    from lookbook.catalog.indexing import index_catalog

    cat = _catalog(colour_weight)
    report = index_catalog(db=cat.db, store=cat.store, encoder=cat.encoder, directory=cat.paths.index,
                           colour_weight=cat.colour_weight, batch_size=batch_size, progress=True)
    click.echo(report.summary())


@main.command()
@click.argument("photo", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--k", type=click.IntRange(1, 1000), default=5, show_default=True, help="How many results.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@click.option("--category", help="Only this category (specific, e.g. Tshirts, or broad, e.g. Topwear).")
@click.option("--gender")
@click.option("--colour")
@click.option("--min-price", help="Lowest price, e.g. 19.99")
@click.option("--max-price", help="Highest price, e.g. 49.99")
@click.option("--in-stock", is_flag=True, help="Only products in stock.")
@click.option("--include-self", is_flag=True, help="Let a catalog photo find its own product.")
def search(photo: Path, k: int, as_json: bool, category, gender, colour, min_price, max_price, in_stock,
           include_self) -> None:
    """Find the catalog products most similar to PHOTO."""
    from lookbook.catalog.service import SearchFilters, search_by_image
    from lookbook.vision.images import ImageError, read_image_bytes

    filters = SearchFilters(category=category, gender=gender, colour=colour, min_price_minor=_minor_units(min_price),
                            max_price_minor=_minor_units(max_price), in_stock=in_stock)
    cat = _catalog()
    if len(cat.index) == 0:
        raise click.ClickException("the search index is empty: run `lookbook index` first")
    try:
        data = read_image_bytes(photo)
        hits = search_by_image(cat, data, k=k, filters=filters, include_self=include_self)
    except ImageError as error:
        # Name the file the user gave (the service only knows it as "query photo").
        raise click.ClickException(str(ImageError(error.reason, error.detail, name=str(photo))))
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no matching products")
    for rank, h in enumerate(hits, 1):
        price = f"{h.price_minor / 100:.2f} {h.currency}" if h.price_minor is not None else "-"
        labels = ", ".join(str(v) for v in (h.category, h.gender, h.colour) if v)
        click.echo(f"{rank:>2}. {h.score:.3f}  #{h.id}  {h.name}  [{labels}]  {price}")


@main.command()
@click.option("--epochs", type=click.FloatRange(min=0.01), default=None, help="Training epochs (default 7).")
@click.option("--limit", type=click.IntRange(min=10), default=None, help="Train on at most this many products.")
@click.option("--input-size", type=click.IntRange(32, 256), default=None, help="Image side in pixels (default 64).")
@click.option("--val-fraction", type=click.FloatRange(0, 0.5), default=None, help="Held-out share (default 0.1).")
@click.option("--appearance-weight", type=click.FloatRange(0, 1), default=None,
              help="Share of the pretrained backbone's own view (print, material) in the search embedding "
                   "(default 0.6; 0: the fine-tuned embedding alone).")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Model directory (default: $LOOKBOOK_HOME/model, which search then uses).")
@click.option("--no-index", is_flag=True, help="Do not re-embed the catalog with the new model afterwards.")
def train(epochs, limit, input_size, val_fraction, appearance_weight, output, no_index) -> None:
    """Fine-tune the model on the catalog's labels; report held-out accuracy and macro-F1."""
    from lookbook.catalog.training import tag_unlabelled_products, train_catalog_model
    from lookbook.vision.encoder import Encoder
    from lookbook.vision.training import TrainConfig

    config = TrainConfig()
    for field, value in (("epochs", epochs), ("input_size", input_size), ("val_fraction", val_fraction),
                         ("appearance_weight", appearance_weight)):
        if value is not None:
            setattr(config, field, value)
    cat = _catalog()
    try:
        result, directory = train_catalog_model(cat, config, limit=limit, output=output)
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(f"trained on {result.train_items} images in {result.seconds / 60:.1f} min; model saved to {directory}")
    for head, m in result.metrics.items():
        click.echo(f"  {head:<15} accuracy {m.accuracy:.4f}  macro-F1 {m.macro_f1:.4f}  "
                   f"({m.classes} classes, {m.evaluated} held-out)")
    if output is None:
        tagged = tag_unlabelled_products(cat, Encoder(directory))
        click.echo(f"tagged {tagged} product(s) lacking labels with the model's predictions")
        if not no_index:
            from lookbook.catalog.indexing import index_catalog

            cat = _catalog()  # opens the new model
            report = index_catalog(db=cat.db, store=cat.store, encoder=cat.encoder, directory=cat.paths.index,
                                   colour_weight=cat.colour_weight)
            click.echo(report.summary())


@main.group("eval")
def evaluate() -> None:
    """Measure retrieval quality."""


@evaluate.command("fashion-mnist")
@click.option("--train", "train_first", is_flag=True,
              help="First train on the train split (as a labelled catalog, through `lookbook train`).")
@click.option("--epochs", type=click.FloatRange(min=0.01), default=None)
@click.option("--limit", type=click.IntRange(min=10), default=None, help="Train on at most this many items.")
@click.option("--colour-weight", type=click.FloatRange(0, 1), default=None)
@click.option("--json", "as_json", is_flag=True)
def eval_fashion_mnist(train_first, epochs, limit, colour_weight, as_json) -> None:
    """Gallery: the 60k train images; queries: the 10k test images. Prints precision@5/@10 and mAP@10."""
    from lookbook.datasets.fashion_mnist import DatasetNotInstalledError
    from lookbook.evaluation.fashion_mnist import evaluate_fashion_mnist
    from lookbook.vision.encoder import ModelNotFoundError

    try:
        result = evaluate_fashion_mnist(get_paths(), train=train_first, epochs=epochs, limit=limit,
                                        colour_weight=colour_weight)
    except (DatasetNotInstalledError, ModelNotFoundError) as error:
        raise click.ClickException(str(error))
    click.echo(json.dumps(result, indent=2) if as_json else _format_eval(result))


@evaluate.command("catalog")
@click.option("--label", required=True, help="Label column that defines a relevant result, e.g. category.")
@click.option("--colour-weight", type=click.FloatRange(0, 1), default=None)
@click.option("--json", "as_json", is_flag=True)
def eval_catalog(label, colour_weight, as_json) -> None:
    """Leave-one-out retrieval on the imported catalog: every product queries all the others."""
    from lookbook.evaluation.catalog import evaluate_catalog

    try:
        result = evaluate_catalog(_catalog(colour_weight), label)
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(json.dumps(result, indent=2) if as_json else _format_eval(result))


def _format_eval(result: dict) -> str:
    lines = [f"model {result['model']}"]
    for name, scores in result["scores"].items():
        lines.append(f"  {name:<28} precision@5 {scores['precision@5']:.4f}  precision@10 "
                     f"{scores['precision@10']:.4f}  mAP@10 {scores['mAP@10']:.4f}  ({scores['queries']} queries)")
    return "\n".join(lines)


@main.group()
def models() -> None:
    """The shared default model."""


@models.command("build-default")
@click.option("--epochs", type=click.FloatRange(min=0.01), default=2.0, show_default=True)
@click.option("--limit", type=click.IntRange(min=10), default=None, help="Train on at most this many items.")
@click.option("--force", is_flag=True, help="Rebuild even if a default model exists.")
def build_default(epochs, limit, force) -> None:
    """Train the fashion-tuned default model on Fashion-MNIST's train split into $LOOKBOOK_MODELS/default."""
    from lookbook.evaluation.fashion_mnist import build_default_model
    from lookbook.vision.encoder import MODEL_FILE

    paths = get_paths()
    if (paths.default_model / MODEL_FILE).exists() and not force:
        click.echo(f"default model already in {paths.default_model} (use --force to rebuild)")
        return
    build_default_model(paths, epochs=epochs, limit=limit)


DEMO_HOST = "127.0.0.1"


@main.command()
@click.option("--fashion-mnist-items", type=click.IntRange(min=0), default=12_000, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--https", is_flag=True, help="Serve over TLS with a local development certificate.")
@click.option("--no-serve", is_flag=True, help="Stop after the set-up and the printed logins (for scripts and tests).")
def demo(fashion_mnist_items: int, port: int, https: bool, no_serve: bool) -> None:
    """Build the demo catalog if needed, index it, search it by photo, make the demo customer and admin (new
    passwords every run, printed) and some offers, then run the store on 127.0.0.1."""
    import os

    from lookbook.demo.run import run_demo
    from lookbook.errors import LookbookError

    address = f"{'https' if https else 'http'}://{DEMO_HOST}:{port}"
    try:
        run_demo(get_paths(), fashion_mnist_items=fashion_mnist_items, address=address, serving=not no_serve)
    except LookbookError as error:
        raise click.ClickException(error.message)
    if no_serve:
        return
    # `lookbook serve` in this process, started afresh: gunicorn forks its workers, and a child forked from a
    # process that has run OpenMP code (faiss, while indexing above) hangs in its next parallel search.
    sys.stdout.flush()
    sys.stderr.flush()
    command = [sys.executable, "-m", "lookbook.cli", "serve", "--host", DEMO_HOST, "--port", str(port)]
    os.execv(sys.executable, command + (["--https"] if https else []))


@main.group()
def users() -> None:
    """Store accounts."""


@users.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Admin", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate-password", is_flag=True, help="Generate a strong password and print it once.")
def create_admin(email: str, name: str, password_stdin: bool, generate_password: bool) -> None:
    """Create an admin account (the only way to get one; there is no default password)."""
    import secrets

    from lookbook.accounts.roles import Role
    from lookbook.accounts.service import create_user
    from lookbook.db import Database
    from lookbook.errors import LookbookError

    if password_stdin and generate_password:
        raise click.UsageError("choose one of --password-stdin and --generate-password")
    if generate_password:
        password = secrets.token_urlsafe(15)
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = Database(get_paths().database_url)
    try:
        with db.session() as session:
            user = create_user(session, email=email, password=password, name=name, role=Role.ADMIN)
    except LookbookError as error:
        raise click.ClickException(error.message)
    finally:
        db.dispose()
    click.echo(f"admin {user.email} created (id {user.id})")
    if generate_password:
        click.echo(f"password: {password}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Worker processes.")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True, help="Threads per worker.")
@click.option("--https", is_flag=True, help="Serve over TLS with a local development certificate.")
def serve(host: str, port: int, workers: int, threads: int, https: bool) -> None:
    """Run the store (JSON API under /api/v1) with gunicorn, on the data directory $LOOKBOOK_HOME."""
    import os

    # One BLAS thread per worker: many request threads each spinning two BLAS threads on two cores cost a
    # third of every search's CPU (docs/benchmarks.md). Set before the workers load numpy.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Likewise one onnxruntime thread: with a worker per core, splitting a 64 px model over two threads
    # costs 1.8x its CPU (6.0 ms against 3.3 ms per photo) for 15 % less wall time.
    os.environ.setdefault("LOOKBOOK_MODEL_THREADS", "1")
    from lookbook.web.serve import serve as run
    from lookbook.web.settings import ConfigurationError

    try:
        run(host=host, port=port, workers=workers, threads=threads, https=https)
    except ConfigurationError as error:
        raise click.ClickException(str(error))


@main.group()
def outbox() -> None:
    """The email outbox (delivered through LOOKBOOK_SMTP_HOST)."""


@outbox.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering until interrupted (SIGINT or SIGTERM).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=None,
              help="Seconds between rounds with --loop (default LOOKBOOK_OUTBOX_INTERVAL, 5).")
def outbox_deliver(loop: bool, interval: float | None) -> None:
    """Send the emails that are due; failed ones stay in the outbox and are retried with backoff."""
    import signal
    import threading

    from lookbook.db import Database
    from lookbook.notifications.outbox import SmtpMailer, deliver_all_due, deliver_until_stopped
    from lookbook.web.settings import ConfigurationError, Settings

    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        raise click.ClickException(str(error))
    if not settings.smtp_host:
        raise click.ClickException("no mail server: set LOOKBOOK_SMTP_HOST (and LOOKBOOK_SMTP_PORT, ...)")
    db = Database(settings.database_url)
    mailer = SmtpMailer.from_settings(settings)
    try:
        if loop:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            click.echo(f"delivering the outbox through {settings.smtp_host}:{settings.smtp_port}; Ctrl-C stops")
            try:
                deliver_until_stopped(db, mailer=mailer, interval=interval or settings.outbox_interval, stop=stop)
            except KeyboardInterrupt:
                pass
            return
        report = deliver_all_due(db, mailer=mailer)
        click.echo(report.summary())
    finally:
        db.dispose()


@main.group()
def orders() -> None:
    """Orders."""


@orders.command("expire")
def orders_expire() -> None:
    """Cancel orders whose payment window passed and release their stock."""
    from lookbook.db import Database
    from lookbook.orders.service import expire_unpaid_orders

    db = Database(get_paths().database_url)
    try:
        with db.session() as session:
            cancelled = expire_unpaid_orders(session)
    finally:
        db.dispose()
    click.echo(f"cancelled {cancelled} unpaid order(s) whose payment window had passed")


if __name__ == "__main__":
    main()
