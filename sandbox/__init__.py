"""The sandbox: a deterministic simulated SaaS business served over the real APIs' wire formats.

Layout (one concern a module):
- ``world.py``      the data model every API layer reads (``World``).
- ``simulation/``   builds a ``World`` from a seed, a start day, an as-of day and a scale.
- ``truth.py``      ground truth computed from the simulator's own state (never from payloads).
- ``http.py``       the tiny request/response types the API layers share.
- ``stripe_api.py`` Stripe v1 list/retrieve endpoints.
- ``google_ads_api.py``, ``meta_ads_api.py``, ``linkedin_ads_api.py``: ad platforms.
- ``ga4_export.py`` writes and serves the GA4 BigQuery-export files.
- ``faults.py``     deterministic 5xx / 429 injection.
- ``server.py``     routes requests to the layers above.
- ``cli.py``        the ``northstar sandbox`` commands; ``build.py`` serves a sandbox build.
- ``checks/``       Dagster checks of a sandbox build against the truth.
- ``plugin.py``     what orchestration gets through its one door to the sandbox
                    (orchestration/plugins.py), in sandbox mode only.
"""
