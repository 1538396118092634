"""What a suite is: one warehouse table and the expectations on it.

The columns a suite reads are those its expectations name (:func:`columns_read`): written once,
in the expectations, so that a list of columns cannot fall out of step with the rules.

Expectations are built by a function of :class:`ReferenceData` rather than stored, because
some bounds only exist at validation time: "not in the future" needs the run's ``now``, and
"a known currency" needs the codes the warehouse's seeds hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation


@dataclass(frozen=True)
class ReferenceData:
    """The values expectations compare against, fixed once per validation."""

    now: datetime  # timezone-aware UTC: the "not in the future" bound
    currency_codes: frozenset[str]  # upper-case ISO 4217 codes the warehouse knows
    ga4_event_names: frozenset[str]

    @property
    def epoch_seconds(self) -> int:
        """``now`` as Stripe stores time (Unix seconds)."""
        return int(self.now.timestamp())

    @property
    def epoch_microseconds(self) -> int:
        """``now`` as the GA4 export stores time (Unix microseconds)."""
        return int(self.now.timestamp() * 1_000_000)

    @property
    def today(self) -> datetime:
        """Midnight UTC of ``now``'s day, naive: DATE columns arrive as naive datetime64 values,
        and a day's row for today (partial stats) is not in the future."""
        return datetime(self.now.year, self.now.month, self.now.day)

    @property
    def stripe_currency_codes(self) -> list[str]:
        """Stripe writes currency codes in lower case (``usd``)."""
        return sorted(code.lower() for code in self.currency_codes)

    @property
    def ad_currency_codes(self) -> list[str]:
        """The ad platforms write currency codes in upper case (``USD``)."""
        return sorted(self.currency_codes)


def utc_now(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


ExpectationBuilder = Callable[[ReferenceData], "list[Expectation]"]


class OnTable:
    """Something checked on one warehouse table, named ``"<schema>.<table>"`` in ``table``."""

    table: str

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]


@dataclass(frozen=True)
class Suite(OnTable):
    """A great-expectations suite on one table, and the Dagster asset its check belongs to."""

    name: str  # e.g. "raw_stripe_invoices"
    table: str  # "<schema>.<table>", e.g. "raw_stripe.invoices" or "metrics.mrr_summary"
    asset_key: tuple[str, ...]  # ("stripe", "invoices") for raw tables, ("mrr_summary",) for models
    expectations: ExpectationBuilder
    where: str | None = None  # optional SQL filter on the rows read
    #: the column that dates a row of a table growing with history: a windowed run reads only
    #: its last days (orchestration/test_window.py); None: every run reads every row
    window_column: str | None = None

    def columns(self, reference: ReferenceData) -> tuple[str, ...]:
        """The only columns read (GA4 events are millions of wide rows): those the rules name."""
        return columns_read(self.expectations(reference))


def columns_read(expectations: list[Expectation]) -> tuple[str, ...]:
    """The columns ``expectations`` name (their columns and row conditions), in first-use order."""
    names: dict[str, None] = {}
    for expectation in expectations:
        kwargs = expectation.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if kwargs.get(key):
                names[kwargs[key]] = None
        condition = kwargs.get("row_condition")
        if hasattr(condition, "dict"):  # a GX Condition object
            condition = condition.dict()
        if isinstance(condition, dict) and "column" in condition:
            names[condition["column"]["name"]] = None
    return tuple(names)
