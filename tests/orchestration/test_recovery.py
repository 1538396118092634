"""``northstar run`` survives being killed, stopped and doubled, end to end on the small sandbox.

Real processes and real signals: the CLI runs as a subprocess on configured sources pointing
at a sandbox server this module starts, with a Dagster instance (DAGSTER_HOME) and a
warehouse of its own, and the run-failure alerts going to a local webhook receiver. One
scenario, in order, shared by the tests (each full run costs a dbt build):

1. run A is killed with ``kill -9`` once its dbt step started: it stays STARTED in the instance,
   holding the ``warehouse`` pool's only slot (what blocked every later run forever);
2. run B recovers A (marks it failed, frees the slot, alerts naming it) and publishes; while B
   builds, run C starts and refuses in one line naming B's process;
3. run D gets SIGTERM during its dbt step, run E SIGINT during ingestion: each stops at once,
   is marked failed, frees the slot, keeps its draft, publishes nothing, says so in one line.

Every wait is on a line of output or a process state, bounded by a generous timeout; nothing
asserts on elapsed time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from sandbox.client_env import source_env
from sandbox.server import start_server
from sandbox.simulation import simulate
from tests.orchestration.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.slow

START, AS_OF = date(2025, 1, 1), date(2025, 3, 1)
STEP_TIMEOUT = 600  # seconds: a bound for a hung run, far above a slow machine's dbt build
RUN_TIMEOUT = 900


class Northstar:
    """``northstar <args>`` as a subprocess whose output lines are collected as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "orchestration.cli", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for(self, text: str, timeout: float = STEP_TIMEOUT) -> str:
        """The first stdout line containing ``text``; fails if the process ends first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((line for line in self.out if text in line), None)
                if found is not None:
                    return found
                if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                    pytest.fail(f"exited ({self.proc.returncode}) before printing {text!r}:\n{self.output}")
                if time.monotonic() > deadline:
                    pytest.fail(f"no {text!r} within {timeout}s:\n{self.output}")
                self._changed.wait(timeout=1)

    def finish(self, timeout: float = RUN_TIMEOUT) -> int:
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=30)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.out + ["--- stderr ---"] + self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Scenario:
    root: Path
    env: dict[str, str]
    receiver: Receiver
    started: list[Northstar] = field(default_factory=list)

    @property
    def published(self) -> Path:
        return Path(self.env["NORTHSTAR_WAREHOUSE"])

    def northstar(self, *args: str) -> Northstar:
        process = Northstar(self.env, *args)
        self.started.append(process)
        return process

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(self.env["DAGSTER_HOME"])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("recovery")
    sim = simulate(42, START, AS_OF, "small", root / "ga4")
    server = start_server(sim.world, port=0)
    with running_receiver() as receiver:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SOURCES__", "NORTHSTAR_", "DAGSTER_HOME"))}
        env.update(source_env(server.base_url, START, AS_OF))
        env["NORTHSTAR_WAREHOUSE"] = str(root / "warehouse" / "northstar.duckdb")
        env["DAGSTER_HOME"] = str(root / "dagster")
        env["NORTHSTAR_ALERT_WEBHOOK"] = receiver.url
        state = Scenario(root, env, receiver)
        try:
            yield state
        finally:
            for process in state.started:
                process.kill()
            server.shutdown()


def processes_of(root: Path) -> list[int]:
    """Processes (a worker, a dbt) whose environment names this scenario's folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if str(root).encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_until_gone(root: Path, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while processes_of(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes_of(root)


def lock_is_free(published: Path) -> bool:
    fd = os.open(published.parent / f".{published.name}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@dataclass
class Crash:
    dead_run_id: str
    slot_holders: set[str]
    left_behind: list[int]


@pytest.fixture(scope="module")
def crash(scenario) -> Crash:
    """Run A, killed with kill -9 once its dbt build started."""
    first = scenario.northstar("run")
    first.wait_for("] dbt_build: started")
    os.kill(first.pid, signal.SIGKILL)
    first.finish()
    left_behind = wait_until_gone(scenario.root)
    instance = scenario.instance()
    [dead] = instance.get_runs()
    holders = {slot.run_id for slot in instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots}
    assert dead.status == DagsterRunStatus.STARTED  # what a kill -9 leaves: nobody reports the end
    return Crash(dead.run_id, holders, left_behind)


@dataclass
class Recovery:
    second: Northstar
    code: int
    refused: Northstar
    refused_code: int
    digest: str


@pytest.fixture(scope="module")
def recovery(scenario, crash) -> Recovery:
    """Run B after the crash; run C started while B builds."""
    second = scenario.northstar("run")
    second.wait_for("] dbt_build: started")
    refused = scenario.northstar("run")
    refused_code = refused.finish()
    code = second.finish()
    return Recovery(second, code, refused, refused_code, md5(scenario.published))


def test_a_killed_run_leaves_no_process_and_holds_the_slot_until_the_next_run(crash):
    assert crash.left_behind == []  # the worker and its dbt died with the killed process
    assert crash.slot_holders == {crash.dead_run_id}


def test_the_next_run_marks_the_dead_run_failed_frees_its_slot_and_publishes(scenario, crash, recovery):
    assert recovery.code == 0, recovery.second.output
    [recovered] = [line for line in recovery.second.out if "recovered:" in line]
    assert recovered.startswith(f"  recovered: run {crash.dead_run_id} of nightly died without "
                                "finishing (process ")
    assert recovered.endswith(f" on {os.uname().nodename} is gone): marked failed, its warehouse slot freed")
    assert f"published to {scenario.published}" in recovery.second.output
    assert recovery.second.out[-1].startswith("northstar run (production): ok in ")
    instance = scenario.instance()
    assert instance.get_run_by_id(crash.dead_run_id).status == DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []


def test_an_alert_names_the_dead_run(scenario, crash, recovery):
    texts = [body["text"] for body in scenario.receiver.bodies]
    dead = [t for t in texts if t.startswith(f"Northstar: run {crash.dead_run_id[:8]} of nightly failed: "
                                             "died without finishing")]
    assert len(dead) == 1, texts
    assert "which freed its warehouse slot" in dead[0]


def test_a_second_run_at_once_refuses_in_one_line_naming_the_holder(scenario, recovery):
    assert recovery.refused_code == 2
    assert recovery.refused.out == []
    [line] = recovery.refused.err
    assert line.startswith(f"northstar: error: warehouse {scenario.published} is in use by another "
                           f"northstar run (pid {recovery.second.pid} on {os.uname().nodename}, run ")
    assert line.endswith("one run at a time: try again when it has finished")


def _stopped(scenario, recovery, stop_at: str, signum: int) -> tuple[Northstar, int, str]:
    run = scenario.northstar("run")
    run.wait_for(stop_at)
    os.kill(run.pid, signum)
    code = run.finish()
    [line] = run.err  # nothing else on stderr: one line says what happened
    return run, code, line


@pytest.mark.parametrize(("stop_at", "signum", "status"), [
    ("] dbt_build: started", signal.SIGTERM, 143),
    ("] ingest_ga4: succeeded", signal.SIGINT, 130),  # between two steps: Dagster deferred it
])
def test_a_signal_stops_the_run_marks_it_failed_and_publishes_nothing(scenario, recovery, stop_at, signum, status):
    run, code, line = _stopped(scenario, recovery, stop_at, signum)
    assert code == status, run.output
    name = signal.Signals(signum).name
    assert line.startswith(f"northstar run: interrupted by {name}: run ")
    run_id = line.split(": run ", 1)[1].split(" ", 1)[0]
    draft = scenario.published.parent / ".drafts" / run_id / "northstar.duckdb"
    assert line == (f"northstar run: interrupted by {name}: run {run_id} marked failed, its warehouse "
                    "slot freed; nothing published (the last published warehouse is unchanged); its "
                    f"draft is kept for inspection: {draft}")
    assert draft.exists()
    assert md5(scenario.published) == recovery.digest
    assert "Traceback" not in run.output
    instance = scenario.instance()
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []
    assert wait_until_gone(scenario.root) == [] and lock_is_free(scenario.published)
    texts = [body["text"] for body in scenario.receiver.bodies]
    assert f"Northstar: run {run_id[:8]} of nightly failed: interrupted by {name}" in texts
