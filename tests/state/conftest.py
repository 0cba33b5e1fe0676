"""Fixtures for the state-store tests: stores on both backends, sharing one instance per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from altegio_mcp.state import StateStore
from altegio_mcp.state.redisstore import RedisStore
from altegio_mcp.state.sqlite import SqliteStore

StoreFactory = Callable[[], StateStore]


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Opens stores that share one backend instance (as two processes or replicas would)."""
    opened: list[StateStore] = []
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")

        def factory() -> StateStore:
            opened.append(RedisStore(url))
            return opened[-1]
    else:

        def factory() -> StateStore:
            opened.append(SqliteStore(tmp_path / "state" / "state.sqlite3"))
            return opened[-1]

    yield factory
    for store in opened:
        await store.aclose()
