"""Two real server processes sharing one Redis, in front of one upstream emulator process.

Every process here is real: `altegio-mcp sandbox --port` is the upstream, two `altegio-mcp serve
--transport http` replicas share one `redis-server`, and the test talks to both as one client
would through a load balancer. It shows what a second replica must not break: a confirmation token
used on one replica is refused on the other, the shared limiter holds the partner token's rate
across both (counted at the upstream, from its request log), and a create retried on the other
replica is not booked twice. Last, a restart test on the embedded (SQLite) backend with a stdio
server process: a token used before the restart is refused after it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from altegio_mcp.sandbox import DEMO_PARTNER_TOKEN, DEMO_USER_TOKEN, NEW_YORK_LOCATION_ID
from tests.harness import text_of
from tests.processes import stop, wait_until_up
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.anyio

KEY = "replica-test-key-0123456789"
SECRET = "replica-test-confirm-secret-0123456789"
RATE = 5.0
TIMEOUT = 2.5
"""The replicas' upstream timeout: short, so a slow create can outlive it."""
LATE = 6.0
"""How long after the timeout the emulator saves a held create."""
PROGRAM = str(Path(sys.executable).with_name("altegio-mcp"))


@dataclass
class Cluster:
    upstream: str
    replicas: list[str]
    redis: RedisServer

    def upstream_requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.upstream}/__sandbox__/requests", timeout=10).json()
        return list(answer["data"])

    def reset(self) -> None:
        httpx.post(f"{self.upstream}/__sandbox__/reset", timeout=10).raise_for_status()
        self.redis.command("FLUSHALL")

    def fault(self, **script: Any) -> None:
        httpx.post(f"{self.upstream}/__sandbox__/faults", json=script, timeout=10).raise_for_status()


def server_env(tmp: Path, upstream: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "XDG_STATE_HOME": str(tmp / "state"),
        "ALTEGIO_CONFIG_DIR": str(tmp / "config"),
        "ALTEGIO_BASE_URL": f"{upstream}/api/v1",
        "ALTEGIO_PARTNER_TOKEN": DEMO_PARTNER_TOKEN,
        "ALTEGIO_LOCATION_ID": str(NEW_YORK_LOCATION_ID),
        "ALTEGIO_CONFIRM_SECRET": SECRET,
        "ALTEGIO_AUDIT": "false",
        "ALTEGIO_TOOLSETS": "all",
        "ALTEGIO_WRITE_SETTLE_SECONDS": "0.5",
        **extra,
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("replicas")
    processes: list[subprocess.Popen[bytes]] = []
    redis = RedisServer()
    redis.start()
    try:
        port = free_port()
        upstream = f"http://127.0.0.1:{port}"
        sandbox = subprocess.Popen(
            [PROGRAM, "sandbox", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        processes.append(sandbox)
        wait_until_up(f"{upstream}/__sandbox__/state", sandbox, "the sandbox")
        replicas: list[str] = []
        for n in range(2):
            replica_port = free_port()
            env = server_env(
                tmp / f"replica{n}",
                upstream,
                ALTEGIO_REDIS_URL=redis.url,
                ALTEGIO_HTTP_KEYS=f"{KEY}={DEMO_USER_TOKEN}",
                ALTEGIO_RATE_PER_SECOND=str(RATE),
                ALTEGIO_RATE_PER_MINUTE="200",
                ALTEGIO_TIMEOUT=str(TIMEOUT),
            )
            process = subprocess.Popen(
                [PROGRAM, "serve", "--transport", "http", "--port", str(replica_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(process)
            wait_until_up(f"http://127.0.0.1:{replica_port}/health", process, f"replica {n}")
            replicas.append(f"http://127.0.0.1:{replica_port}")
        yield Cluster(upstream, replicas, redis)
    finally:
        for process in reversed(processes):
            stop(process)
        redis.cleanup()


@asynccontextmanager
async def connect(base: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


@asynccontextmanager
async def both(cluster: Cluster) -> AsyncIterator[tuple[Client, Client]]:
    async with connect(cluster.replicas[0]) as one, connect(cluster.replicas[1]) as two:
        yield one, two


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def token_in(text: str) -> str:
    match = re.search(r'confirmation_token="([^"]+)"', text)
    assert match, text
    return match.group(1)


async def a_free_slot(client: Client, skip: int = 0) -> dict[str, Any]:
    """Arguments of a bookable create_appointment, found the way a model would."""
    member = structured(await client.call_tool("list_team_members", {}))["items"][0]["id"]
    service = structured(await client.call_tool("list_services", {"team_member_id": member}))["items"][0][
        "id"
    ]
    client_id = structured(await client.call_tool("search_clients", {}))["items"][0]["id"]
    start = date.today() + timedelta(days=2)
    days = structured(
        await client.call_tool(
            "list_bookable_dates",
            {
                "team_member_id": member,
                "service_ids": [service],
                "date_from": start.isoformat(),
                "date_to": (start + timedelta(days=14)).isoformat(),
            },
        )
    )["bookable_dates"]
    times = structured(
        await client.call_tool(
            "list_free_times", {"team_member_id": member, "service_ids": [service], "date": days[0]}
        )
    )["items"]
    return {
        "team_member_id": member,
        "service_ids": [service],
        "client_id": client_id,
        "datetime": times[skip]["datetime"],
    }


async def booked_at(client: Client, booking: dict[str, Any]) -> list[dict[str, Any]]:
    """The appointments at the booking's team member and start time."""
    day = booking["datetime"][:10]
    listed = structured(
        await client.call_tool(
            "list_appointments",
            {"start_date": day, "end_date": day, "team_member_id": booking["team_member_id"], "count": 100},
        )
    )["items"]
    return [a for a in listed if a["start"] == booking["datetime"]]


async def test_a_token_used_on_one_replica_is_refused_on_the_other(cluster: Cluster) -> None:
    cluster.reset()
    async with both(cluster) as (one, two):
        booking = await a_free_slot(one)
        booked = structured(await one.call_tool("create_appointment", booking))["appointment"]["id"]
        ask = await one.call_tool("delete_appointment", {"appointment_id": booked})
        token = token_in(text_of(ask))
        done = await two.call_tool(
            "delete_appointment", {"appointment_id": booked, "confirmation_token": token}
        )
        assert not done.is_error, text_of(done)
        replay = await one.call_tool(
            "delete_appointment", {"appointment_id": booked, "confirmation_token": token}
        )
        again = await two.call_tool(
            "delete_appointment", {"appointment_id": booked, "confirmation_token": token}
        )
    for refused in (replay, again):
        assert refused.is_error and "already used" in text_of(refused), text_of(refused)
    deletes = [r for r in cluster.upstream_requests() if r["method"] == "DELETE"]
    assert len(deletes) == 1


async def test_the_shared_limiter_holds_the_global_rate_across_both_replicas(
    cluster: Cluster, record_property: Any
) -> None:
    """Both replicas flooded with reads for 4 s: the upstream sees the partner token's rate (5/s),
    not 5/s per replica. The bucket starts full, so the first second may carry one burst more."""
    cluster.reset()
    seconds = 4.0
    async with both(cluster) as (one, two):
        await one.call_tool("list_services", {})  # warm both location caches
        await two.call_tool("list_services", {})
        await anyio.sleep(1.2)  # let the bucket refill
        start = time.time()

        async def reader(client: Client) -> None:
            while time.time() - start < seconds:
                result = await client.call_tool("list_services", {})
                assert not result.is_error, text_of(result)

        async with anyio.create_task_group() as tg:
            for n in range(12):
                tg.start_soon(reader, one if n % 2 else two)
    stamps = sorted(r["at"] for r in cluster.upstream_requests() if r["at"] >= start)
    assert stamps
    end = stamps[-1]
    steady = [t for t in stamps if t >= start + 1.0]
    rate = len(steady) / max(end - (start + 1.0), 1e-6)
    per_window = max(sum(1 for u in stamps if t <= u < t + 1.0) for t in stamps)
    figure = (
        f"upstream rate across 2 replicas: {rate:.2f} req/s steady, {len(stamps)} requests in "
        f"{end - start:.1f} s, at most {per_window} in any 1 s window"
    )
    record_property("upstream_rate", figure)
    sys.stderr.write(figure + "\n")  # visible with `pytest -s`: the figure for the closing note
    assert len(steady) >= 10
    assert rate <= RATE * 1.15
    assert per_window <= 2 * RATE + 1  # one full bucket plus one second's refill
    assert rate >= RATE * 0.6  # and the budget is actually used


async def test_a_create_retried_on_the_other_replica_is_not_booked_twice(cluster: Cluster) -> None:
    """The first replica's create is slow upstream (the emulator holds it 1.2 s); the model gives up
    and retries on the other replica. The retry waits for the first and returns its booking."""
    cluster.reset()
    async with both(cluster) as (one, two):
        booking = await a_free_slot(one, skip=1)
        cluster.fault(kind="delay", method="POST", path_pattern=r"/records/\d+$", seconds=1.2)
        answers: dict[str, str] = {}

        async def book(name: str, client: Client, delay: float) -> None:
            await anyio.sleep(delay)
            answers[name] = text_of(await client.call_tool("create_appointment", booking))

        async with anyio.create_task_group() as tg:
            tg.start_soon(book, "first", one, 0.0)
            tg.start_soon(book, "retry", two, 0.5)
        listed = structured(
            await two.call_tool(
                "list_appointments",
                {
                    "start_date": booking["datetime"][:10],
                    "end_date": booking["datetime"][:10],
                    "team_member_id": booking["team_member_id"],
                    "count": 100,
                },
            )
        )["items"]
    at_slot = [a for a in listed if a["start"] == booking["datetime"]]
    assert len(at_slot) == 1, listed
    creates = [
        r
        for r in cluster.upstream_requests()
        if r["method"] == "POST" and re.search(r"/records/\d+$", r["path"])
    ]
    assert len(creates) == 1
    assert "already existed" in answers["retry"], answers["retry"]
    assert str(at_slot[0]["id"]) in answers["first"] and str(at_slot[0]["id"]) in answers["retry"]


async def test_a_create_lost_to_a_timeout_is_never_sent_again_by_the_other_replica(cluster: Cluster) -> None:
    """The emulator holds the first replica's create longer than its timeout, then saves it (a late
    commit). The retry on the other replica, before the late commit, is refused (not sent); after
    it, the retry returns the booking. Altegio receives one POST."""
    cluster.reset()
    async with both(cluster) as (one, two):
        booking = await a_free_slot(one, skip=2)
        cluster.fault(kind="delay", method="POST", path_pattern=r"/records/\d+$", seconds=TIMEOUT + LATE)
        started = time.monotonic()
        lost = await one.call_tool("create_appointment", booking)
        assert lost.is_error, text_of(lost)
        early = await two.call_tool("create_appointment", booking)
        assert time.monotonic() - started < TIMEOUT + LATE, "the retry came after the late commit"
        assert early.is_error, text_of(early)
        assert "it was not sent again" in text_of(early), text_of(early)
        with anyio.fail_after(TIMEOUT + LATE + 20):
            while not await booked_at(two, booking):  # noqa: ASYNC110 - polling another process
                await anyio.sleep(0.5)
        late = await two.call_tool("create_appointment", booking)
    assert not late.is_error, text_of(late)
    assert "already existed" in text_of(late), text_of(late)
    creates = [
        r
        for r in cluster.upstream_requests()
        if r["method"] == "POST" and re.search(r"/records/\d+$", r["path"])
    ]
    assert len(creates) == 1


async def test_a_token_used_before_a_restart_is_refused_after_it(cluster: Cluster, tmp_path: Path) -> None:
    """Embedded backend (no Redis): a stdio server process is stopped and started again."""
    cluster.reset()
    env = server_env(tmp_path, cluster.upstream, ALTEGIO_USER_TOKEN=DEMO_USER_TOKEN)
    params = StdioServerParameters(command=PROGRAM, args=["serve"], env=env)
    async with Client(params) as first:
        booking = await a_free_slot(first)
        booked = structured(await first.call_tool("create_appointment", booking))["appointment"]["id"]
        token = token_in(text_of(await first.call_tool("delete_appointment", {"appointment_id": booked})))
        done = await first.call_tool(
            "delete_appointment", {"appointment_id": booked, "confirmation_token": token}
        )
        assert not done.is_error, text_of(done)
    assert (tmp_path / "state" / "altegio-mcp" / "state.sqlite3").exists()
    async with Client(params) as restarted:
        replay = await restarted.call_tool(
            "delete_appointment", {"appointment_id": booked, "confirmation_token": token}
        )
    assert replay.is_error and "already used" in text_of(replay), text_of(replay)
