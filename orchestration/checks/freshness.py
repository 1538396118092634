"""Freshness of the raw tables: a source not loaded for longer than expected is a failed check.

Dagster's last-update freshness checks look at when each raw table's asset last materialized
(i.e. when dlt last loaded it successfully). The nightly build loads every source, so a source
older than ``NORTHSTAR_FRESHNESS_HOURS`` (default 26: a day plus slack for a slow night) means
its loads have been failing or not running. A sensor evaluates them between runs too.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    DefaultSensorStatus,
    SensorDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

FRESHNESS_SETTING = "NORTHSTAR_FRESHNESS_HOURS"


def freshness_window() -> timedelta:
    return timedelta(hours=float(os.environ.get(FRESHNESS_SETTING) or 26))


def build_freshness_checks(raw_assets: Sequence[AssetsDefinition]) -> Sequence[AssetChecksDefinition]:
    keys = sorted({key for assets in raw_assets for key in assets.keys})
    with _superseded_is_fine():
        return build_last_update_freshness_checks(assets=keys, lower_bound_delta=freshness_window())


def build_freshness_sensor(checks: Sequence[AssetChecksDefinition]) -> SensorDefinition:
    with _superseded_is_fine():
        return build_sensor_for_freshness_checks(freshness_checks=checks, name="raw_freshness_sensor",
                                                 minimum_interval_seconds=15 * 60,
                                                 default_status=DefaultSensorStatus.RUNNING)


@contextmanager
def _superseded_is_fine() -> Iterator[None]:
    """Dagster 1.13 suggests FreshnessPolicy instead; a policy shows a state in the UI but is
    not an asset check, and a stale source must fail a check (and alert) here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*superseded.*", category=FutureWarning)
        yield
