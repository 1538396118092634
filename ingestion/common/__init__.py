"""What the sources share, and no source itself: one-line errors, the HTTP session with its
retries and timeouts, OAuth refresh tokens, log redaction, run notes, and the ad platforms'
common frame.

A source module (``ingestion/sources/<name>.py``) imports from here; nothing here imports a
source, so a new source reuses the plumbing without reading another source's code.
"""
