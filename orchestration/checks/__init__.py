"""Dagster asset checks beyond dbt's tests: great-expectations suites, KPI alerts, raw-table
freshness and published history. The reconciliations with the sandbox's truth are the
sandbox's own (sandbox/checks/), added through orchestration/plugins.py in sandbox mode."""
