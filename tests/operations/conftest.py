"""Fixtures the operation tests opt into; the shared fake upstream's asserts get pytest's rewriting."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.operations.upstream")


@pytest.fixture
def own_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The server keeps its series ledger and audit under the user state dir: use a fresh one."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
