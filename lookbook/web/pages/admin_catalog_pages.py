"""Admin pages: the catalog and its search index. How many products there are, how many the current model has
indexed; buttons that index the new products or import a catalog folder in the background (one job at a
time, see ``lookbook.catalog.jobs``), and the job's progress, which a small script refreshes from a JSON route
(reloading the page shows the same)."""

from __future__ import annotations

from pathlib import Path

from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from lookbook.accounts.roles import Role
from lookbook.catalog import jobs as catalog_jobs
from lookbook.web.api import services
from lookbook.web.pages.admin import admin_bp

EXTENSION = "lookbook_catalog_jobs"


def jobs() -> catalog_jobs.CatalogJobs:
    """This app's job runner; its state lives in the data directory, shared by every worker process."""
    runner = current_app.extensions.get(EXTENSION)
    if runner is None:
        runner = current_app.extensions.setdefault(
            EXTENSION, catalog_jobs.CatalogJobs(services().catalog.paths.home / "jobs"))
    return runner


def _state() -> dict:
    status = catalog_jobs.catalog_status(services().catalog)
    job = jobs().latest()
    progress = catalog_jobs.job_progress(job, status)
    return {"status": status, "job": job, "progress": progress}


def _json(state: dict) -> dict:
    status, job, progress = state["status"], state["job"], state["progress"]
    return {
        "catalog": {"products": status.products, "retired": status.retired, "with_photo": status.with_photo,
                    "indexed": status.indexed, "waiting": status.waiting, "model_version": status.model_version,
                    "model_error": status.model_error},
        "job": None if job is None else {**job.to_dict(),
                                         "progress": None if progress is None else {"done": progress[0],
                                                                                    "total": progress[1]}},
    }


@admin_bp.route("/catalog")
@admin_bp.access(Role.ADMIN)
def catalog_status(folder: str = "", errors: dict | None = None, code: int = 200):
    return render_template("admin/catalog.html", folder=folder, errors=errors or {}, **_state()), code


@admin_bp.route("/catalog/status.json")
@admin_bp.access(Role.ADMIN)
def catalog_status_json():
    return jsonify(_json(_state()))


@admin_bp.route("/catalog/index", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def catalog_index():
    try:
        catalog_jobs.start_indexing(jobs(), services().catalog)
    except catalog_jobs.CannotStart as error:
        flash(str(error), "error")
        return catalog_status(code=409)
    flash("Indexing has started; this page shows its progress.", "success")
    return redirect(url_for("admin.catalog_status"), code=303)


@admin_bp.route("/catalog/import", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def catalog_import():
    """Import a folder (or a products.csv / products.json file) that is on the server, like
    ``lookbook catalog import``. Only admins can name server paths, and the importer only reads them."""
    folder = request.form.get("folder", "").strip()
    problem = None
    if not folder:
        problem = "Give the path of a catalog folder on the server."
    elif "\x00" in folder or len(folder) > 4096:
        problem = "That is not a path."
    else:
        source = Path(folder).expanduser()
        if not source.exists():
            problem = f"{source} does not exist on the server."
    if problem:
        flash(problem, "error")
        return catalog_status(folder=folder, errors={"folder": [problem]}, code=422)
    try:
        catalog_jobs.start_import(jobs(), services().catalog, source.resolve())
    except catalog_jobs.CannotStart as error:
        flash(str(error), "error")
        return catalog_status(folder=folder, code=409)
    flash(f"The import of {source.resolve()} has started; this page shows when it is done. Index the new "
          "products afterwards so that photo search finds them.", "success")
    return redirect(url_for("admin.catalog_status"), code=303)
