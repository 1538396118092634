"""What the sources share, and no source itself: one-line errors (``errors``), when to retry
(``retries``), the HTTP session with its timeouts (``http_client``), OAuth refresh tokens
(``oauth``), log redaction (``redaction``), run notes (``notes``) and the ad platforms' common
frame (``ad_platform``).

A source module (``ingestion/sources/<name>.py``) imports from here; nothing here imports a
source, so a new source reuses the plumbing without reading another source's code.
"""
