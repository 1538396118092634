"""No secret at any log level: ``RUNTIME__LOG_LEVEL=DEBUG`` runs leak no credential anywhere.

dlt logs every request's headers at DEBUG (Google Ads' ``developer-token``); under Dagster that
output is also kept in the compute logs of ``DAGSTER_HOME``. The runs below use the sandbox's
real credentials (the values configured through ``SOURCES__*``, whatever the sources' auth
settings are called), and every byte they leave is searched for them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.common.redaction import RedactingFilter, is_secret_setting, redact
from ingestion.run import SOURCES
from sandbox.client_env import source_env


def configured_secrets(server) -> dict[str, str]:
    """Setting name -> value, for every secret setting of every source."""
    env = source_env(server.base_url, server.world.start, server.world.as_of)
    secrets = {k: v for k, v in env.items() if is_secret_setting(k)}
    assert "SOURCES__GOOGLE_ADS__TOKEN_URL" not in secrets  # an address, not a credential
    assert {k.split("__")[1].lower() for k in secrets} >= {"stripe", "google_ads", "meta_ads",
                                                            "linkedin_ads"}
    return secrets


def leaks(secrets: dict[str, str], text: bytes | str, where: str) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode()
    return [f"{name} in {where}" for name, value in secrets.items() if value.encode() in data]


def leaks_in_files(secrets: dict[str, str], folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            found += leaks(secrets, path.read_bytes(), str(path.relative_to(folder)))
    return found


def debug_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "RUNTIME__LOG_LEVEL": "DEBUG", **extra}


# --- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("line, shown", [
    ("headers={'developer-token': 'dev-tok-123', 'Authorization': 'Bearer ya29.a0AfB_x'}",
     "headers={'developer-token': '***', 'Authorization': 'Bearer ***'}"),
    ("GET /v19.0/act_1/insights?fields=spend&access_token=EAAB9zZ&limit=100 HTTP/1.1",
     "GET /v19.0/act_1/insights?fields=spend&access_token=***&limit=100 HTTP/1.1"),
    ('data={"client_id": "42.apps", "client_secret": "GOCSPX-1a", "refresh_token": "1//0gAbCdEfGhIj"}',
     'data={"client_id": "***", "client_secret": "***", "refresh_token": "***"}'),
    ("data=[('refresh_token', 'r-tok'), ('grant_type', 'refresh_token')]",
     "data=[('refresh_token', '***'), ('grant_type', 'refresh_token')]"),
    ("Authorization: Basic c2tfdGVzdF94eXo6", "Authorization: Basic ***"),
    ("key sk_live_51HxYz_abc refused; https://maps.example/api?key=AIzaSy9&q=1",
     "key *** refused; https://maps.example/api?key=***&q=1"),
    ("Basic authentication failed: no Bearer token sent", "Basic authentication failed: no Bearer token sent"),
])
def test_credentials_are_redacted_and_the_rest_is_kept(line, shown):
    assert redact(line) == shown


def test_configured_secret_values_are_redacted_wherever_they_appear(monkeypatch):
    monkeypatch.setenv("SOURCES__SOMEWHERE__CLIENT_SECRET", "plain-words-secret")
    assert redact("error: plain-words-secret was refused") == "error: *** was refused"


def test_every_record_is_redacted_whatever_logger_and_handler(caplog):
    """Records of any logger, formatted by any handler, even one added after the import."""
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "GET /act_1/campaigns?access_token=%s HTTP/1.1" 200', "http://h:1", "EAAxyz123")
        try:
            raise ValueError("Bearer sk_test_abc123 refused")
        except ValueError:
            logging.getLogger("dlt").exception("failed")
    text = caplog.text
    assert "access_token=***" in text and "EAAxyz123" not in text
    assert "sk_test_abc123" not in text and "ValueError: Bearer ***" in text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "Bearer %s", ("tok-123456",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "Bearer ***"


# --- real runs at DEBUG -------------------------------------------------------------------------


def test_northstar_ingest_at_debug_leaks_no_secret(sandbox_env, warehouse):
    secrets = configured_secrets(sandbox_env)
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest"], env=debug_env(),
                          capture_output=True, timeout=600, check=False)

    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output.decode(errors="replace")[-3000:]
    assert all(f"{name}: loaded".encode() in proc.stdout for name in SOURCES), proc.stdout
    assert leaks(secrets, output, "stdout/stderr") == []
    assert leaks_in_files(secrets, warehouse.parent) == []
    # DEBUG was on, and the request logs that used to show credentials are there, redacted
    assert b"[DEBUG]" in output and b"'developer-token': '***'" in output


DAGSTER_INGEST = """
from dagster import DagsterInstance, materialize
from dagster_dlt import DagsterDltResource

from orchestration.assets.ingestion import INGESTION_ASSETS
from orchestration.dagster_home import ensure_dagster_home
from orchestration.resources import WarehouseResource

ensure_dagster_home()
assets = [a for a in INGESTION_ASSETS if a.node_def.name != "ingest_ga4"]
result = materialize(assets, instance=DagsterInstance.get(),
                     resources={"dlt": DagsterDltResource(), "warehouse": WarehouseResource()})
print("materialized:", result.success)
"""


def test_a_dagster_materialization_at_debug_leaks_no_secret(sandbox_env, warehouse, tmp_path):
    """The sources with credentials, materialized by Dagster: compute logs, event log, draft."""
    secrets = configured_secrets(sandbox_env)
    home = tmp_path / "dagster"
    proc = subprocess.run([sys.executable, "-c", DAGSTER_INGEST],
                          env=debug_env(DAGSTER_HOME=str(home)),
                          capture_output=True, timeout=600, check=False)

    output = proc.stdout + proc.stderr
    assert b"materialized: True" in proc.stdout, output.decode(errors="replace")[-3000:]
    assert leaks(secrets, output, "stdout/stderr") == []
    assert leaks_in_files(secrets, home) == []
    assert leaks_in_files(secrets, warehouse.parent) == []
    # the compute logs kept dlt's DEBUG request lines, redacted
    compute_logs = b"".join(p.read_bytes() for p in home.glob("storage/*/compute_logs/*"))
    assert b"'developer-token': '***'" in compute_logs
