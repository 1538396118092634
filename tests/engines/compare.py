"""Row-for-row comparison of the metric marts (models/marts/metrics) between two engines.

Every value is normalised to text before comparing: numbers of any type (DuckDB's DECIMAL and
HUGEINT, PostgreSQL's NUMERIC and BIGINT) through Decimal, so 1.500000 and 1.5 are the same
number and nothing is rounded (exact on money); doubles by repr (the same bits, or a
difference); dates and times in ISO form. Rows are matched after sorting each side by its
normalised row, so the engines' own row order does not matter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from orchestration.dbt_project import PROJECT_DIR

METRICS_DIR = PROJECT_DIR / "models" / "marts" / "metrics"


def metric_marts(folder: Path = METRICS_DIR) -> list[str]:
    """Every model of models/marts/metrics (built in the schema ``metrics``)."""
    return sorted(path.stem for path in folder.glob("*.sql"))


def normalise(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        return "0" if number == 0 else format(number.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


@dataclass
class Comparison:
    cells: int = 0
    rows: int = 0
    differences: list[str] = field(default_factory=list)


def fetch(cursor, sql: str) -> tuple[list[str], list[tuple]]:
    cursor.execute(sql)
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def compare_relation(name: str, left: tuple[list[str], list[tuple]], right: tuple[list[str], list[tuple]],
                     result: Comparison, labels: tuple[str, str] = ("duckdb", "postgres"), limit: int = 20) -> None:
    """Add the cells of relation ``name`` on both sides to ``result``, and every difference."""
    (left_columns, left_rows), (right_columns, right_rows) = left, right
    if left_columns != right_columns:
        result.differences.append(f"{name}: columns differ: {labels[0]} {left_columns} vs {labels[1]} {right_columns}")
        return
    if len(left_rows) != len(right_rows):
        result.differences.append(f"{name}: {labels[0]} has {len(left_rows)} rows, {labels[1]} {len(right_rows)}")
        return

    def key(row: tuple) -> tuple:
        return tuple((v is None, v or "") for v in row)

    ordered = [sorted((tuple(normalise(v) for v in row) for row in rows), key=key) for rows in (left_rows, right_rows)]
    shown = 0
    for a, b in zip(*ordered, strict=True):
        result.rows += 1
        for column, x, y in zip(left_columns, a, b, strict=True):
            result.cells += 1
            if x != y and shown < limit:
                shown += 1
                result.differences.append(f"{name}.{column}: {labels[0]} {x} vs {labels[1]} {y} (row {a})")
            elif x != y:
                result.differences.append(f"{name}.{column}: ...")
