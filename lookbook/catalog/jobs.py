"""Long catalog jobs (indexing new products, importing a catalog folder) run in a background thread of the web
process, one at a time for a whole data directory.

Flask-free. A job's state is a small JSON file in the data directory, so every web worker process shows the
same job; a lock file held (``flock``) for as long as the job runs keeps a second job from starting in any of
them, and a job whose process died is reported as interrupted rather than running forever.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from lookbook.catalog.models import Product, ProductVector
from lookbook.vision.encoder import ModelNotFoundError

log = logging.getLogger(__name__)

RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"
KINDS = {"index": "Index new products", "import": "Import a catalog"}


class CannotStart(Exception):
    """A job cannot start now; the message says why."""


class JobBusy(CannotStart):
    """Another catalog job is running; ``state`` says which."""

    def __init__(self, state: JobState | None):
        self.state = state
        what = KINDS.get(state.kind, state.kind).lower() if state else "a catalog job"
        super().__init__(f"another job ({what}) is still running; wait for it to finish")


@dataclass(frozen=True)
class JobState:
    id: str
    kind: str                        # "index" or "import"
    status: str                      # running, succeeded, failed, interrupted
    started_at: str                  # ISO 8601, UTC
    finished_at: str | None = None
    source: str | None = None        # the folder of an import
    baseline: int | None = None      # index: products indexed with the current model when it started
    target: int | None = None        # index: products with a photo when it started
    summary: str | None = None       # the result, as the CLI prints it
    error: str | None = None

    @property
    def title(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def to_dict(self) -> dict:
        return {**asdict(self), "title": self.title}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CatalogJobs:
    """Start a catalog job in a thread, read the latest job's state, wait for it (tests)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.state_file = self.directory / "catalog-job.json"
        self.lock_file = self.directory / "catalog-job.lock"
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    # -- reading ----------------------------------------------------------------------------------------------

    def _read(self) -> JobState | None:
        try:
            data = json.loads(self.state_file.read_text())
            return JobState(**data)
        except (OSError, ValueError, TypeError):
            return None

    def _write(self, state: JobState) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(f"{self.state_file.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, self.state_file)

    def _lock_is_held(self) -> bool:
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def latest(self) -> JobState | None:
        """The running job, or the last one that ran; a "running" job whose process is gone is interrupted."""
        state = self._read()
        if state is not None and state.running and not self._lock_is_held():
            state = self._read()  # it may just have finished
            if state is not None and state.running:
                state = JobState(**{**asdict(state), "status": INTERRUPTED, "error": "the web process stopped "
                                    "while the job ran; start it again"})
        return state

    # -- running ----------------------------------------------------------------------------------------------

    def start(self, kind: str, work: Callable[[], str], **details) -> JobState:
        """Run ``work`` (answers a summary; raises on failure) in a thread, unless a job is already running."""
        with self._guard:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise JobBusy(self._read()) from None
            state = JobState(id=uuid.uuid4().hex[:12], kind=kind, status=RUNNING, started_at=_now(), **details)
            try:
                self._write(state)
                thread = threading.Thread(target=self._run, args=(state, work, fd), name=f"catalog-{kind}-job",
                                          daemon=True)
                thread.start()
            except BaseException:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                raise
            self._thread = thread
            return state

    def _run(self, state: JobState, work: Callable[[], str], fd: int) -> None:
        try:
            try:
                summary = work()
            except Exception as error:  # the job's result: shown on the catalog page
                message = str(error) or type(error).__name__
                log.exception("catalog %s job %s failed", state.kind, state.id)
                self._write(JobState(**{**asdict(state), "status": FAILED, "finished_at": _now(), "error": message}))
            else:
                self._write(JobState(**{**asdict(state), "status": SUCCEEDED, "finished_at": _now(),
                                        "summary": summary}))
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def wait(self, timeout: float | None = None) -> JobState | None:
        """Wait for this process's job thread to end (tests, shutdown); answers the latest state."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.latest()


# ---- what the catalog page shows ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CatalogStatus:
    products: int
    retired: int
    with_photo: int
    indexed: int                # products whose current photo has a vector from the current model
    model_version: str | None   # None: no model yet
    model_error: str | None = None

    @property
    def waiting(self) -> int:
        return max(self.with_photo - self.indexed, 0)


def catalog_status(catalog) -> CatalogStatus:
    """Counts of the catalog and of what the current model has indexed."""
    try:
        version, problem = catalog.encoder.vector_version, None
    except ModelNotFoundError as error:  # no model trained or installed yet: the counts still help
        version, problem = None, str(error)
    with catalog.db.session() as session:
        products = session.scalar(select(func.count()).select_from(Product)) or 0
        retired = session.scalar(select(func.count()).select_from(Product).where(Product.retired_at.is_not(None))) or 0
        with_photo = session.scalar(select(func.count()).select_from(Product).where(Product.image_key.is_not(None))) or 0
        indexed = 0
        if version is not None:
            indexed = session.scalar(
                select(func.count()).select_from(Product)
                .join(ProductVector, ProductVector.product_id == Product.id)
                .where(Product.image_key.is_not(None), ProductVector.model_version == version,
                       ProductVector.image_sha256 == Product.image_sha256)) or 0
    return CatalogStatus(int(products), int(retired), int(with_photo), int(indexed), version, problem)


def job_progress(state: JobState | None, status: CatalogStatus) -> tuple[int, int] | None:
    """(done, total) of an index job, from the catalog's counts; None when it cannot be counted (an import)."""
    if state is None or state.kind != "index" or state.baseline is None or state.target is None:
        return None
    total = max(state.target - state.baseline, 0)
    if not state.running:
        return (total, total)
    return (min(max(status.indexed - state.baseline, 0), total), total)


def start_indexing(jobs: CatalogJobs, catalog) -> JobState:
    """Embed the photos the current model has not embedded yet, then bring the search index up to date.

    Like ``indexing.index_catalog`` (which the CLI runs), in two steps: the long embedding runs beside the
    shop's requests; the short index update holds the catalog's lock, so an image uploaded meanwhile is not
    lost from the index, and the running app reloads the saved index (its manifest changed).
    """
    from lookbook.catalog.indexing import embed_pending

    status = catalog_status(catalog)
    if status.model_version is None:
        raise CannotStart(status.model_error or "there is no model to index with yet")

    def work() -> str:
        report = embed_pending(db=catalog.db, store=catalog.store, encoder=catalog.encoder, progress=False)
        report.indexed = catalog.update_index()
        return report.summary()

    return jobs.start("index", work, baseline=status.indexed, target=status.with_photo)


def start_import(jobs: CatalogJobs, catalog, source: Path) -> JobState:
    """Import a catalog folder (or products file) on the server, as ``lookbook catalog import`` does."""
    from lookbook.catalog.importer import import_catalog

    def work() -> str:
        report = import_catalog(source, db=catalog.db, store=catalog.store, progress=False)
        return report.summary()

    return jobs.start("import", work, source=str(source))
