"""The shared rate limiter on both backends: one global budget across processes, a fair share per
caller inside it, and a local fallback for reads (never for writes) when the store is down."""

from __future__ import annotations

from collections import Counter

import anyio
import pytest

from altegio_mcp.errors import StateStoreUnreachable
from altegio_mcp.ratelimit import RateLimiter, SharedRateLimiter
from altegio_mcp.state.redisstore import RedisStore
from tests.redis_server import free_port
from tests.state.conftest import StoreFactory

pytestmark = pytest.mark.anyio

RATE = 20.0


def limiter(
    store_factory: StoreFactory, per_second: float = RATE, per_minute: float = 100_000
) -> SharedRateLimiter:
    return SharedRateLimiter(
        store_factory(),
        "partner",
        per_second,
        per_minute,
        local=RateLimiter(per_second, per_minute),
    )


async def flood(
    limiters: list[SharedRateLimiter], callers: dict[str, int], seconds: float
) -> list[tuple[float, str]]:
    """`callers[name]` concurrent loops per caller, spread over the limiters; every grant logged."""
    grants: list[tuple[float, str]] = []
    start = anyio.current_time()

    async def loop(lim: SharedRateLimiter, caller: str) -> None:
        while anyio.current_time() - start < seconds:
            await lim.acquire(caller)
            grants.append((anyio.current_time() - start, caller))

    async with anyio.create_task_group() as tg:
        n = 0
        for caller, tasks in callers.items():
            for _ in range(tasks):
                tg.start_soon(loop, limiters[n % len(limiters)], caller)
                n += 1
    return [(t, c) for t, c in grants if t < seconds]


async def test_global_rate_holds_across_two_processes(make_store: StoreFactory) -> None:
    limiters = [limiter(make_store), limiter(make_store)]
    grants = await flood(limiters, {"a": 6, "b": 6}, 2.0)
    # The bucket starts full (capacity = one second's worth), then refills at RATE.
    assert len(grants) <= RATE * 2.0 + RATE + 2
    steady = [t for t, _ in grants if t >= 1.0]
    assert len(steady) <= RATE * 1.0 * 1.15 + 1


async def test_a_flooding_caller_does_not_starve_another(make_store: StoreFactory) -> None:
    """Caller `flood` runs 20 concurrent loops, `quiet` one loop: each still gets about half."""
    limiters = [limiter(make_store), limiter(make_store)]
    await limiters[0].acquire("quiet")  # both are active from the start
    grants = await flood(limiters, {"flood": 20, "quiet": 1}, 2.0)
    counts = Counter(c for t, c in grants if t >= 0.5)
    total = counts["flood"] + counts["quiet"]
    assert total > 0
    assert counts["quiet"] / total >= 0.35, counts


async def test_one_caller_alone_gets_the_whole_budget(make_store: StoreFactory) -> None:
    grants = await flood([limiter(make_store)], {"solo": 8}, 1.5)
    steady = [t for t, _ in grants if t >= 0.5]
    assert len(steady) >= RATE * 1.0 * 0.8


async def test_store_down_reads_use_the_local_limiter_and_writes_fail_closed() -> None:
    lim = SharedRateLimiter(
        RedisStore(f"redis://127.0.0.1:{free_port()}/0"), "p", 5, 200, local=RateLimiter(5, 200)
    )
    for _ in range(6):
        await lim.acquire("reader")  # five from the local bucket at once, the sixth waits
    assert lim.local.waited > 0
    with pytest.raises(StateStoreUnreachable, match="shared state store is unreachable"):
        await lim.acquire("writer", write=True)
