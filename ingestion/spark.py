"""The Spark engine's folder and session (NORTHSTAR_TARGET=spark).

Spark runs in local mode from the ``pyspark`` package (the engine a cluster runs). Everything
it keeps lives in one folder, ``NORTHSTAR_SPARK_DIR`` (default ``warehouse/spark``):

- ``raw/``: dlt's ``filesystem`` destination, Parquet files ``raw/<dataset>/<table>/<load id>.<file id>.parquet``;
- ``spark-warehouse/``: the tables dbt builds (Spark's managed tables, Parquet);
- ``metastore_db/``: the Hive metastore (embedded Derby) that names the databases, the external
  tables over ``raw/`` and dbt's tables and views. Derby admits one JVM at a time: one process
  (the nightly, a test, a developer's dbt) uses a Spark folder at once.

The session's settings have one home, the ``spark`` output of ``profiles.yml``
(``server_side_parameters``, which dbt-spark's ``session`` method passes to the
``SparkSession`` builder). :func:`spark_session` builds the same session from the same settings,
so a process that opens Spark before dbt (a test, the benchmark) gets the session dbt would have
made, and dbt then reuses it (``getOrCreate``).
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import yaml

PROFILES = Path(__file__).resolve().parents[1] / "profiles.yml"
DEFAULT_SPARK_DIR = "warehouse/spark"


def spark_dir() -> Path:
    """Absolute path of the Spark folder (created). Exported back into NORTHSTAR_SPARK_DIR, so
    that dbt's profile, rendered later in another working directory, names the same folder."""
    path = Path(os.environ.get("NORTHSTAR_SPARK_DIR") or DEFAULT_SPARK_DIR).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["NORTHSTAR_SPARK_DIR"] = str(path)
    return path


def raw_root() -> Path:
    """Where dlt writes the raw Parquet files: one folder per dataset (``raw_<source>``)."""
    path = spark_dir() / "raw"
    path.mkdir(parents=True, exist_ok=True)
    return path


def spark_settings() -> dict[str, str]:
    """The Spark settings of profiles.yml's ``spark`` output, rendered with the environment."""
    spark_dir()
    text = PROFILES.read_text()
    environment = jinja2.Environment()
    # dbt's own filters on rendered values (profiles.yml's other outputs use them)
    environment.filters.update({name: (lambda value: value) for name in ("as_number", "as_bool", "as_native")})
    rendered = environment.from_string(text).render(env_var=lambda name, default=None: os.environ.get(name, default))
    output = yaml.safe_load(rendered)["northstar"]["outputs"]["spark"]
    return {str(key): str(value) for key, value in output.get("server_side_parameters", {}).items()}


def spark_session():
    """The process's SparkSession (Hive support, profiles.yml's settings), started on first use.

    Fails with Spark's own message when Java or Spark cannot start: never a silent fallback.
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_settings().items():
        builder = builder.config(key, value)
    # the same setting dbt-spark forces on every session it opens
    return builder.config("spark.sql.ansi.enabled", "false").getOrCreate()
