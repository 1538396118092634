"""One dlt source a system. Each module exposes ``<name>_source`` decorated with ``@dlt.source``.

Base URLs and credentials come from dlt config / secrets / environment, e.g.
``SOURCES__STRIPE__API_BASE`` and ``SOURCES__STRIPE__API_KEY``; base URLs default to the real
APIs'. ``ingestion.run`` lists them in ``SOURCES``.
"""
