"""Scheduled reports of the published warehouse, made by the nightly job after publishing.

- ``digest``: the daily digest posted to the alerts' Slack-compatible webhook.
- ``weekly``: the weekly executive report, HTML and PDF with charts (``charts``), written to the
  reports folder and e-mailed (``mail``) when SMTP is configured.
- ``figures``: the numbers both show, read from the marts; ``formatting``: how they are written.
- ``assets``: the two Dagster assets downstream of ``published_warehouse``.
- ``settings``: every ``NORTHSTAR_*`` setting they read.

By hand: ``python -m orchestration.reports digest|weekly`` on the published warehouse.
"""
