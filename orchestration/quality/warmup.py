"""great_expectations imported in the background, once per process, while a run waits on APIs.

Importing GX costs ~5.6 s (measured with ``python -m orchestration.quality``), paid by the
first quality step of a run. The jobs run in one process (orchestration/jobs.py), so the
import is paid once per run anyway; starting it when the run's first ingestion step starts
puts it where the process mostly waits on the sources' APIs, and the quality steps find it
done. The quality modules import GX inside their functions (rules.py says why), so a process
that never validates (``northstar ingest``, most tests) never pays for it. A failed warm-up
changes nothing: the step that needs GX imports it again and reports what fails there.
"""

from __future__ import annotations

import importlib
import threading

_STARTED = threading.Event()


def _import() -> None:
    try:
        importlib.import_module("great_expectations")
        importlib.import_module("great_expectations.expectations")
    except Exception:  # noqa: BLE001 - the quality step imports it again and says what failed
        return


def import_in_background() -> None:
    """Start importing great_expectations in a daemon thread (once per process)."""
    if _STARTED.is_set():
        return
    _STARTED.set()
    threading.Thread(target=_import, name="gx-import", daemon=True).start()
