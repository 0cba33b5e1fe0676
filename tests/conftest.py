"""Fixtures shared by the whole suite: the anyio backend, a fake clock, canary secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import RedisServer

CANARY_PARTNER = "canary-partner-7f3a9c1e"
CANARY_USER = "canary-user-5b2d8e40"
CANARY_PASSWORD = "canary-password-c0ffee99"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session", autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped fixtures run before the per-test isolation below: they too get a
    temporary state dir, never the real one (the state store, the audit file and the series ledger
    live there, and a state store kept between runs would remember earlier runs' creates)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("session-state")))
        yield


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's ALTEGIO_* variables, stored token or real config directory."""
    import os

    for name in list(os.environ):
        if name.startswith("ALTEGIO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ALTEGIO_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("ALTEGIO_CREDENTIAL_STORE", "file")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session (tests flush it before use)."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    if not redis_server.ping():
        redis_server.start()
    redis_server.command("FLUSHALL")
    return redis_server.url
