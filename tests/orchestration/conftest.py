"""Fixtures of the orchestration tests: a local webhook receiver, and the nightly job run on
the small sandbox (shared by the tests of one module, as each run costs a full dbt build)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.orchestration.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as state:
        yield state
