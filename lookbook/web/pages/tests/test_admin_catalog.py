"""The catalog page: counts and index progress, background jobs that import a folder and index new products
(one at a time), the JSON status the page's script polls, and the running app searching the new index."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re

from conftest import garment_photo
from lookbook.catalog.jobs import CatalogJobs, JobState
from lookbook.catalog.service import search_by_image
from lookbook.web.pages.admin_catalog_pages import EXTENSION
from lookbook.web.pages.tests.conftest import submit
from lookbook.web.pages.tests.test_admin_support import flashes, text

NEW_ID = 500
PHOTO = garment_photo("trousers", "red", seed=NEW_ID)


def _source(folder):
    (folder / "images").mkdir(parents=True)
    (folder / "images" / f"{NEW_ID}.png").write_bytes(PHOTO)
    with open(folder / "products.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "image", "price", "stock", "category", "colour"])
        writer.writerow([NEW_ID, "Red trousers <deluxe>", f"images/{NEW_ID}.png", "30.00", "2", "Trousers", "Red"])
    return folder


def _status(browser) -> dict:
    response = browser.get("/admin/catalog/status.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


def _wait(app) -> JobState:
    state = app.extensions[EXTENSION].wait(timeout=120)
    assert state is not None and not state.running
    return state


def test_the_catalog_page_shows_the_counts_and_the_index_progress(app, admin_browser):
    html = text(admin_browser.get("/admin/catalog"))
    catalog = app.extensions["lookbook"].catalog
    assert re.search(r'data-field="products">12<', html) and re.search(r'data-field="indexed">12<', html)
    assert '<progress id="index-progress" max="12" value="12">' in html
    assert catalog.encoder.vector_version in html
    assert "No job has run yet" in html
    assert 'src="/assets/js/admin-catalog.js?v=' in html
    status = _status(admin_browser)
    assert status["catalog"] == {"products": 12, "retired": 0, "with_photo": 12, "indexed": 12, "waiting": 0,
                                 "model_version": catalog.encoder.vector_version, "model_error": None}
    assert status["job"] is None


def test_an_imported_folder_is_indexed_in_the_background_and_the_app_searches_it(app, admin_browser, tmp_path):
    folder = _source(tmp_path / "spring")
    started = submit(admin_browser, "/admin/catalog/import", {"folder": str(folder)})
    assert started.status_code == 303 and started.headers["Location"] == "/admin/catalog"
    imported = _wait(app)
    assert (imported.kind, imported.status, imported.source) == ("import", "succeeded", str(folder.resolve()))
    assert imported.summary.startswith("1 imported, 0 updated, 0 unchanged, 0 skipped")
    page = text(admin_browser.get("/admin/catalog"))
    assert "1 imported" in page and "succeeded" in page
    assert _status(admin_browser)["catalog"]["waiting"] == 1

    catalog = app.extensions["lookbook"].catalog
    assert NEW_ID not in [h.id for h in search_by_image(catalog, PHOTO, k=13, include_self=True)]
    indexing = submit(admin_browser, "/admin/catalog/index")
    assert indexing.status_code == 303
    indexed = _wait(app)
    assert (indexed.kind, indexed.status, indexed.baseline, indexed.target) == ("index", "succeeded", 12, 13)
    assert "embedded 1 product image(s); 12 already current; 13 product(s) in the search index" in indexed.summary
    status = _status(admin_browser)
    assert status["catalog"]["indexed"] == 13 and status["catalog"]["waiting"] == 0
    assert status["job"]["status"] == "succeeded" and status["job"]["progress"] == {"done": 1, "total": 1}
    assert search_by_image(catalog, PHOTO, k=1, include_self=True)[0].id == NEW_ID  # the running app's index
    assert '<progress id="index-progress" max="13" value="13">' in text(admin_browser.get("/admin/catalog"))


def test_a_missing_folder_gets_a_message_and_starts_nothing(app, admin_browser, tmp_path):
    for folder, message in ((str(tmp_path / "nowhere"), "does not exist on the server"),
                            ("", "Give the path of a catalog folder")):
        response = submit(admin_browser, "/admin/catalog/import", {"folder": folder})
        assert response.status_code == 422
        assert message in text(response) and 'aria-describedby="folder-error"' in text(response)
    assert _status(admin_browser)["job"] is None
    not_a_catalog = submit(admin_browser, "/admin/catalog/import", {"folder": str(tmp_path)})
    assert not_a_catalog.status_code == 303
    failed = _wait(app)
    assert failed.status == "failed" and "no catalog found" in failed.error
    assert "no catalog found" in text(admin_browser.get("/admin/catalog"))


def test_only_one_job_runs_at_a_time_and_a_job_whose_process_died_shows_as_interrupted(app, admin_browser):
    admin_browser.get("/admin/catalog")
    jobs: CatalogJobs = app.extensions[EXTENSION]
    jobs.directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(jobs.lock_file, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as another worker process running a job would
        busy = submit(admin_browser, "/admin/catalog/index")
        assert busy.status_code == 409 and "still running" in text(busy)
    finally:
        os.close(fd)
    jobs.state_file.write_text(json.dumps({"id": "x", "kind": "index", "status": "running",
                                           "started_at": "2026-01-01T00:00:00+00:00", "baseline": 0, "target": 12}))
    state = _status(admin_browser)["job"]
    assert state["status"] == "interrupted" and "start it again" in state["error"]
    assert "interrupted" in text(admin_browser.get("/admin/catalog"))
    assert "Indexing has started" in " ".join(flashes(admin_browser.get(
        submit(admin_browser, "/admin/catalog/index").headers["Location"])))
    assert _wait(app).status == "succeeded"
