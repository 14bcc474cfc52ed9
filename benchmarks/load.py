"""HTTP load on `lookbook serve`: photo search and catalog browsing from concurrent clients (locust, loopback).

Builds the demo catalog (Fashion-MNIST articles + Saleor's 15 clothing products, the same catalog as
`lookbook demo`) once in a persistent folder and reuses it, makes the query photos once (Saleor's
clothing photos re-encoded as 800 px JPEGs, like a phone upload, plus Fashion-MNIST *test* articles),
starts `lookbook serve` on a free loopback port with rate limits off (LOOKBOOK_RATE_LIMITS=0), waits for
/readyz, warms every worker up, then runs each scenario on its own (one after the other, same server) with
locust, headless, N users with no think time for a fixed time, and reads locust's CSV stats:

    search    POST /api/v1/search/image     a photo upload per request; k and filters vary
    listing   GET  /api/v1/products         pages, filters, words in the name and sorting vary
    product   GET  /api/v1/products/{id}    product pages (not run by default)

The server is stopped after each configuration, also on Ctrl-C or an error; every run is bounded in
time. Prints a table (requests/s, p50, p99, failures, target met); --markdown FILE writes the results
as the "HTTP load (lookbook serve)" section of FILE. Locust runs on the same machine as the server and
takes its share of the cores.

    python benchmarks/load.py                                     # 2 workers x 4 threads, 60 s per scenario
    python benchmarks/load.py --duration 10                       # a quick look
    python benchmarks/load.py --configs 2x4,2x8,3x4 --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import _common as C

BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent
LOCUSTFILE = BENCHMARKS / "load_locustfile.py"
DEFAULT_FOLDER = REPO_ROOT / "data" / "load-benchmark"  # data/ is ignored by git
SECTION = "## HTTP load (lookbook serve)"
BEGIN, END = "<!-- benchmarks/load.py: begin -->", "<!-- benchmarks/load.py: end -->"
PHOTO_SIDE = 800          # query photos: the long side, like a phone upload resized by the app
PHOTO_QUALITY = 85
FASHION_MNIST_QUERIES = 40
SALEOR_PRODUCTS = 15


@dataclass(frozen=True)
class Scenario:
    name: str
    user_class: str         # in load_locustfile.py
    request: str            # the locust request name the target applies to
    min_rps: float | None   # targets of the issue (None: no target)
    max_p99_ms: float | None


SCENARIOS = {
    "search": Scenario("search", "PhotoSearch", "POST /api/v1/search/image", 60, 250),
    "listing": Scenario("listing", "ProductListing", "GET /api/v1/products", 300, 100),
    "product": Scenario("product", "ProductPage", "GET /api/v1/products/{id}", None, None),
}


# ------------------------------------------------------------------------------------------ the catalog

def prepare_catalog(home: Path, fashion_mnist_items: int, rebuild: bool) -> dict:
    """The demo catalog in `home` (built once, reused), indexed with the current model. Returns facts."""
    os.environ["LOOKBOOK_HOME"] = str(home)  # for anything below that reads the environment
    from lookbook.catalog.indexing import index_catalog
    from lookbook.catalog.service import Catalog, count_products
    from lookbook.config import get_paths
    from lookbook.demo.run import build_demo_catalog

    marker = home / "benchmark-catalog.json"
    spec = {"fashion_mnist_items": fashion_mnist_items, "version": 1}
    if rebuild and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(get_paths(home))
    try:
        built = marker.is_file() and json.loads(marker.read_text()) == spec
        if built and count_products(catalog) == fashion_mnist_items + SALEOR_PRODUCTS:
            print(f"reusing the demo catalog in {home}", file=sys.stderr)
        else:
            if count_products(catalog):
                sys.exit(f"{home} holds another catalog; pass --rebuild (or another --folder)")
            start = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):  # the importer's summaries: progress, not results
                build_demo_catalog(catalog, fashion_mnist_items=fashion_mnist_items)
            marker.write_text(json.dumps(spec))
            print(f"imported the demo catalog in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        start = time.perf_counter()
        report = index_catalog(db=catalog.db, store=catalog.store, encoder=catalog.encoder,
                               directory=catalog.paths.index, colour_weight=catalog.colour_weight)
        print(report.summary().splitlines()[0] + f" ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
        if report.failed:
            print(report.summary(), file=sys.stderr)
        return {"products": count_products(catalog), "indexed": report.indexed,
                "model": catalog.encoder.info.version}
    finally:
        catalog.close()


def shopper_vocabulary(home: Path) -> dict:
    """What the load's shoppers pick from: product ids, categories, words of product names, prices."""
    from collections import Counter

    from sqlalchemy import select

    from lookbook.catalog.models import Product
    from lookbook.config import get_paths
    from lookbook.db import Database

    db = Database(get_paths(home).database_url, migrate=False)
    try:
        with db.session() as session:
            rows = session.execute(select(Product.id, Product.name, Product.category, Product.gender,
                                          Product.colour, Product.labels, Product.price_minor)).all()
    finally:
        db.dispose()
    categories, words, genders, colours, names = Counter(), Counter(), Counter(), Counter(), Counter()
    for _, name, category, gender, colour, labels, _ in rows:
        for value in (category, (labels or {}).get("subCategory"), (labels or {}).get("masterCategory")):
            if value:
                categories[value] += 1
        for word in re.findall(r"[A-Za-z][A-Za-z-]{2,}", name or ""):
            words[word.lower()] += 1
        phrase = " ".join(re.findall(r"[A-Za-z][A-Za-z-]+", name or "")).lower()
        if phrase:
            names[phrase] += 1
        if gender:
            genders[gender] += 1
        if colour:
            colours[colour] += 1
    prices = sorted(p for *_, p in rows if p is not None)
    return {
        "product_ids": sorted(r[0] for r in rows),
        "categories": sorted(categories),
        "words": sorted(words),
        "names": sorted(names),
        "genders": sorted(genders),
        "colours": sorted(colours),
        "price_minor": [prices[0], prices[len(prices) // 2], prices[-1]] if prices else [],
    }


def prepare_queries(folder: Path, home: Path) -> dict:
    """Query photos (made once) and the shoppers' vocabulary, in `folder` for load_locustfile.py."""
    from PIL import Image

    from lookbook.datasets import fashion_mnist, saleor

    spec = {"side": PHOTO_SIDE, "quality": PHOTO_QUALITY, "fashion_mnist": FASHION_MNIST_QUERIES, "version": 1}
    marker = folder / "queries.json"
    if not (marker.is_file() and json.loads(marker.read_text()) == spec):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for product in saleor.load():
            for photo in product.photos:  # every view: main photos too, but re-encoded (other bytes)
                image = Image.open(photo)
                image = image.convert("RGBA") if image.mode in ("P", "LA", "RGBA") else image.convert("RGB")
                if image.mode == "RGBA":  # transparent studio background -> white, as a camera sees it
                    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
                    image = Image.alpha_composite(white, image)
                image = image.convert("RGB")
                image.thumbnail((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.LANCZOS)
                image.save(folder / f"saleor-{photo.stem.removeprefix('saleordemoproduct_')}.jpg", "JPEG",
                           quality=PHOTO_QUALITY)
        test = fashion_mnist.load("test")  # the test split: none of these articles is in the catalog
        for i in range(FASHION_MNIST_QUERIES):
            Image.fromarray(test.images[i]).save(folder / f"fashion-mnist-test-{i}.png")
        marker.write_text(json.dumps(spec))
    (folder / "vocabulary.json").write_text(json.dumps(shopper_vocabulary(home)))
    jpegs, pngs = sorted(folder.glob("*.jpg")), sorted(folder.glob("*.png"))
    return {"jpegs": len(jpegs), "pngs": len(pngs),
            "jpeg_kb": sum(p.stat().st_size for p in jpegs) / max(1, len(jpegs)) / 1024}


# ------------------------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lookbook_command() -> list[str]:
    script = Path(sys.executable).parent / "lookbook"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lookbook.cli"]


class Server:
    """`lookbook serve` in its own process group; always stopped by `stop()` (or leaving the `with`)."""

    def __init__(self, home: Path, workers: int, threads: int, log_path: Path, extra_env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = lookbook_command() + ["serve", "--host", "127.0.0.1", "--port", str(self.port),
                                             "--workers", str(workers), "--threads", str(threads)]
        env = {k: v for k, v in os.environ.items()
               if k not in ("LOOKBOOK_DATABASE_URL", "LOOKBOOK_HTTPS", "LOOKBOOK_RATE_LIMIT_STORAGE")}
        env.update(extra_env, LOOKBOOK_HOME=str(home), LOOKBOOK_RATE_LIMITS="0")
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 (open while the server runs; closed by stop())
        self.process = subprocess.Popen(self.command, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 180) -> dict:
        """Poll /readyz until it answers 200 (it loads the search index)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lookbook serve exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=30) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                last = f"{error.code} {error.read()[:200]!r}"
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                last = str(error)
            time.sleep(0.25)
        raise RuntimeError(f"/readyz did not answer 200 in {timeout:.0f} s (last: {last}):\n{self.log_tail()}")

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        import psutil

        try:
            master = psutil.Process(self.process.pid)
            return [master.pid] + [c.pid for c in master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)  # gunicorn: graceful stop of master and workers
                self.process.wait(timeout=30)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        try:  # a worker that outlived its master (should not happen) goes too: same process group
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.log.close()


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (not idle, not waiting for I/O)."""
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    mime = "image/jpeg" if path.suffix == ".jpg" else "image/png"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: {mime}\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def warm_up(url: str, queries: Path, workers: int, threads: int) -> float:
    """Concurrent rounds of searches and listings, so that every worker has loaded its index and model."""
    photos = sorted(queries.glob("*.jpg"))[:4] + sorted(queries.glob("*.png"))[:2]
    bodies = [_multipart(p) for p in photos]

    def one(i: int) -> None:
        if i % 2:
            urllib.request.urlopen(url + f"/api/v1/products?page={i % 7 + 1}", timeout=60).read()
        else:
            body, content_type = bodies[i % len(bodies)]
            request = urllib.request.Request(url + "/api/v1/search/image", data=body, method="POST",
                                             headers={"Content-Type": content_type})
            urllib.request.urlopen(request, timeout=60).read()

    start = time.perf_counter()
    concurrent = workers * threads * 2
    with ThreadPoolExecutor(concurrent) as pool:
        for _ in range(3):
            list(pool.map(one, range(concurrent * 2)))
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------- locust

@dataclass
class Result:
    config: str
    scenario: Scenario
    requests: int
    failures: int
    rps: float
    p50: float
    p99: float
    mean: float
    max: float
    failure_lines: list[str]
    server_cpu: float       # cores used by the server (CPU seconds / wall seconds)
    client_cpu: float
    cpu_ms: float           # server CPU time per request (all its processes and threads), ms
    other_cpu: float        # cores kept busy by everything else on the machine during the run

    def met(self) -> str:
        s = self.scenario
        if s.min_rps is None:
            return "-"
        missed = [name for name, ok in (("requests/s", self.rps >= s.min_rps), ("p99", self.p99 < s.max_p99_ms),
                                         ("errors", self.failures == 0)) if not ok]
        return "yes" if not missed else f"**no** ({', '.join(missed)} missed)"


def run_locust(scenario: Scenario, server: Server, args, prefix: Path, queries: Path, config: str) -> Result:
    command = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless",
               "-u", str(args.users), "-r", str(args.spawn_rate or args.users), "-t", f"{args.duration}s",
               "--host", server.url, "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
               "--loglevel", "WARNING", scenario.user_class]
    env = dict(os.environ, LOOKBOOK_LOAD_DATA=str(queries))
    server_pids = server.pids()
    server_before = cpu_seconds(server_pids)
    machine_before, me_before = machine_busy_seconds(), sum(os.times()[:2])
    started = time.monotonic()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(prefix.with_suffix(".log"), "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            process.wait(timeout=args.duration + 90)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"locust ran {args.duration + 90} s; stopped") from None
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # locust: the only child waited for meanwhile
    client_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    wall = time.monotonic() - started
    server_cpu = cpu_seconds(server_pids) - server_before
    others = (machine_busy_seconds() - machine_before) - server_cpu - client_cpu - (sum(os.times()[:2]) - me_before)
    if server.process.poll() is not None:
        raise RuntimeError(f"lookbook serve exited during the {scenario.name} run:\n{server.log_tail()}")
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.is_file():
        raise RuntimeError(f"locust wrote no stats ({stats_path}); its log:\n"
                           + prefix.with_suffix(".log").read_text(errors="replace")[-3000:])
    with open(stats_path, newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    row = rows.get(scenario.request)
    if row is None:
        raise RuntimeError(f"no {scenario.request!r} row in {stats_path}: {sorted(rows)}")
    failure_lines = []
    failures_path = Path(f"{prefix}_failures.csv")
    if failures_path.is_file():
        with open(failures_path, newline="") as f:
            failure_lines = [f"{r['Occurrences']}x {r['Method']} {r['Name']}: {r['Error']}" for r in csv.DictReader(f)]
    def number(key: str) -> float:
        return float(row[key]) if row[key] not in ("", "N/A") else float("nan")

    return Result(config=config, scenario=scenario, requests=int(row["Request Count"]),
                  failures=int(row["Failure Count"]), rps=number("Requests/s"), p50=number("50%"),
                  p99=number("99%"), mean=number("Average Response Time"), max=number("Max Response Time"),
                  failure_lines=failure_lines, server_cpu=server_cpu / wall, client_cpu=client_cpu / wall,
                  cpu_ms=server_cpu * 1000 / max(1, int(row["Request Count"])), other_cpu=max(0.0, others / wall))


# ------------------------------------------------------------------------------------------ reporting

def parse_configs(text: str) -> list[tuple[int, int]]:
    """'2x4,3x4' -> [(2, 4), (3, 4)]: gunicorn workers x threads per worker."""
    configs = []
    for item in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", item)
        if not match or min(int(match[1]), int(match[2])) < 1:
            raise argparse.ArgumentTypeError(f"expected WORKERSxTHREADS, e.g. 2x4, not {item!r}")
        configs.append((int(match[1]), int(match[2])))
    return configs


def parse_env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value


def parse_scenarios(text: str) -> list[Scenario]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"scenarios are {', '.join(SCENARIOS)}; not {', '.join(unknown)}")
    return [SCENARIOS[n] for n in names]


def table(results: list[Result]) -> str:
    rows = [[r.config, r.scenario.request, f"{r.requests:,}", f"{r.rps:.1f}", f"{r.p50:.0f}", f"{r.p99:.0f}",
             f"{r.mean:.1f}", f"{r.max:.0f}", str(r.failures), f"{r.server_cpu:.2f} / {r.client_cpu:.2f}",
             f"{r.cpu_ms:.1f}", f"{r.other_cpu:.2f}", target_text(r.scenario), r.met()] for r in results]
    return C.markdown_table(["workers x threads", "request", "requests", "requests/s", "p50 ms", "p99 ms",
                             "mean ms", "max ms", "failures", "cores server / locust", "server CPU ms per request",
                             "cores others", "target", "met?"], rows, align="llrrrrrrrrrrll")


def target_text(s: Scenario) -> str:
    return f"≥ {s.min_rps:.0f}/s, p99 < {s.max_p99_ms:.0f} ms, 0 errors" if s.min_rps is not None else "-"


def machine_facts() -> str:
    """lscpu's model name, the usable cores and the RAM, plus the versions of the serving stack."""
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
        model = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "")
    except (OSError, subprocess.SubprocessError):
        pass
    line = C.machine_line()
    if model:
        line = re.sub(r"^Machine: [^,]*", f"Machine: {model}", line)
    versions = ", ".join(f"{n} {C._version(n)}" for n in ("gunicorn", "flask", "sqlalchemy", "locust"))
    return f"{line}; {versions}"


def code_version() -> str:
    """The commit measured, and whether the work tree had changes (read-only: no index refresh)."""
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, env=env, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, env=env,
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "code: not a git checkout"
    return f"code: commit {head}" + (" plus uncommitted changes in the work tree" if dirty else "")


def section_text(results: list[Result], args, catalog: dict, photos: dict, machine: str, command: str) -> str:
    scenarios = ", ".join(s.name for s in args.scenarios)
    lines = [
        f"`{command}` — measured {date.today().isoformat()}, {code_version()}.",
        "",
        f"- {machine}",
        (f"- Server: `lookbook serve --host 127.0.0.1 --port <free port> --workers W --threads T` (gunicorn "
         f"gthread, access log on, as shipped) with `LOOKBOOK_RATE_LIMITS=0` (the search endpoint's rate limit, "
         f"120 per minute per address, would otherwise answer 429 to one loopback client); SQLite database; the "
         f"demo catalog of `lookbook demo`: {catalog['products']:,} products "
         f"({catalog['products'] - SALEOR_PRODUCTS:,} Fashion-MNIST articles + {SALEOR_PRODUCTS} Saleor "
         f"products), {catalog['indexed']:,} in the search index, model {catalog['model']}."
         + (f" Extra server environment: {', '.join(f'`{k}={v}`' for k, v in args.server_env)}."
            if args.server_env else "")),
        (f"- Client: locust (FastHttpUser, keep-alive) on the same machine over loopback, {args.users} users, "
         f"no think time (each user sends its next request when the last one answered), {args.duration} s per "
         f"scenario ({scenarios}), one scenario at a time against a server started and warmed up once per "
         f"configuration. Locust "
         f"shares the 2 cores with the server: \"cores\" is how many cores each side kept busy on average "
         f"(2.00 = both), and \"server CPU ms per request\" is the server's CPU time (all its processes and "
         f"threads) divided by the requests answered; \"cores others\" is what every other process on the "
         f"machine used meanwhile (0.00 = the machine was ours)."),
        (f"- Search: a photo per request, {photos['jpegs']} phone-size JPEGs (Saleor's clothing photos, every "
         f"view, re-encoded at {PHOTO_SIDE} px q{PHOTO_QUALITY}, mean {photos['jpeg_kb']:.0f} KB; 3 in 4 "
         f"requests) and {photos['pngs']} Fashion-MNIST test articles (28 px PNG, not in the catalog); "
         f"k is 8 mostly, sometimes 4, 12 or 24; 1 in 5 requests adds a category or in-stock filter."),
        ("- Listing: pages (mostly the first few, sometimes deep), 24 or 48 per page, sorting by name, price or "
         "newest, category, price-range and in-stock filters and words of product names, alone and combined."),
        ("- Latencies are locust's (from request sent to response read; locust rounds times above 100 ms to "
         "10 ms); requests/s is over the whole run."),
        "",
        table(results),
        "",
    ]
    failures = [f"- {r.config} {r.scenario.name}: " + "; ".join(r.failure_lines[:5])
                for r in results if r.failure_lines]
    if failures:
        lines += ["Failures:", "", *failures, ""]
    return "\n".join(lines).rstrip() + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace the generated block of the section (or append the section); the rest of the file stays."""
    current = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        new = head + block + tail
    else:
        new = current.rstrip("\n") + f"\n\n{SECTION}\n\n{block}\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new)
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER,
                        help=f"kept between runs: the catalog (home/), query photos (queries/) and each run's "
                             f"logs and locust CSVs (runs/) (default: {DEFAULT_FOLDER.relative_to(REPO_ROOT)})")
    parser.add_argument("--fashion-mnist-items", type=int, default=12_000,
                        help="Fashion-MNIST articles in the catalog (default: 12000, as `lookbook demo`)")
    parser.add_argument("--rebuild", action="store_true", help="build the catalog anew")
    parser.add_argument("--configs", type=parse_configs, default=parse_configs("2x4"), metavar="WxT,...",
                        help="gunicorn workers x threads per worker to measure, comma-separated (default: 2x4, "
                             "`lookbook serve`'s default)")
    parser.add_argument("--scenarios", type=parse_scenarios, default=parse_scenarios("search,listing"),
                        help=f"comma-separated, of {', '.join(SCENARIOS)} (default: search,listing)")
    parser.add_argument("--users", type=int, default=16, help="concurrent locust users (default: 16)")
    parser.add_argument("--spawn-rate", type=float, default=None, help="users started per second (default: all at once)")
    parser.add_argument("--duration", type=int, default=60, help="seconds per scenario (default: 60)")
    parser.add_argument("--server-env", type=parse_env, action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server, e.g. OPENBLAS_NUM_THREADS=1 (repeatable)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="write the results as the 'HTTP load (lookbook serve)' section of this file "
                             "(e.g. docs/benchmarks.md; only that section's generated block changes)")
    args = parser.parse_args()
    if args.duration < 1 or args.users < 1:
        parser.error("--duration and --users must be at least 1")

    C.warn_if_busy()
    folder = args.folder.resolve()
    home, queries = folder / "home", folder / "queries"
    run_dir = folder / "runs" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    catalog = prepare_catalog(home, args.fashion_mnist_items, args.rebuild)
    photos = prepare_queries(queries, home)
    print(f"catalog: {catalog['products']:,} products, {catalog['indexed']:,} indexed; queries: {photos['jpegs']} "
          f"JPEGs (mean {photos['jpeg_kb']:.0f} KB) + {photos['pngs']} PNGs; logs in {run_dir}", file=sys.stderr)
    machine = machine_facts()  # before the load: its load average is the machine's, not ours

    results: list[Result] = []
    for workers, threads in args.configs:
        config = f"{workers} x {threads}" + "".join(f", {k}={v}" for k, v in args.server_env)
        with Server(home, workers, threads, run_dir / f"serve-{workers}x{threads}.log", dict(args.server_env)) as server:
            ready = server.wait_ready()
            warm_s = warm_up(server.url, queries, workers, threads)
            print(f"\n{config}: serving on {server.url}, ready ({ready}), warmed up in {warm_s:.1f} s",
                  file=sys.stderr)
            for scenario in args.scenarios:
                prefix = run_dir / f"{workers}x{threads}-{scenario.name}"
                result = run_locust(scenario, server, args, prefix, queries, config)
                results.append(result)
                print(f"  {scenario.name}: {result.rps:.1f} requests/s, p50 {result.p50:.0f} ms, p99 "
                      f"{result.p99:.0f} ms, {result.failures} failures of {result.requests:,}; cores: server "
                      f"{result.server_cpu:.2f} / locust {result.client_cpu:.2f}, server CPU {result.cpu_ms:.1f} ms "
                      f"per request; other processes {result.other_cpu:.2f} cores; target met: {result.met()}",
                      file=sys.stderr)
                for line in result.failure_lines[:5]:
                    print(f"    {line}", file=sys.stderr)

    command = "python benchmarks/load.py " + " ".join(sys.argv[1:])
    print(f"\nHTTP load on lookbook serve: {args.users} users, {args.duration} s per scenario, loopback.\n")
    print(table(results))
    print()
    print(machine)
    if args.markdown:
        write_section(args.markdown, section_text(results, args, catalog, photos, machine, command.strip()))
        print(f"wrote the '{SECTION[3:]}' section of {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # unwinds: the server is stopped
    try:
        main()
    except KeyboardInterrupt:  # the server was stopped on the way out of its `with`
        sys.exit("interrupted")
