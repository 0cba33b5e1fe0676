"""The passthrough bearer check: one Altegio read per token a minute, verdicts keyed by hash, outages not cached."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from altegio_mcp.http import UserTokenCheck
from tests.conftest import CANARY_PARTNER, FakeClock
from tests.harness import mock_session

pytestmark = pytest.mark.anyio

GOOD = "good-user-token-0123"
BAD = "bad-user-token-4567"
FLAKY = "flaky-user-token-89ab"


def altegio(asked: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        token = auth.split("User ", 1)[1] if "User " in auth else ""
        asked.append(token)
        assert request.url.path.endswith("/companies")
        assert request.url.params.get("my") == "1"
        if token == GOOD:
            return httpx.Response(200, json={"success": True, "data": [], "meta": {}})
        if token == FLAKY:
            return httpx.Response(503, json={"success": False, "data": None, "meta": {"message": "down"}})
        return httpx.Response(401, json={"success": False, "data": None, "meta": {"message": "Unauthorized"}})

    return handle


async def test_verdicts_are_remembered_for_a_minute_and_outages_are_not(clock: FakeClock) -> None:
    asked: list[str] = []
    async with mock_session(altegio(asked), max_retries=0) as s:
        check = UserTokenCheck(s.server.runtime, SecretStr(CANARY_PARTNER), ttl=60, clock=clock)
        assert await check(GOOD)
        assert await check(GOOD)
        assert not await check(BAD)
        assert not await check(BAD)
        assert asked == [GOOD, BAD]
        clock.now += 61
        assert await check(GOOD)
        assert asked == [GOOD, BAD, GOOD]
        assert not await check(FLAKY)
        assert not await check(FLAKY)
        assert asked.count(FLAKY) == 2  # an outage is not a verdict: asked again next time
        assert GOOD not in repr(check.__dict__)  # only hashes are kept
