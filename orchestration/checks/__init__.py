"""Dagster asset checks beyond dbt's tests: great-expectations suites, KPI alerts,
reconciliation with the sandbox's truth, and raw-table freshness."""
