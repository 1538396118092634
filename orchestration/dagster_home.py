"""The Dagster instance ``make dev`` and ``make run`` share, so runs from either show in the UI.

``DAGSTER_HOME`` (default ``warehouse/.dagster``, next to the warehouse) gets the project's
``orchestration/dagster.yaml``: the ``warehouse`` pool's limit of 1 and one run at a time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ingestion.warehouse import warehouse_path

INSTANCE_SETTINGS = Path(__file__).with_name("dagster.yaml")


def ensure_dagster_home() -> Path:
    """Create DAGSTER_HOME with the project's dagster.yaml (kept in step with the repository)."""
    home = Path(os.environ.get("DAGSTER_HOME") or warehouse_path().parent / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INSTANCE_SETTINGS, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home
