"""The state-store contract, run on both backends against real servers (SQLite file, redis-server)."""

from __future__ import annotations

import itertools
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from altegio_mcp.settings import Settings
from altegio_mcp.state import Bucket, StateUnavailable, default_path, open_store
from altegio_mcp.state.redisstore import RedisStore
from altegio_mcp.state.sqlite import SqliteStore
from tests.redis_server import free_port
from tests.state.conftest import StoreFactory

pytestmark = pytest.mark.anyio


async def test_put_get_delete(make_store: StoreFactory) -> None:
    store = make_store()
    assert await store.get("cache:a") is None
    await store.put("cache:a", b"\x00one")
    assert await store.get("cache:a") == b"\x00one"
    await store.put("cache:a", b"two")
    assert await make_store().get("cache:a") == b"two"
    await store.delete("cache:a")
    assert await store.get("cache:a") is None
    await store.delete("cache:never-there")


async def test_ttl_expires(make_store: StoreFactory) -> None:
    store = make_store()
    await store.put("cache:short", b"x", ttl=0.6)
    await store.put("cache:long", b"y", ttl=30)
    assert await store.get("cache:short") == b"x"
    await anyio.sleep(0.8)
    assert await store.get("cache:short") is None
    assert await store.get("cache:long") == b"y"


async def test_add_is_set_if_absent_and_an_expired_key_is_absent(make_store: StoreFactory) -> None:
    first, second = make_store(), make_store()
    assert await first.add("tok:1", b"a", ttl=0.6) is True
    assert await second.add("tok:1", b"b", ttl=0.6) is False
    assert await first.get("tok:1") == b"a"
    await anyio.sleep(0.8)
    assert await second.add("tok:1", b"c") is True
    assert await first.get("tok:1") == b"c"


async def test_concurrent_adds_store_exactly_once(make_store: StoreFactory) -> None:
    stores = [make_store() for _ in range(4)]
    wins: list[int] = []

    async def claim(n: int) -> None:
        if await stores[n % len(stores)].add("idem:same", str(n).encode(), ttl=60):
            wins.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(40):
            tg.start_soon(claim, n)
    assert len(wins) == 1
    assert await stores[0].get("idem:same") == str(wins[0]).encode()


async def test_take_hands_a_value_out_once(make_store: StoreFactory) -> None:
    stores = [make_store() for _ in range(3)]
    await stores[0].put("oauth:code", b"grant", ttl=60)
    got: list[bytes] = []

    async def take(n: int) -> None:
        value = await stores[n % 3].take("oauth:code")
        if value is not None:
            got.append(value)

    async with anyio.create_task_group() as tg:
        for n in range(30):
            tg.start_soon(take, n)
    assert got == [b"grant"]
    assert await stores[1].get("oauth:code") is None
    await stores[0].put("oauth:old", b"gone", ttl=0.1)
    await anyio.sleep(0.25)
    assert await stores[0].take("oauth:old") is None


async def test_scan_returns_unexpired_keys_with_the_prefix_only(make_store: StoreFactory) -> None:
    store = make_store()
    await store.put("oauth:client:1", b"a")
    await store.put("oauth:client:2", b"b", ttl=60)
    await store.put("oauth:client:3", b"c", ttl=0.1)
    await store.put("oauth:clientX", b"d")
    await store.put("OAUTH:client:4", b"e")
    await store.put("oauth:100%_*[x]", b"f")
    await store.put("oauth:100x", b"g")
    await anyio.sleep(0.25)
    assert await store.scan("oauth:client:") == [("oauth:client:1", b"a"), ("oauth:client:2", b"b")]
    assert await store.scan("oauth:100%_*[") == [("oauth:100%_*[x]", b"f")]
    assert await store.scan("nothing:") == []


async def test_token_bucket_is_shared_and_refills(make_store: StoreFactory) -> None:
    first, second = make_store(), make_store()
    grants = [await (first if n % 2 else second).acquire("rl:b", rate=10, capacity=3) for n in range(3)]
    assert grants == [0.0, 0.0, 0.0]
    wait = await first.acquire("rl:b", rate=10, capacity=3)
    assert 0 < wait <= 0.1 + 1e-6
    await anyio.sleep(wait + 0.02)
    assert await second.acquire("rl:b", rate=10, capacity=3) == 0.0
    assert await first.acquire("rl:other", rate=1, capacity=1) == 0.0
    heavy = await first.acquire("rl:heavy", rate=1, capacity=2, cost=3)
    assert heavy == pytest.approx(1.0, abs=0.05)


async def test_token_bucket_holds_its_rate_under_contention(make_store: StoreFactory) -> None:
    """Many tasks on two stores, each asking again after the wait it was told: the grants in one
    second stay within capacity + rate."""
    stores = [make_store(), make_store()]
    granted: list[float] = []
    start = anyio.current_time()

    async def worker(n: int) -> None:
        store = stores[n % 2]
        while anyio.current_time() - start < 1.0:
            wait = await store.acquire("rl:contended", rate=20, capacity=5)
            if wait == 0:
                granted.append(anyio.current_time())
            else:
                await anyio.sleep(wait)

    async with anyio.create_task_group() as tg:
        for n in range(10):
            tg.start_soon(worker, n)
    assert 20 <= len(granted) <= 5 + 20 * 1.1 + 1


async def test_unreachable_redis_raises_state_unavailable() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StateUnavailable, match="Redis could not be reached"):
        await store.get("x")
    with pytest.raises(StateUnavailable):
        await store.add("tok:x", b"1", ttl=5)
    with pytest.raises(StateUnavailable):
        await store.acquire("rl:x", rate=1, capacity=1)
    await store.aclose()


async def test_sqlite_file_is_private_wal_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.sqlite3"
    store = SqliteStore(path)
    assert await store.add("tok:kept", b"1", ttl=600)
    await store.aclose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = SqliteStore(path)
    assert await reopened.add("tok:kept", b"2", ttl=600) is False
    assert await reopened.get("tok:kept") == b"1"
    await reopened.aclose()


async def test_sqlite_fresh_file_opened_by_many_at_once(tmp_path: Path) -> None:
    """Connections that open a new file together race to switch it to WAL; SQLite refuses one of
    them at once ("database is locked", no busy wait). Each open must still succeed."""
    for trial in range(40):
        path = tmp_path / f"fresh{trial}" / "state.sqlite3"
        stores = [SqliteStore(path) for _ in range(8)]
        async with anyio.create_task_group() as tg:
            for n, store in enumerate(stores):
                tg.start_soon(store.add, f"k{n}", b"v")
        assert all([await store.get(f"k{n}") == b"v" for n, store in enumerate(stores)])
        for store in stores:
            await store.aclose()


ADD_IN_PROCESS = """
import sys, anyio
from pathlib import Path
from altegio_mcp.state.sqlite import SqliteStore
async def main():
    store = SqliteStore(Path(sys.argv[1]))
    won = [n for n in range(60) if await store.add(f"idem:{n}", sys.argv[2].encode(), ttl=60)]
    await store.aclose()
    print(",".join(map(str, won)))
anyio.run(main)
"""


def test_sqlite_add_is_atomic_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_IN_PROCESS, str(path), f"p{n}"], stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    outputs = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    won = [int(k) for out in outputs for k in out.split(",") if k]
    assert sorted(won) == list(range(60))


def test_open_store_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALTEGIO_REDIS_URL", "redis://127.0.0.1:1/0")
    assert open_store(Settings()).backend == "redis"
    monkeypatch.delenv("ALTEGIO_REDIS_URL")
    default = open_store(Settings())
    assert isinstance(default, SqliteStore)
    assert default.path == default_path()
    assert default_path().name == "state.sqlite3"
    sandbox = open_store(Settings(sandbox=True))
    assert isinstance(sandbox, SqliteStore)
    assert sandbox.path is None


async def test_acquire_all_takes_from_every_bucket_or_from_none(make_store: StoreFactory) -> None:
    store = make_store()
    wide, narrow = Bucket("rl:wide", 0.01, 10), Bucket("rl:narrow", 10, 2)
    assert await store.acquire_all([wide, narrow]) == 0.0
    assert await store.acquire_all([wide, narrow]) == 0.0
    wait = await store.acquire_all([wide, narrow])
    assert 0.05 < wait <= 0.1 + 1e-6
    # The refused call took nothing from `wide`: 8 tokens are left there, not 7.
    grants = [await store.acquire("rl:wide", rate=0.01, capacity=10) for _ in range(8)]
    assert grants == [0.0] * 8
    assert await store.acquire("rl:wide", rate=0.01, capacity=10) > 0
    with pytest.raises(ValueError, match="positive rate"):
        await store.acquire_all([Bucket("rl:bad", 0, 1)])


async def test_sqlite_waits_for_another_writer_off_the_event_loop(tmp_path: Path) -> None:
    """Another connection (another process, as far as SQLite knows) holds the write lock for
    0.5 s: `add` waits for it in a worker thread while the event loop keeps running."""
    path = tmp_path / "state.sqlite3"
    store = SqliteStore(path)
    assert await store.add("tok:warm", b"1")  # opens the database
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    ticks: list[float] = []
    waited = 0.0

    async def ticker() -> None:
        while True:
            ticks.append(anyio.current_time())
            await anyio.sleep(0.02)

    async def release_later() -> None:
        await anyio.sleep(0.5)
        other.execute("COMMIT")

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        tg.start_soon(release_later)
        started = anyio.current_time()
        assert await store.add("tok:late", b"2") is True
        waited = anyio.current_time() - started
        tg.cancel_scope.cancel()
    other.close()
    await store.aclose()
    assert waited >= 0.4
    assert len(ticks) >= 10  # the loop ticked all along
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.25
