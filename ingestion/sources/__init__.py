"""The dlt sources, one a system: ``<name>.py`` exposes ``<name>_source`` (``@dlt.source``).

A module named ``<name>_<part>.py`` belongs to the source ``<name>`` alone (the Stripe
column types, GA4's drift checks); what several sources share lives in ``ingestion/common/``.

Base URLs and credentials come from dlt config / secrets / environment, e.g.
``SOURCES__STRIPE__API_BASE`` and ``SOURCES__STRIPE__API_KEY``; base URLs default to the real
APIs'. ``ingestion.run`` lists them in ``SOURCES``.
"""
