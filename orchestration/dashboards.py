"""The dashboards: dbt Charts boards (``dashboards/charts/*.yml``) rendered from the serving
snapshot into static, self-contained HTML pages, and a local server for them.

Why static pages: each page carries its data and its charts (Vega-Lite, inlined), so it opens
from a file or any web server, with no query at view time and no connection to the
warehouse; the nightly renders them after the serving snapshot (``orchestration/serving.py``),
and ``make dashboards`` renders and serves them. Why dbt Charts and not Evidence:
docs/dashboards.md.

The 15-minute job renders only when what the pages show has changed (``refresh``): a render
costs 14-15 s, most of it ``dct``'s start-up, and between two loads of new data the marts stay
as they were. What the pages show is a function of the board files, dct's version and the rows
their queries return: ``content_fingerprint`` digests those (running each board query against
the snapshot, a few milliseconds each) and the pages keep it beside them (``.rendered-from``).

``dct`` runs as a subprocess with ``--no-cache`` (its default query cache is a per-user file
shared by every project, which would show a previous snapshot's numbers) and with usage
statistics off (``DO_NOT_TRACK``): the build needs no network. It reads a copy of the project
file with the snapshot's path written in (``resolved_project``): the checked-in file names it
with dbt's ``env_var()``, and rendering that one Jinja expression makes dct import dbt, 2-3 s of
each render. Its errors name the checked-in boards, not the copies.
"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from orchestration.serving import PROJECT_DIR, serving_path

DASHBOARDS_DIR = PROJECT_DIR / "dashboards"
BOARDS_DIR = DASHBOARDS_DIR / "charts"
DCT = str(Path(sys.executable).with_name("dct"))
#: The pages, in the order of the index: (board file stem, title).
PAGES = (("executive", "Executive"), ("marketing", "Marketing"), ("product", "Product"))
#: beside the pages: the ``content_fingerprint`` they were rendered from
RENDERED_FROM = ".rendered-from"


@dataclass(frozen=True)
class DashboardsBuildError(Exception):
    """``dct render`` failed: its last lines say why (a query error names the board and line)."""

    detail: str

    def __str__(self) -> str:
        return f"dashboards: dct render failed: {self.detail}"


def output_dir() -> Path:
    """Where the pages are written: ``NORTHSTAR_DASHBOARDS_DIR``, else
    ``<serving snapshot folder>/dashboards`` (beside the file they were rendered from)."""
    setting = os.environ.get("NORTHSTAR_DASHBOARDS_DIR")
    return Path(setting).expanduser().resolve() if setting else serving_path().parent / "dashboards"


def content_fingerprint(snapshot: Path) -> str | None:
    """A digest of what the pages rendered from ``snapshot`` show: dct's version, the board
    files, the snapshot's path (the index names it) and every row each board query returns.
    None when a query fails here: the render then runs, and dct says what is wrong."""
    import duckdb
    import yaml

    digest = hashlib.sha256(f"dbt-charts {version('dbt-charts')}\n{snapshot}\n".encode())
    for path in [DASHBOARDS_DIR / "dbt_charts.yml", *(BOARDS_DIR / f"{stem}.yml" for stem, _ in PAGES)]:
        digest.update(path.read_bytes())
    try:
        with duckdb.connect(str(snapshot), read_only=True) as con:
            for stem, _ in PAGES:
                queries = yaml.safe_load((BOARDS_DIR / f"{stem}.yml").read_text()).get("queries") or {}
                for name, sql in sorted(queries.items()):
                    digest.update(f"{stem}.{name}: {con.execute(sql).fetchall()!r}\n".encode())
    except duckdb.Error:
        return None
    return digest.hexdigest()


def refresh(snapshot: Path | None = None, out: Path | None = None) -> tuple[Path, bool]:
    """``build``, unless the pages in ``out`` were rendered from the same content (a
    ``content_fingerprint`` equal to theirs): (the index, whether the pages were rendered)."""
    snapshot = snapshot or serving_path()
    out = out or output_dir()
    fingerprint = content_fingerprint(snapshot)  # None without a snapshot: build says it is missing
    marker = out / RENDERED_FROM
    pages = [out / "index.html", *(out / f"{stem}.html" for stem, _ in PAGES)]
    if fingerprint and marker.is_file() and marker.read_text() == fingerprint and all(p.is_file() for p in pages):
        marker.touch()  # checked against this snapshot (the run's summary reads the time)
        return pages[0], False
    return build(snapshot, out, fingerprint=fingerprint), True


def build(snapshot: Path | None = None, out: Path | None = None, *, fingerprint: str | None = None) -> Path:
    """Render every page from ``snapshot`` into ``out`` (plus an index.html); return the index.
    ``fingerprint``: the snapshot's ``content_fingerprint`` when the caller has it already."""
    snapshot = snapshot or serving_path()
    out = out or output_dir()
    if not snapshot.exists():
        raise DashboardsBuildError(f"no serving snapshot at {snapshot} (run `northstar run` first)")
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = fingerprint or content_fingerprint(snapshot)
    (out / RENDERED_FROM).unlink(missing_ok=True)  # never beside pages it did not render
    env = {**os.environ, "NORTHSTAR_SERVING_WAREHOUSE": str(snapshot), "DO_NOT_TRACK": "1",
           "DCT_NO_AUTO_INSTALL": "1", "DCT_NO_WORKSPACE_GUARD": "1"}
    with tempfile.TemporaryDirectory(prefix="dct-project-") as folder:
        project = resolved_project(snapshot, Path(folder))
        boards = [str(project / BOARDS_DIR.name / f"{stem}.yml") for stem, _ in PAGES]
        done = subprocess.run(
            [DCT, "--no-send-anonymous-usage-stats", "render", *boards, "--format", "html", "--no-cache",
             "--no-warnings", "--project-dir", str(project), "--output", str(out / "{stem}.html")],
            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        detail = " ".join(lines[-6:]).replace(str(project), str(DASHBOARDS_DIR))  # the copies are gone
        raise DashboardsBuildError(detail or f"exit {done.returncode}")
    index = out / "index.html"
    index.write_text(_index_html(snapshot), encoding="utf-8")
    if fingerprint:
        (out / RENDERED_FROM).write_text(fingerprint)
    return index


def resolved_project(snapshot: Path, folder: Path) -> Path:
    """The dct project to render from: ``folder``, holding a copy of ``dashboards/dbt_charts.yml``
    whose source path is ``snapshot`` itself rather than dbt's ``env_var()``, and the boards
    (dct reads boards only inside its project). With no Jinja to render, dct does not import dbt:
    its config loader skips that import when nothing needs rendering. Should the checked-in
    file gain Jinja elsewhere, the project is ``dashboards/`` itself, as it is."""
    import yaml

    config = yaml.safe_load((DASHBOARDS_DIR / "dbt_charts.yml").read_text())
    config["sources"]["northstar"]["path"] = str(snapshot)
    text = yaml.safe_dump(config, sort_keys=False)
    if "{{" in text or "{%" in text:
        return DASHBOARDS_DIR
    (folder / "dbt_charts.yml").write_text(text)
    shutil.copytree(BOARDS_DIR, folder / BOARDS_DIR.name, dirs_exist_ok=True)
    return folder


def _index_html(snapshot: Path) -> str:
    links = "\n".join(f'    <li><a href="{stem}.html">{title}</a></li>' for stem, title in PAGES)
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Northstar dashboards</title></head>\n<body style=\"font-family: sans-serif\">\n"
            f"  <h1>Northstar dashboards</h1>\n  <ul>\n{links}\n  </ul>\n"
            f"  <p>Rendered from {html.escape(str(snapshot))}</p>\n</body></html>\n")


def serve(folder: Path, port: int = 0, host: str = "127.0.0.1"):
    """A threaded HTTP server of ``folder`` on ``host:port`` (0: a free port), started; the
    caller stops it with ``shutdown()``. Its URL: ``http://{host}:{server.server_port}/``."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/favicon.ico":  # browsers ask for one; a 404 is a console error
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

    server = ThreadingHTTPServer((host, port), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True, name="dashboards-http").start()
    return server


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestration.dashboards [--port N] [--build-only]`` (``make dashboards``):
    render the pages from the serving snapshot, print where, and serve them until Ctrl-C."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m orchestration.dashboards", description=main.__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("NORTHSTAR_DASHBOARDS_PORT", "8088")))
    parser.add_argument("--build-only", action="store_true", help="render the pages, do not serve them")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        index = build()
    except DashboardsBuildError as exc:
        print(f"northstar: error: {exc}", file=sys.stderr)
        return 1
    print(f"dashboards: rendered {len(PAGES)} pages from {serving_path()} in "
          f"{time.perf_counter() - began:.1f}s: {index}", flush=True)
    if args.build_only:
        return 0
    try:
        server = serve(index.parent, args.port)
    except OSError as exc:
        print(f"northstar: error: cannot serve the dashboards on port {args.port}: {exc.strerror} "
              f"(set NORTHSTAR_DASHBOARDS_PORT)", file=sys.stderr)
        return 2
    print(f"dashboards: serving on http://127.0.0.1:{server.server_port}/ (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
