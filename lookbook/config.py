"""Where Lookbook keeps its state.

Everything a catalog owns (database, product images, vectors, its own trained model) lives in one data
directory, ``LOOKBOOK_HOME``, so two catalogs never mix and a test can point at a temporary folder. The
shared default model lives in ``LOOKBOOK_MODELS`` (``models/`` at the repository root).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    home: Path
    models: Path

    @property
    def database(self) -> Path:
        return self.home / "lookbook.sqlite3"

    @property
    def database_url(self) -> str:
        return os.environ.get("LOOKBOOK_DATABASE_URL") or f"sqlite:///{self.database}"

    @property
    def images(self) -> Path:
        return self.home / "images"

    @property
    def index(self) -> Path:
        return self.home / "index"

    @property
    def catalog_model(self) -> Path:
        """A model trained for this catalog; preferred over the shared default when present."""
        return self.home / "model"

    @property
    def default_model(self) -> Path:
        return self.models / "default"


def get_paths(home: str | os.PathLike | None = None) -> Paths:
    """Resolve the data directory and the models directory from arguments or the environment."""
    home_path = Path(home or os.environ.get("LOOKBOOK_HOME") or Path.cwd() / "instance")
    models_path = Path(os.environ.get("LOOKBOOK_MODELS") or REPO_ROOT / "models")
    return Paths(home=home_path.resolve(), models=models_path.resolve())


def read_secret(name: str) -> str | None:
    """A secret from ``LOOKBOOK_<NAME>`` or from the file named by ``LOOKBOOK_<NAME>_FILE`` (Kubernetes style).

    Never logged: callers keep the value out of reprs and messages.
    """
    value = os.environ.get(f"LOOKBOOK_{name}")
    if value:
        return value
    path = os.environ.get(f"LOOKBOOK_{name}_FILE")
    if path:
        return Path(path).read_text().strip() or None
    return None
