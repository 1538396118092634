"""The few expectation shapes the suites are made of, as great-expectations objects.

great_expectations is imported inside each function, not at the top: importing it takes
~8 s, and Dagster imports the suites (to declare the asset checks) on every code-location
load, while only a check run needs GX.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation
    from great_expectations.expectations.row_conditions import Condition

#: pandas dtypes of integer columns: numpy ones, and the nullable ones the reader maps
#: Arrow integers to (so that a column with nulls stays integer instead of turning float).
INTEGER_DTYPES = ["int8", "int16", "int32", "int64", "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype"]

#: (column, value): the rule applies only to rows where column equals value.
When = tuple[str, str]


def _condition(when: When | None) -> Condition | None:
    if when is None:
        return None
    from great_expectations.expectations.row_conditions import Column

    column, value = when
    return Column(column) == value


def not_null(*columns: str) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def integers(*columns: str) -> list[Expectation]:
    """Stripe money is an integer count of the currency's minor unit: a float is a load bug."""
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeInTypeList(column=c, type_list=INTEGER_DTYPES) for c in columns]


def at_least(minimum: float, *columns: str, when: When | None = None) -> list[Expectation]:
    """Values >= minimum (nulls are not checked: pair with :func:`not_null` where they matter)."""
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=minimum, row_condition=_condition(when))
            for c in columns]


def non_negative(*columns: str, when: When | None = None) -> list[Expectation]:
    return at_least(0, *columns, when=when)


def fractions(*columns: str, when: When | None = None) -> list[Expectation]:
    """Rates that are a part of a whole, in [0, 1]."""
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1, row_condition=_condition(when))
            for c in columns]


def not_after(bound: int | datetime, *columns: str) -> list[Expectation]:
    """Values <= bound: a timestamp in the future means a clock or unit bug (ms for s ...)."""
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeBetween(column=c, max_value=bound) for c in columns]


def one_of(column: str, values: list[str]) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values))]


def not_less_than(larger: str, smaller: str) -> list[Expectation]:
    """larger >= smaller on every row where both are present (clicks <= impressions ...)."""
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=larger, column_B=smaller, or_equal=True,
                                                         ignore_row_if="either_value_is_missing")]
