"""Which rows a run's data checks read: the last days of the large incremental tables, or all.

A nightly or 15-minute run loads a few days and rebuilds what they change, so its checks on the
tables that grow with history (GA4's events, sessions, the event facts) read only the days an
incremental run can rewrite: dbt's data tests on those models (macros/test_window.sql) and the
great-expectations suite on the raw GA4 events (orchestration/quality/raw_suites.py). A run
tagged FULL_TESTS_TAG (the weekly run: orchestration/jobs.py) or one that builds a warehouse from
nothing (no published file yet) checks every row.
"""

from __future__ import annotations

from collections.abc import Mapping

#: The GA4 re-read of 3 days and 1 for the time zone.
TEST_WINDOW_DAYS = 4
FULL_TESTS_TAG = "northstar/full_tests"
#: How the window reaches dbt (macros/test_window.sql): an environment variable the macro reads
#: only when it runs a test. dbt parses the whole project again (~6 s) when ``--vars`` differ from
#: its saved parse's, so with a var a windowed nightly after a full-tests run (or a first build)
#: would pay a parse for nothing.
TEST_WINDOW_ENV = "NORTHSTAR_TEST_WINDOW_DAYS"


def data_test_window_days(tags: Mapping[str, str], has_published: bool) -> int | None:
    """The days the checks' window spans, or None when every check must read every row."""
    if not has_published or tags.get(FULL_TESTS_TAG, "").lower() in ("1", "true", "yes"):
        return None
    return TEST_WINDOW_DAYS
