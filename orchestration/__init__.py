"""Northstar's orchestration: the Dagster definitions (to come), schedules and the CLI."""
