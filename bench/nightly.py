"""Benchmark: the nightly build, full and then incremental, with each stage's time and memory.

    uv run python bench/nightly.py --scale default --repeats 3

Each repeat, in a fresh folder: (1) generate the sandbox at ``--as-of`` and run the nightly
Dagster job on an empty warehouse (the full build); (2) generate the sandbox one day later and
run the job again on the published warehouse (the incremental nightly); (3) run the 15-minute
``incremental`` job on the same day's sandbox (its steady state: GA4's 3-day re-read, the ad
platforms' last week and Stripe's last page loaded again, with no row new or changed, so its
dbt step finds no raw table changed and starts no dbt: orchestration/build_inputs.py; a
15-minute run that loads changed rows builds their downstream models, which this does not
time). ``--repeats 1`` is the quick mode (about 10 minutes on a quiet
machine at the default scale). Each build runs in a child process (``--child``) whose process
tree's memory is sampled; the sandbox it reads from runs in another (``--sandbox-child``),
sampled apart, as the APIs it stands in for run elsewhere (``peak_mib`` is the build's,
``sandbox_peak_mib`` the sandbox's). The child reports when each Dagster step started and
ended, so the stages are timed and their memory peaks found: generate (simulate + truth, the
sandbox's process), ingest (dlt steps, including the copy of the published file into
the draft), dbt build, checks (great-expectations, KPI, reconciliation, freshness), publish and
serve (serving snapshot, digest, weekly report, dashboards).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# run as a script (python bench/...), so bench is importable only once ROOT is on sys.path
from bench.machine import machine_info  # noqa: E402
from bench.memory import TreeSampler  # noqa: E402

STAGES = ("generate", "ingest", "dbt build", "checks", "publish", "serve")
#: what runs after the publish for readers (the serving snapshot, the digest, the weekly report and
#: the dashboards' renders in Chromium): 20-30 s of a default-scale job, once counted as checks
SERVE_STEPS = ("serving_snapshot", "daily_digest", "weekly_report", "dashboards")
START, AS_OF, SEED = date(2024, 11, 1), date(2026, 11, 1), 42


def stage_of(step: str) -> str:
    if step.startswith("ingest_"):
        return "ingest"
    if step == "dbt_build":
        return "dbt build"
    if step == "published_warehouse":
        return "publish"
    if step in SERVE_STEPS:
        return "serve"
    return "checks"


# --- the child: one build ---------------------------------------------------------------------

def sandbox_child(scale: str, as_of: date, sandbox_dir: Path, ready: Path) -> None:
    """The sandbox, in a process of its own: simulate, write the truth, serve on a free port, write
    ``ready`` (the sources' settings and when generation began and ended), serve until SIGTERM.

    The APIs it stands in for run on other machines. In a process of its own, its memory is
    sampled apart from the build's, and its server threads do not share the build's GIL.
    """
    from sandbox.build import serve_simulation
    from sandbox.simulation import simulate

    began = time.time()
    sim = simulate(SEED, START, as_of, scale, sandbox_dir / "ga4")
    before = dict(os.environ)
    serve_simulation(sim, sandbox_dir)  # points the sources (and the truth setting) at it in os.environ
    settings = {key: value for key, value in os.environ.items() if before.get(key) != value}
    generated = time.time()
    partial = ready.with_suffix(".partial")
    partial.write_text(json.dumps({"generate": [began, generated], "ga4_events": sim.ga4.events,
                                   "settings": settings}))
    partial.rename(ready)  # whole or absent for the parent, which polls for it
    while True:  # until the parent's SIGTERM
        time.sleep(3600)


def child(warehouse: Path, out: Path, job_name: str) -> None:
    """One run of ``job_name`` on ``warehouse``, the sources pointed at the sandbox by the
    environment the parent passes on; writes when each step started and ended to ``out``."""
    os.environ["NORTHSTAR_WAREHOUSE"] = str(warehouse)
    os.environ.pop("DAGSTER_HOME", None)
    from dagster import DagsterInstance

    from orchestration.graph import build_definitions

    os.environ["NORTHSTAR_QUIET_DBT"] = "1"
    instance = DagsterInstance.ephemeral()
    job = build_definitions().resolve_job_def(job_name)
    job_began = time.time()
    result = job.execute_in_process(instance=instance, raise_on_error=False,
                                    run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    job_ended = time.time()
    steps = [{"step": s.step_key, "status": s.status.value if s.status else None,
              "start": s.start_time, "end": s.end_time} for s in instance.get_run_step_stats(result.run_id)]
    out.write_text(json.dumps({"job": [job_began, job_ended], "steps": steps, "success": result.success}))


# --- the parent: repeats, stages, memory ------------------------------------------------------

def wait_until_serving(sandbox: subprocess.Popen, ready: Path) -> dict:
    """The sandbox process's ready report, once it serves."""
    while not ready.exists():
        if sandbox.poll() is not None:
            raise RuntimeError(f"the sandbox failed (exit {sandbox.returncode})")
        time.sleep(0.2)
    return json.loads(ready.read_text())


def run_build(scale: str, as_of: date, warehouse: Path, sandbox_dir: Path, job: str = "nightly") -> dict:
    ready, out = sandbox_dir.with_suffix(".ready.json"), sandbox_dir.with_suffix(".json")
    ready.unlink(missing_ok=True)
    script = str(Path(__file__).resolve())
    sandbox = subprocess.Popen([sys.executable, script, "--sandbox-child", "--scale", scale, "--as-of",
                                as_of.isoformat(), "--sandbox-dir", str(sandbox_dir), "--out", str(ready)], cwd=ROOT)
    try:
        with TreeSampler(sandbox.pid) as sandbox_sampler:
            sandbox_report = wait_until_serving(sandbox, ready)
            process = subprocess.Popen([sys.executable, script, "--child", "--job", job, "--warehouse",
                                        str(warehouse), "--out", str(out)],
                                       cwd=ROOT, env={**os.environ, **sandbox_report["settings"]})
            with TreeSampler(process.pid) as sampler:
                process.wait()
    finally:
        sandbox.terminate()
        sandbox.wait()
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"the {scale} build at {as_of} failed (exit {process.returncode})")
    report = json.loads(out.read_text())
    generated = tuple(sandbox_report["generate"])
    windows: dict[str, list[tuple[float, float]]] = {"generate": [generated]}
    for step in report["steps"]:
        if step["start"] and step["end"]:
            windows.setdefault(stage_of(step["step"]), []).append((step["start"], step["end"]))
    stages = {}
    for stage in STAGES:
        spans = windows.get(stage, [])
        stage_sampler = sandbox_sampler if stage == "generate" else sampler
        stages[stage] = {"seconds": round(sum(e - s for s, e in spans), 2),
                         "peak_mib": round(max((stage_sampler.peak(s, e) for s, e in spans), default=0) / 2**20)}
    job_seconds = report["job"][1] - report["job"][0]
    generate_seconds = generated[1] - generated[0]
    # issue 15 times the nightly from ingest to publish: what readers wait for; serve comes after
    published = [step["end"] for step in report["steps"] if step["step"] == "published_warehouse" and step["end"]]
    to_publish = round(published[0] - report["job"][0], 2) if published else None
    return {"as_of": as_of.isoformat(), "success": report["success"], "ga4_events": sandbox_report["ga4_events"],
            "stages": stages, "job_seconds": round(job_seconds, 2), "to_publish_seconds": to_publish,
            "generate_seconds": round(generate_seconds, 2),
            "total_seconds": round(job_seconds + generate_seconds, 2),
            "peak_mib": round(sampler.peak() / 2**20), "sandbox_peak_mib": round(sandbox_sampler.peak() / 2**20),
            "warehouse_mib": round(warehouse.stat().st_size / 2**20)}


def measure_nightly(scale: str, repeats: int, work_dir: Path, full_only: bool = False) -> dict:
    """Full then incremental nightly builds, ``repeats`` times; medians and the raw runs.
    ``full_only``: the full build alone (``incremental`` is None)."""
    runs = []
    for repeat in range(repeats):
        folder = work_dir / scale / f"run{repeat}"
        if folder.exists():
            subprocess.run(["rm", "-rf", str(folder)], check=True)
        folder.mkdir(parents=True)
        warehouse = folder / "northstar.duckdb"
        full = run_build(scale, AS_OF, warehouse, folder / "sandbox_full")
        later_day = AS_OF + timedelta(days=1)
        incremental = None if full_only else run_build(scale, later_day, warehouse, folder / "sandbox_next_day")
        fifteen = None if full_only else run_build(scale, later_day, warehouse, folder / "sandbox_15_minute",
                                                   "incremental")
        runs.append({"full": full, "incremental": incremental, "fifteen_minute": fifteen})
        later = "" if full_only else (f"incremental job {incremental['job_seconds']:.1f}s, "
                                      f"15-minute job {fifteen['job_seconds']:.1f}s, ")
        print(f"  {scale} #{repeat + 1}: full job {full['job_seconds']:.1f}s "
              f"(+{full['generate_seconds']:.1f}s generate), {later}peak {full['peak_mib']} MiB", flush=True)

    def median(path: tuple[str, ...]) -> float | None:
        """The median over the repeats; None when a repeat has no figure (a run that did not publish)."""
        values = []
        for run in runs:
            value = run
            for key in path:
                value = value[key]
            values.append(value)
        return None if None in values else round(statistics.median(values), 2)

    summary = {
        "scale": scale, "repeats": repeats, "ga4_events": runs[0]["full"]["ga4_events"],
        "full": {"job_seconds": median(("full", "job_seconds")),
                 "to_publish_seconds": median(("full", "to_publish_seconds")),
                 "generate_seconds": median(("full", "generate_seconds")),
                 "total_seconds": median(("full", "total_seconds")), "peak_mib": median(("full", "peak_mib")),
                 "sandbox_peak_mib": median(("full", "sandbox_peak_mib")),
                 "stages": {s: {"seconds": median(("full", "stages", s, "seconds")),
                                "peak_mib": median(("full", "stages", s, "peak_mib"))} for s in STAGES}},
        "incremental": None if full_only else {
            "job_seconds": median(("incremental", "job_seconds")),
            "to_publish_seconds": median(("incremental", "to_publish_seconds")),
            "peak_mib": median(("incremental", "peak_mib")),
            "stages": {s: {"seconds": median(("incremental", "stages", s, "seconds"))} for s in STAGES}},
        "fifteen_minute": None if full_only else {
            "job_seconds": median(("fifteen_minute", "job_seconds")),
            "to_publish_seconds": median(("fifteen_minute", "to_publish_seconds")),
            "stages": {s: {"seconds": median(("fifteen_minute", "stages", s, "seconds")),
                           "peak_mib": median(("fifteen_minute", "stages", s, "peak_mib"))} for s in STAGES}},
        "warehouse_mib": median(("full", "warehouse_mib")),
        "all_succeeded": all(r["full"]["success"] and (full_only or (r["incremental"]["success"]
                                                                     and r["fifteen_minute"]["success"]))
                             for r in runs),
        "runs": runs,
    }
    if not full_only:
        summary["incremental"]["share_of_full_job"] = round(
            summary["incremental"]["job_seconds"] / summary["full"]["job_seconds"], 3)
        full_publish = summary["full"]["to_publish_seconds"]
        later_publish = summary["incremental"]["to_publish_seconds"]
        summary["incremental"]["share_of_full_to_publish"] = (
            round(later_publish / full_publish, 3) if full_publish and later_publish else None)
    return summary


def print_table(summary: dict) -> None:
    full, inc, fifteen = summary["full"], summary["incremental"], summary["fifteen_minute"]
    print(f"nightly, scale {summary['scale']} ({summary['ga4_events']:,} GA4 events), median of {summary['repeats']}:")
    print(f"  {'stage':<10} {'full s':>8} {'peak MiB':>9} {'incr. s':>8} {'15-min s':>9}")
    for stage in STAGES:
        later = (f"{inc['stages'][stage]['seconds']:>8.1f} {fifteen['stages'][stage]['seconds']:>9.1f}" if inc
                 else f"{'-':>8} {'-':>9}")
        print(f"  {stage:<10} {full['stages'][stage]['seconds']:>8.1f} {full['stages'][stage]['peak_mib']:>9.0f} "
              f"{later}")
    later = (f"{inc['job_seconds']:>8.1f} {fifteen['job_seconds']:>9.1f}   incremental = "
             f"{inc['share_of_full_job']:.0%} of full") if inc else ""
    print(f"  {'job':<10} {full['job_seconds']:>8.1f} {full['peak_mib']:>9.0f} {later}")
    print(f"  {'sandbox':<10} {'':>8} {full['sandbox_peak_mib']:>9.0f}   (its own process, not in the job's peak)")
    figures = [full] + ([inc, fifteen] if inc else [])
    print(f"  {'to publish':<10} " + " ".join(
        f"{'-' if f['to_publish_seconds'] is None else format(f['to_publish_seconds'], '.1f'):>{width}}"
        for f, width in zip(figures, (8, 18, 9), strict=False)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "warehouse" / "bench" / "nightly")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--full-only", action="store_true", help="the full build alone, not the one a day later")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--job", default="nightly", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=date.fromisoformat, default=AS_OF, help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sandbox_child:
        sandbox_child(args.scale, args.as_of, args.sandbox_dir, args.out)
        return 0
    if args.child:
        child(args.warehouse, args.out, args.job)
        return 0
    summary = {"machine": machine_info(), **measure_nightly(args.scale, args.repeats, args.work_dir, args.full_only)}
    print_table(summary)
    out = args.out or ROOT / "bench" / "results" / f"nightly_{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    return 0 if summary["all_succeeded"] else 1


if __name__ == "__main__":
    sys.exit(main())
