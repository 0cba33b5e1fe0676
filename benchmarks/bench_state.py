"""Added latency of the state store, per backend: what each client call, confirmation and create
pays for keeping its state in SQLite (the default) or Redis instead of in one process.

Run: `.venv/bin/python benchmarks/bench_state.py` (starts its own redis-server on 127.0.0.1 when
`redis-server` is installed; otherwise only SQLite is measured). Prints medians and p95s:

- the raw store operations (`add`, `get`, `acquire`, and `acquire_all` over the four buckets the
  shared limiter takes from per call);
- one upstream call through `AltegioClient` against the in-process sandbox, without a store (the
  in-process limiter) and with each backend (the shared limiter: the caller's fair-share buckets
  and the global buckets); the difference is the added latency per call;
- a redeemed confirmation token (one atomic `add`) and a create's idempotency claim and settle;
- the fair share: a caller flooding the limiter with 20 concurrent requests against a caller with
  one, on the in-process limiter (first come, first served) and on the shared one.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from altegio_mcp.client import AltegioClient
from altegio_mcp.confirm import ConfirmationTokens
from altegio_mcp.operations.idempotency import CreateKey
from altegio_mcp.ratelimit import RateLimiter, SharedRateLimiter
from altegio_mcp.sandbox import (
    DEMO_PARTNER_TOKEN,
    DEMO_USER_TOKEN,
    NEW_YORK_LOCATION_ID,
    create_sandbox,
)
from altegio_mcp.server import SANDBOX_BASE_URL
from altegio_mcp.settings import Settings
from altegio_mcp.state import Bucket, StateStore
from altegio_mcp.state.redisstore import RedisStore
from altegio_mcp.state.sqlite import SqliteStore
from tests.redis_server import RedisServer

N = 400


async def timed(n: int, action: Callable[[int], Awaitable[object]]) -> list[float]:
    samples: list[float] = []
    for i in range(n):
        started = time.perf_counter()
        await action(i)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):8.0f} µs   p95 {p95:8.0f} µs"


def settings() -> Settings:
    from pydantic import SecretStr

    return Settings(
        partner_token=SecretStr(DEMO_PARTNER_TOKEN),
        user_token=SecretStr(DEMO_USER_TOKEN),
        base_url=SANDBOX_BASE_URL,
        location_id=NEW_YORK_LOCATION_ID,
        rate_per_second=1e9,
        rate_per_minute=10**12,
    )


async def store_ops(name: str, store: StateStore) -> None:
    print(f"\n[{name}]")
    print(
        f"  store.add            {summary(await timed(N, lambda i: store.add(f'bench:add:{i}', b'1', ttl=60)))}"
    )
    print(f"  store.get            {summary(await timed(N, lambda i: store.get(f'bench:add:{i}')))}")
    print(
        "  store.acquire        "
        + summary(await timed(N, lambda _i: store.acquire("bench:bucket", rate=1e9, capacity=1e9)))
    )
    four = [Bucket(f"bench:b{n}", 1e9, 1e9) for n in range(4)]
    print(f"  store.acquire_all(4) {summary(await timed(N, lambda _i: store.acquire_all(four)))}")
    tokens = ConfirmationTokens(b"k" * 32, store=store)
    minted = [tokens.mint("delete_appointment", {"appointment_id": i}, "local") for i in range(N)]
    redeem = await timed(
        N, lambda i: tokens.redeem(minted[i], "delete_appointment", {"appointment_id": i}, "local")
    )
    print(f"  redeem a token       {summary(redeem)}")
    config = settings()

    async def nothing() -> None:
        return None

    async def claim(i: int) -> None:
        key = CreateKey(store, f"bench:{i}", config, "POST", "/records/1")
        await key.claim(nothing)
        await key.settle(None)

    print(f"  create claim+settle  {summary(await timed(N, claim))}")


async def client_calls(stores: dict[str, StateStore | None]) -> None:
    """One upstream call per client in turn (so machine load hits every variant alike)."""
    sandbox = create_sandbox()
    path = f"/company/{NEW_YORK_LOCATION_ID}"
    samples: dict[str, list[float]] = {name: [] for name in stores}
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(
                AltegioClient(settings(), transport=sandbox.transport(), state=store)
            )
            for name, store in stores.items()
        }
        for client in clients.values():
            await client.request("GET", path)
        for _ in range(N):
            for name, client in clients.items():
                started = time.perf_counter()
                await client.request("GET", path)
                samples[name].append((time.perf_counter() - started) * 1e6)
    baseline = statistics.median(samples["none"])
    print("\n[one upstream call through AltegioClient, in-process sandbox]")
    for name, values in samples.items():
        added = statistics.median(values) - baseline
        extra = "" if name == "none" else f"   added per call: {added:5.0f} µs"
        print(f"  {name:<8} {summary(values)}{extra}")


async def fairness(name: str, limiter: RateLimiter | SharedRateLimiter, seconds: float = 3.0) -> None:
    """20 concurrent loops of one caller against one loop of another, at 20 requests/s in all:
    the quiet caller's share of the grants and its wait per call."""
    grants: Counter[str] = Counter()
    waits: list[float] = []
    start = time.perf_counter()

    async def loop(caller: str) -> None:
        while time.perf_counter() - start < seconds:
            asked = time.perf_counter()
            await limiter.acquire(caller)
            if time.perf_counter() - start < seconds:
                grants[caller] += 1
                if caller == "quiet":
                    waits.append(time.perf_counter() - asked)

    with anyio.move_on_after(seconds + 0.5):
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(loop, "flood")
            await anyio.sleep(0.05)
            tg.start_soon(loop, "quiet")
    total = grants["flood"] + grants["quiet"]
    worst = max(waits) if waits else seconds
    print(
        f"  {name:<30} quiet caller got {grants['quiet']:3d} of {total:3d} grants "
        f"({grants['quiet'] / max(total, 1):4.0%}); its wait per call: median "
        f"{statistics.median(waits) * 1000 if waits else seconds * 1000:6.0f} ms, worst {worst * 1000:6.0f} ms"
    )


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="altegio-bench-state-"))
    stores: dict[str, StateStore | None] = {"none": None, "sqlite": SqliteStore(workdir / "state.sqlite3")}
    server: RedisServer | None = None
    if shutil.which("redis-server") is not None:
        server = RedisServer()
        server.start()
        stores["redis"] = RedisStore(server.url)
    try:
        for name, store in stores.items():
            if store is not None:
                await store_ops(name, store)
        await client_calls(stores)
        print("\n[fair share: 20 loops of one caller against 1 loop of another, 20 requests/s]")
        await fairness("in-process limiter (FIFO)", RateLimiter(20, 100_000))
        for name, store in stores.items():
            if store is not None:
                shared = SharedRateLimiter(store, f"fair-{name}", 20, 100_000, local=RateLimiter(20, 100_000))
                await fairness(f"shared limiter, {name}", shared)
        if server is None:
            print("\n[redis] skipped: redis-server is not installed")
    finally:
        for store in stores.values():
            if store is not None:
                await store.aclose()
        if server is not None:
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    anyio.run(main)
