"""The sandbox's Dagster asset checks: a build on the sandbox against the truth it wrote.

- ``reconciliation.py``: every raw table holds the rows the sandbox served; MRR equals what
  Stripe's data can date (``mrr_reconciliation.py`` compares the cells).
- ``history.py``: the published-history check's verdict by the truth.

Orchestration adds them through its plug-in point (orchestration/plugins.py) only when
``NORTHSTAR_SANDBOX_TRUTH`` names a truth folder.
"""
