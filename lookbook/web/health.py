"""Probes for a process manager or Kubernetes: alive, and ready to serve searches."""

from __future__ import annotations

import marshmallow as ma
from sqlalchemy import text

from lookbook.web.api import PUBLIC, ApiBlueprint, error_response, services

health_bp = ApiBlueprint("health", __name__, description="Liveness and readiness probes")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)
    products_indexed = ma.fields.Integer()


@health_bp.route("/healthz", methods=["GET"])
@health_bp.access(PUBLIC)
@health_bp.response(200, HealthSchema)
def healthz():
    """The process is alive."""
    return {"status": "ok"}


@health_bp.route("/readyz", methods=["GET"])
@health_bp.access(PUBLIC)
@health_bp.response(200, HealthSchema)
@health_bp.doc(responses={"503": "SERVICE_UNAVAILABLE"})
def readyz():
    """The database answers and the search index is loaded (loading it if needed)."""
    try:
        with services().db.session() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return error_response(503, "database_unavailable", "the database does not answer")
    try:
        indexed = len(services().catalog.index)
    except Exception as error:
        return error_response(503, "index_unavailable", f"the search index is not loaded: {type(error).__name__}")
    return {"status": "ready", "products_indexed": indexed}
