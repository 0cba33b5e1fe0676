"""Prompts (listed, rendered, naming only real tools) and resource templates (read through a client)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from mcp import MCPError
from mcp.types import TextContent, TextResourceContents

from altegio_mcp.operations import ALL_OPERATIONS
from altegio_mcp.prompts import load_prompt_files, parse_prompt, prompts_dir
from altegio_mcp.sandbox import DUBAI_LOCATION_ID, NEW_YORK_LOCATION_ID
from tests.harness import sandbox_session

pytestmark = pytest.mark.anyio

TOOL_NAMES = {op.name for op in ALL_OPERATIONS}
TOOL_LIKE = re.compile(r"`((?:list|get|create|update|delete|search|add|find)_[a-z_]+|whoami)`")
EXPECTED = {
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "setup_recurring_appointments",
    "record_visit_outcome",
    "summarize_day",
    "answer_review",
}


def test_prompt_files_name_only_existing_tools() -> None:
    prompts = load_prompt_files()
    assert {p.name for p in prompts} == EXPECTED
    for prompt in prompts:
        named = set(TOOL_LIKE.findall(prompt.template))
        assert named, prompt.name
        assert named <= TOOL_NAMES, (prompt.name, named - TOOL_NAMES)


def test_front_matter_errors_are_explicit() -> None:
    with pytest.raises(ValueError, match=r"\+\+\+"):
        parse_prompt("no front matter", "x.md")
    with pytest.raises(ValueError, match="not closed"):
        parse_prompt('+++\nname = "x"\n', "x.md")
    assert prompts_dir().is_dir()


async def test_prompts_are_listed_and_rendered() -> None:
    async with sandbox_session() as s:
        listed = await s.client.list_prompts()
        by_name = {p.name: p for p in listed.prompts}
        assert set(by_name) == EXPECTED
        book = by_name["book_appointment"]
        assert book.description
        required = {a.name for a in book.arguments or [] if a.required}
        assert required == {"client", "service"}
        rendered = await s.client.get_prompt(
            "book_appointment", {"client": "Anna Smith", "service": "haircut", "when": "Friday 3pm"}
        )
        text = "".join(m.content.text for m in rendered.messages if isinstance(m.content, TextContent))
        assert "Anna Smith" in text
        assert "Friday 3pm" in text
        assert "(not given)" in text  # team_member left out
        assert "list_free_times" in text
        with pytest.raises(MCPError):
            await s.client.get_prompt("book_appointment", {"service": "haircut"})


async def test_resource_templates_are_listed_and_read() -> None:
    async with sandbox_session() as s:
        templates = await s.client.list_resource_templates()
        uris = {t.uri_template for t in templates.resource_templates}
        assert uris == {
            "altegio://locations/{location_id}/profile",
            "altegio://locations/{location_id}/services",
            "altegio://locations/{location_id}/team",
        }
        profile = await s.client.read_resource(f"altegio://locations/{NEW_YORK_LOCATION_ID}/profile")
        content = profile.contents[0]
        assert isinstance(content, TextResourceContents)
        assert content.mime_type == "application/json"
        data = json.loads(content.text)
        assert data["timezone"] == "America/New_York"
        assert set(data["opening_hours"]) == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
        assert any(v != "closed" for v in data["opening_hours"].values())
        assert data["currency"]

        services = await s.client.read_resource(f"altegio://locations/{NEW_YORK_LOCATION_ID}/services")
        catalog = json.loads(services.contents[0].text)  # type: ignore[union-attr]
        assert catalog["services"]
        assert catalog["categories"]

        team = await s.client.read_resource(f"altegio://locations/{DUBAI_LOCATION_ID}/team")
        assert json.loads(team.contents[0].text)["team_members"]  # type: ignore[union-attr]

        with pytest.raises(MCPError):
            await s.client.read_resource("altegio://locations/999999/profile")
        with pytest.raises(MCPError):
            await s.client.read_resource("altegio://locations/abc/team")


async def test_resources_are_cached_briefly() -> None:
    async with sandbox_session() as s:
        assert s.sandbox is not None
        uri = f"altegio://locations/{NEW_YORK_LOCATION_ID}/team"
        await s.client.read_resource(uri)
        before = len(list(s.sandbox.requests))
        await s.client.read_resource(uri)
        assert len(list(s.sandbox.requests)) == before


TOOLSET_NAMES = sorted({op.toolset for op in ALL_OPERATIONS})
CONFIGURATIONS: list[dict[str, Any]] = [
    {"toolsets": ["default"]},
    {"toolsets": ["all"]},
    {"toolsets": ["default"], "read_only": True},
    {"toolsets": ["default"], "exclude_tools": ["get_appointment", "get_client", "search_clients"]},
    *({"toolsets": [name]} for name in TOOLSET_NAMES),
    {"toolsets": ["reviews", "clients"]},
]


@pytest.mark.parametrize("config", CONFIGURATIONS, ids=lambda c: json.dumps(c, separators=(",", ":")))
async def test_prompts_name_only_tools_the_configuration_serves(config: dict[str, Any]) -> None:
    """A prompt adapts to the tools served (lines naming an absent tool drop out) or is hidden
    (a tool it cannot work without is absent); what is listed never names a missing tool."""
    async with sandbox_session(**config) as s:
        served = {t.name for t in (await s.client.list_tools()).tools}
        listed = (await s.client.list_prompts()).prompts
        for prompt in listed:
            arguments = {a.name: "x" for a in prompt.arguments or [] if a.required}
            got = await s.client.get_prompt(prompt.name, arguments)
            text = "".join(m.content.text for m in got.messages if isinstance(m.content, TextContent))
            named = set(TOOL_LIKE.findall(text)) & TOOL_NAMES
            assert named <= served, (prompt.name, sorted(named - served))
            assert "[if " not in text, prompt.name
        shown = {p.name for p in listed}
        for prompt in load_prompt_files():
            assert (prompt.name in shown) == (set(prompt.requires) <= served), prompt.name


async def test_answer_review_names_add_client_comment_only_when_served() -> None:
    async def review_prompt(**config: Any) -> str:
        async with sandbox_session(**config) as s:
            got = await s.client.get_prompt("answer_review", {})
        return "".join(m.content.text for m in got.messages if isinstance(m.content, TextContent))

    assert "add_client_comment" not in await review_prompt(toolsets=["default"])
    assert "add_client_comment" in await review_prompt(toolsets=["all"])
    assert "no way to reply to a review" in await review_prompt(toolsets=["default"])
