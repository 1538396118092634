"""A suite's outcome, combined over the chunks it was validated in, as short lines.

A big table is validated chunk by chunk, each chunk a GX validation of the whole suite. An
expectation passes only if it passed on every chunk; its unexpected counts are summed and its
first few unexpected values kept. Failures are one line each, never a traceback: they end up
in a Dagster check description and a nightly alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations import Expectation

#: Unexpected values shown per failed expectation.
EXAMPLES = 3


@dataclass
class SuiteResult:
    """The outcome of one suite on one table."""

    suite: str
    table: str
    passed: bool
    rows: int
    failures: list[str] = field(default_factory=list)  # one line per failed expectation
    note: str | None = None  # why nothing was validated (a missing table), else None
    scope: str | None = None  # the rows read when not all (a window), e.g. "event_date >= '20261028'"

    def line(self) -> str:
        """One line: suite, table, verdict, rows, then the failures or the note."""
        verdict = "passed" if self.passed else f"FAILED {len(self.failures)} expectation(s)"
        text = f"{self.suite} on {self.table}: {verdict}, {self.rows} rows"
        if self.scope:
            text += f" with {self.scope}"
        if self.failures:
            text += ": " + "; ".join(self.failures)
        if self.note:
            text += f" ({self.note})"
        return text


def show_value(value: Any) -> str:
    """A value as a reader would write it: 12, 'usd', 2027-01-01, None (not np.int64(12))."""
    if isinstance(value, tuple):
        return "(" + ", ".join(show_value(v) for v in value) + ")"
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "None"
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a numpy scalar
        value = value.item()
    if isinstance(value, datetime) and (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, int, float)):
        return str(value)
    return repr(value)


def _target(kwargs: dict[str, Any]) -> str:
    """The column(s) an expectation is about, with its row condition if it has one."""
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    columns += list(kwargs.get("column_list") or [])
    target = ", ".join(columns) or "the table"
    condition = kwargs.get("row_condition")
    if hasattr(condition, "dict"):  # a GX Condition object
        condition = condition.dict()
    if isinstance(condition, dict) and {"column", "operator", "parameter"} <= condition.keys():
        target += f" where {condition['column']['name']} {condition['operator']} {condition['parameter']!r}"
    elif condition:
        target += f" where {condition}"
    return target


def _error_message(result: ExpectationValidationResult) -> str | None:
    """The first exception GX caught while computing the expectation, if any.

    GX reports either one ``{raised_exception, exception_message}`` dict or one per metric.
    """
    info = result.exception_info or {}
    candidates = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            return str(candidate.get("exception_message") or "error").splitlines()[0]
    return None


@dataclass
class ExpectationTally:
    """One expectation's results summed over chunks."""

    type: str
    target: str
    passed: bool = True
    rows: int = 0
    unexpected: int = 0
    examples: list[str] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)  # non-row results (a column's type)
    error: str | None = None

    def add(self, result: ExpectationValidationResult) -> None:
        outcome = result.result or {}
        self.passed = self.passed and bool(result.success)
        self.error = self.error or _error_message(result)
        self.rows += int(outcome.get("element_count") or 0)
        self.unexpected += int(outcome.get("unexpected_count") or 0)
        for value in outcome.get("partial_unexpected_list") or []:
            if len(self.examples) < EXAMPLES:
                self.examples.append(show_value(value))
        if "observed_value" in outcome and not result.success:
            seen = str(outcome["observed_value"])
            if seen not in self.observed:
                self.observed.append(seen)

    def line(self) -> str:
        head = f"{self.type} on {self.target}"
        if self.error:
            return f"{head}: error: {self.error}"
        if self.observed:
            return f"{head}: observed {', '.join(self.observed)}"
        counts = f"{head}: {self.unexpected} of {self.rows} rows unexpected"
        return f"{counts}, e.g. [{', '.join(self.examples)}]" if self.examples else counts


class SuiteTally:
    """A suite's results summed over chunks, expectation by expectation, in suite order."""

    def __init__(self, expectations: list[Expectation]) -> None:
        self.rows = 0
        self._tallies: dict[str, ExpectationTally] = {}
        for expectation in expectations:
            config = expectation.configuration
            self._tallies[str(expectation.id)] = ExpectationTally(config.type, _target(config.kwargs))

    def add(self, rows: int, validation: ExpectationSuiteValidationResult) -> None:
        self.rows += rows
        for result in validation.results:
            self._tallies[str(result.expectation_config.id)].add(result)

    def result(self, suite: str, table: str) -> SuiteResult:
        failures = [t.line() for t in self._tallies.values() if not t.passed]
        return SuiteResult(suite=suite, table=table, passed=not failures, rows=self.rows, failures=failures)

