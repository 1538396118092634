"""great-expectations suites on raw and mart tables, validated on DataFrames read from DuckDB.

GX 1.x's SQL datasource errors on DuckDB (every expectation), so each suite reads only its
columns with DuckDB, in chunks, and GX validates them as pandas DataFrames.

- ``SUITES``: every suite, raw tables first (raw_suites.py), then marts (mart_suites.py).
- ``ANOMALY_SUITES``: series checked against their own history (anomaly_suites.py).
- ``validate(con, suite, now=None)``: one suite on the warehouse ``con`` reads -> SuiteResult.
- ``python -m orchestration.quality [WAREHOUSE]``: every suite, one line and the seconds each.
- Data Docs (docs.py): GX's HTML of the results, in ``<warehouse folder>/quality_docs/``.

Everything about data quality outside dbt's tests lives in this package: the suites (what is
checked), rules.py (the expectation shapes), frames.py (reading a table as DataFrames),
validation.py and results.py (running GX, one line per failure), and checks.py (the suites
as Dagster asset checks; imported by the Dagster definitions only, not by this __init__).
"""

from orchestration.quality.anomaly_suites import ANOMALY_SUITES, check_series
from orchestration.quality.mart_suites import MART_SUITES
from orchestration.quality.raw_suites import RAW_SUITES
from orchestration.quality.results import SuiteResult
from orchestration.quality.suite import ReferenceData, Suite
from orchestration.quality.validation import validate

SUITES: tuple[Suite, ...] = RAW_SUITES + MART_SUITES

__all__ = ["ANOMALY_SUITES", "MART_SUITES", "RAW_SUITES", "SUITES", "ReferenceData", "Suite", "SuiteResult",
           "check_series", "validate"]
