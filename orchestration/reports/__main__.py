"""``python -m orchestration.reports digest|weekly``: a report of the published warehouse now.

For a digest at a fixed hour from cron rather than after the build, or to resend a week's
report; the nightly job makes both by itself. Exit 0 when delivered or written, 1 when the
digest was not delivered, 2 on a bad setting or a warehouse without the marts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from ingestion.warehouse import warehouse_path
from orchestration.reports.digest import published_at_of, send_digest
from orchestration.reports.figures import MissingMart
from orchestration.reports.settings import SettingError
from orchestration.reports.weekly import deliver_weekly


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.reports", description=__doc__)
    parser.add_argument("report", choices=["digest", "weekly"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = warehouse_path()
    try:
        if not path.exists():
            raise MissingMart(f"no published warehouse at {path}: run `northstar run` first")
        if args.report == "digest":
            text, delivered = send_digest(path, published_at_of(path), datetime.now(UTC))
            print(text)
            return 0 if delivered else 1
        report = deliver_weekly(path)
        print(report.pdf)
        print(report.html)
        return 0
    except (SettingError, MissingMart) as error:
        print(f"northstar reports: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
