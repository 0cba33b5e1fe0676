"""State that outlives one process and is shared by replicas: used confirmation tokens, rate
buckets, idempotency keys, the resource cache, OAuth grants.

Two backends behind one small interface (`StateStore`):

- `SqliteStore`, the default: one SQLite file in the user state dir (mode 0600, WAL, a busy
  timeout, `BEGIN IMMEDIATE` around every read-modify-write), so it survives restarts and several
  local processes can share it. The sandbox demo uses a private in-memory database instead.
- `RedisStore`, when `ALTEGIO_REDIS_URL` is set: the asyncio client of the `redis` package, with
  Lua scripts where a check-and-set must be atomic, so several replicas share one truth.

Keys are namespaced by the caller of the store (`tok:`, `rl:`, `idem:`, `cache:`, `oauth:`);
values are bytes, TTLs are seconds. When the store cannot be reached, every method raises
`StateUnavailable`; callers decide whether to fail closed (writes, confirmations) or degrade
(reads keep a local limiter).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

import platformdirs

if TYPE_CHECKING:
    from altegio_mcp.settings import Settings

APP_NAME = "altegio-mcp"
DB_NAME = "state.sqlite3"


class StateUnavailable(Exception):
    """The shared store cannot be reached (Redis down). Writes and confirmations fail closed on it."""


class Bucket(NamedTuple):
    """A token bucket: `rate` tokens per second, holding at most `capacity`; a new one starts full."""

    key: str
    rate: float
    capacity: float


def check_buckets(buckets: Sequence[Bucket]) -> None:
    if not buckets:
        raise ValueError("no bucket to take from")
    for b in buckets:
        if b.rate <= 0 or b.capacity <= 0:
            raise ValueError(f"bucket {b.key}: a token bucket needs a positive rate and capacity")


class StateStore(Protocol):
    """Keys and values with optional TTLs, plus atomic set-if-absent, take and token buckets."""

    backend: str

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Atomic set-if-absent (an expired key counts as absent); True if this call stored it."""
        ...

    async def take(self, key: str) -> bytes | None:
        """Atomic get-and-delete, for single-use things."""
        ...

    async def delete(self, key: str) -> None: ...

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every unexpired key starting with `prefix`, with its value."""
        ...

    async def acquire(self, bucket: str, *, rate: float, capacity: float, cost: float = 1.0) -> float:
        """Token bucket, atomic across processes: 0.0 = granted (tokens consumed); > 0 = not
        granted, seconds to wait before asking again. A new bucket starts full."""
        ...

    async def acquire_all(self, buckets: Sequence[Bucket], *, cost: float = 1.0) -> float:
        """Several buckets at once, atomically: all grant (each gives `cost`) and 0.0 comes back,
        or none gives anything and the longest wait comes back."""
        ...

    async def aclose(self) -> None: ...


def default_path() -> Path:
    """`state.sqlite3` in the user state dir (`XDG_STATE_HOME` on Linux)."""
    return platformdirs.user_state_path(APP_NAME) / DB_NAME


def open_store(settings: Settings, *, path: Path | None = None) -> StateStore:
    """Redis when `ALTEGIO_REDIS_URL` is set; otherwise SQLite at `path` (default: the user state
    dir), or in memory for the sandbox demo. Nothing connects until the first call."""
    if settings.redis_url is not None:
        from altegio_mcp.state.redisstore import RedisStore

        return RedisStore(settings.redis_url.get_secret_value())
    from altegio_mcp.state.sqlite import SqliteStore

    if path is None and settings.sandbox:
        return SqliteStore(None)
    return SqliteStore(path or default_path())


def memory_store() -> StateStore:
    """A private in-memory SQLite store: for one process that needs nothing shared or kept."""
    from altegio_mcp.state.sqlite import SqliteStore

    return SqliteStore(None)


__all__ = [
    "Bucket",
    "StateStore",
    "StateUnavailable",
    "check_buckets",
    "default_path",
    "memory_store",
    "open_store",
]
