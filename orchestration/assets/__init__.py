"""Dagster assets: raw tables loaded by dlt, dbt models, and the published warehouse."""
