"""The machine a benchmark ran on, for the header of every result.

Figures mean little without the cores and memory they were measured with (issue 6), and dbt
and DuckDB versions move them, so every result file carries this dict.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb")


def memory_gib() -> float | None:
    """Total memory in GiB from /proc/meminfo (None where there is no /proc, e.g. macOS)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        return None
    return None


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: on a shared machine, how much else was running."""
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict:
    """Cores, memory, load, platform and the versions that decide the figures."""
    return {
        "cpu_count": os.cpu_count(),
        "memory_gib": memory_gib(),
        "load_average": load_average(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in PACKAGES},
    }


def header_line(info: dict) -> str:
    """One line for a printed table: `2 cores, 23.4 GiB, load 1.2, dbt-core 1.11.16, ...`."""
    versions = ", ".join(f"{name} {v}" for name, v in info["versions"].items() if v)
    after = info.get("load_average_after")
    load = f"load {info['load_average'][0]}" if info["load_average"] else ""
    load += f" -> {after[0]}" if load and after else ""
    load += ", " if load else ""
    return f"{info['cpu_count']} cores, {info['memory_gib']} GiB, {load}{versions}"
