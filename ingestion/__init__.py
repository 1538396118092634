"""Northstar's ingestion: dlt sources, the sandbox, and the code that runs them.

Importing the package makes every log record redact credentials (``ingestion/common/redaction.py``):
the CLI and the Dagster code location import it before any request is made.
"""

from ingestion.common.redaction import install as _install_log_redaction

_install_log_redaction()
