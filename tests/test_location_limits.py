"""A caller limited to some locations (what an OAuth grant carries): tools refuse the others,
lists show only those, and a single granted location becomes the default."""

from __future__ import annotations

import pytest
from mcp import Client
from pydantic import SecretStr

from altegio_mcp.client import AltegioAuth
from altegio_mcp.operations.base import Caller
from altegio_mcp.sandbox import (
    DEMO_PARTNER_TOKEN,
    DEMO_USER_TOKEN,
    DUBAI_LOCATION_ID,
    LONDON_LOCATION_ID,
    NEW_YORK_LOCATION_ID,
    SandboxConfig,
    create_sandbox,
)
from altegio_mcp.server import Upstream, build_server
from tests.harness import TODAY, sandbox_settings, text_of

pytestmark = pytest.mark.anyio


def limited(*locations: int) -> Caller:
    return Caller(
        label="Dana via a test app",
        auth=AltegioAuth(SecretStr(DEMO_PARTNER_TOKEN), SecretStr(DEMO_USER_TOKEN)),
        key_id="test-grant",
        locations=frozenset(locations),
    )


def test_default_location_follows_the_grant() -> None:
    assert limited(1, 2).default_location(1) == 1
    assert limited(1, 2).default_location(3) is None
    assert limited(2).default_location(3) == 2
    assert limited(2).default_location(None) == 2
    unlimited = Caller(label="x", auth=AltegioAuth(None))
    assert unlimited.default_location(7) == 7 and unlimited.allows(12345)


async def test_a_limited_caller_is_refused_other_locations_before_anything_is_sent() -> None:
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    settings = sandbox_settings(sandbox)
    caller = limited(LONDON_LOCATION_ID, DUBAI_LOCATION_ID)
    server = build_server(
        settings,
        upstream=Upstream(settings, sandbox.transport(), None, "sandbox", sandbox),
        current_caller=lambda: caller,
    )
    async with Client(server.mcp) as client:
        listed = await client.call_tool("list_locations", {})
        assert listed.structured_content is not None
        assert {i["id"] for i in listed.structured_content["items"]} == {
            LONDON_LOCATION_ID,
            DUBAI_LOCATION_ID,
        }
        sent = len(sandbox.requests)
        for arguments in ({"location_id": NEW_YORK_LOCATION_ID}, {}):
            refused = await client.call_tool("list_services", arguments)
            assert refused.is_error
        assert "is not covered by this sign-in" in text_of(
            await client.call_tool("get_location", {"location_id": NEW_YORK_LOCATION_ID})
        )
        assert len(sandbox.requests) == sent
        allowed = await client.call_tool("list_services", {"location_id": DUBAI_LOCATION_ID})
        assert not allowed.is_error, text_of(allowed)
