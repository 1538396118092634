"""A throwaway PostgreSQL 15 cluster in a temporary folder, on a free port, for the engine tests.

initdb refuses to run as root, and the tests run as root here: so the cluster's programs run as
the ``postgres`` system user (``runuser``) when this process is root, else as the test user.
The folder is made that user's. The server listens on 127.0.0.1 only, with password
authentication for TCP (the password never leaves this module's objects: no log prints it).
When the cluster cannot start, :func:`start_cluster` raises with PostgreSQL's own log: the
tests fail loudly, never skip.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("NORTHSTAR_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "northstar"


@dataclass
class Cluster:
    """A running cluster: connect with :attr:`env` (NORTHSTAR_PG_* variables) or :meth:`dsn`."""

    folder: Path
    port: int
    password: str
    os_user: str | None

    host: str = "127.0.0.1"
    user: str = SUPERUSER
    database: str = "northstar"

    @property
    def env(self) -> dict[str, str]:
        """The settings the project reads (profiles.yml, ingestion/warehouse.py)."""
        return {"NORTHSTAR_PG_HOST": self.host, "NORTHSTAR_PG_PORT": str(self.port),
                "NORTHSTAR_PG_USER": self.user, "NORTHSTAR_PG_PASSWORD": self.password,
                "NORTHSTAR_PG_DATABASE": self.database}

    def connect(self, database: str | None = None):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=database or self.database)

    def stop(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
             self.os_user, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str], os_user: str | None, check: bool = True) -> subprocess.CompletedProcess:
    if os_user is not None:
        command = ["runuser", "-u", os_user, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise RuntimeError(f"{Path(command[command.index('--') + 1] if os_user else command[0]).name} "
                           f"failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-2000:]}")
    return result


def start_cluster() -> Cluster:
    """initdb + pg_ctl start a cluster in a new temporary folder; the database ``northstar`` exists."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL 15 is not installed: no {PG_BIN / 'initdb'} "
                           "(apt-get install postgresql-15, or set NORTHSTAR_PG_BIN)")
    os_user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="northstar-pg-"))
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    password = secrets.token_urlsafe(16)
    pwfile = folder / "pwfile"
    pwfile.write_text(password + "\n")
    if os_user is not None:
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    pwfile.chmod(0o600)
    data = folder / "data"
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
              "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8"], os_user)
        pwfile.unlink()
        port = _free_port()
        options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} " \
                  "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"),
              "-w", "-t", "60", "start"], os_user)
    except Exception as exc:
        log = folder / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"cannot start a PostgreSQL cluster in {folder}: {exc}\n{detail}") from None
    cluster = Cluster(folder, port, password, os_user)
    try:
        con = cluster.connect("postgres")
        try:
            con.autocommit = True  # create database refuses a transaction block
            con.cursor().execute(f"create database {cluster.database}")
        finally:
            con.close()
    except Exception:
        cluster.stop()  # never leave a server running behind a failed start
        raise
    return cluster
