"""The Dagster code location: ``dagster dev -m orchestration.definitions`` (``make dev``).

What is in it, and why, is in orchestration/graph.py.
"""

from orchestration.graph import build_definitions

defs = build_definitions()
