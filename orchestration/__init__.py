"""Northstar's orchestration: the Dagster definitions (``definitions.py``, built in
``graph.py``), jobs and schedules, the checks, write-audit-publish, and the ``northstar`` CLI.
The sandbox is reached only through ``plugins.py``, in sandbox mode."""
