"""The engine the warehouse runs on: one setting, ``NORTHSTAR_TARGET``, for dlt and dbt alike.

``duckdb`` (the default) is the embedded warehouse file ``NORTHSTAR_WAREHOUSE`` names;
``postgres`` is a PostgreSQL database (``NORTHSTAR_PG_HOST``, ``_PORT``, ``_USER``,
``_PASSWORD``, ``_DATABASE``; profiles.yml reads the same variables); ``spark`` is Spark's.
dlt loads the raw schemas (``raw_<source>``) into the engine with its matching destination,
and dbt builds on the profile's output of the same name (``prod`` for DuckDB).

The password is read here and handed to dlt as credentials; it is never formatted into a
message: :func:`postgres_location` is what logs and errors name.
"""

from __future__ import annotations

import os
from urllib.parse import quote

ENGINES = ("duckdb", "postgres", "spark")
DEFAULT_ENGINE = "duckdb"
#: dbt's profile output per engine (profiles.yml): DuckDB's nightly output is ``prod``.
DBT_TARGETS = {"duckdb": "prod", "postgres": "postgres", "spark": "spark"}


class EngineSettingError(ValueError):
    """NORTHSTAR_TARGET names no engine, or the engine's settings are incomplete (one line)."""


def engine() -> str:
    """``NORTHSTAR_TARGET``, checked (default duckdb)."""
    name = (os.environ.get("NORTHSTAR_TARGET") or DEFAULT_ENGINE).strip().lower()
    if name not in ENGINES:
        raise EngineSettingError(f"NORTHSTAR_TARGET={name!r} is not an engine: use one of {', '.join(ENGINES)}")
    return name


def dbt_target() -> str:
    """The profiles.yml output dbt builds on for the engine."""
    return DBT_TARGETS[engine()]


def postgres_settings() -> dict[str, str]:
    """host, port, user, password, database from NORTHSTAR_PG_* (the defaults of profiles.yml)."""
    return {
        "host": os.environ.get("NORTHSTAR_PG_HOST", "localhost"),
        "port": os.environ.get("NORTHSTAR_PG_PORT", "5432"),
        "user": os.environ.get("NORTHSTAR_PG_USER", "northstar"),
        "password": os.environ.get("NORTHSTAR_PG_PASSWORD", ""),
        "database": os.environ.get("NORTHSTAR_PG_DATABASE", "northstar"),
    }


def postgres_location() -> str:
    """``user@host:port/database``: the database named for people, without the password."""
    s = postgres_settings()
    return f"{s['user']}@{s['host']}:{s['port']}/{s['database']}"


def postgres_dsn() -> str:
    """A libpq URL for dlt's postgres destination (holds the password: never print it)."""
    s = postgres_settings()
    auth = quote(s["user"], safe="") + (":" + quote(s["password"], safe="") if s["password"] else "")
    return f"postgresql://{auth}@{s['host']}:{s['port']}/{quote(s['database'], safe='')}"


def postgres_connect():
    """A psycopg2 connection to the Postgres warehouse (the caller closes it)."""
    import psycopg2

    s = postgres_settings()
    return psycopg2.connect(host=s["host"], port=s["port"], user=s["user"], password=s["password"] or None,
                            dbname=s["database"], application_name="northstar")
