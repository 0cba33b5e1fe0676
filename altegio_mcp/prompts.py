"""MCP prompts for the common booking workflows, one Markdown file each in `prompts/`.

Each file starts with TOML front matter between `+++` lines (`name`, `title`, `description`, and
`[[arguments]]` tables with `name`, `description`, `required`), followed by the prompt text, in
which `${argument}` is replaced by the caller's value. An optional argument the caller leaves out
reads "(not given)". Installed wheels carry the files as `altegio_mcp/_prompts`; a source checkout
reads the top-level `prompts/` folder.

A prompt names only tools the running configuration serves: front matter `requires = [...]` hides
the prompt when one of those tools is absent, and a body line that starts with `[if tool_a, tool_b]`
is kept (without the marker) only when all the tools it lists are present.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template
from typing import Any, cast

from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument

NOT_GIVEN = "(not given)"
DEFAULTS = {"location_id": "(the server's default location)"}


@dataclass(frozen=True, slots=True)
class PromptFile:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArgument, ...]
    template: str
    requires: tuple[str, ...] = ()


CONDITION = re.compile(r"^(?P<indent>\s*)\[if (?P<tools>[a-z_, ]+)\] ?")


def for_tools(prompt: PromptFile, tools: Collection[str]) -> PromptFile | None:
    """The prompt as it reads with these tools served; None when a tool it requires is absent."""
    if any(name not in tools for name in prompt.requires):
        return None
    lines: list[str] = []
    for line in prompt.template.splitlines():
        match = CONDITION.match(line)
        if match is None:
            lines.append(line)
            continue
        needed = [name.strip() for name in match["tools"].split(",") if name.strip()]
        if all(name in tools for name in needed):
            lines.append(match["indent"] + line[match.end() :])
    return replace(prompt, template="\n".join(lines) + "\n")


def prompts_dir() -> Path:
    package = Path(__file__).resolve().parent
    for candidate in (package / "_prompts", package.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the prompts folder is missing from this installation")


def parse_prompt(text: str, source: str = "<prompt>") -> PromptFile:
    if not text.startswith("+++\n"):
        raise ValueError(f"{source}: a prompt file starts with +++ front matter")
    front, sep, body = text[4:].partition("\n+++\n")
    if not sep:
        raise ValueError(f"{source}: the front matter is not closed with +++")
    meta = tomllib.loads(front)
    raw_args = cast(list[dict[str, Any]], meta.get("arguments", []))
    arguments = tuple(
        PromptArgument(
            name=str(arg["name"]),
            description=str(arg.get("description", "")),
            required=bool(arg.get("required")),
        )
        for arg in raw_args
    )
    return PromptFile(
        name=str(meta["name"]),
        title=str(meta.get("title", meta["name"])),
        description=str(meta["description"]),
        arguments=arguments,
        template=body.strip() + "\n",
        requires=tuple(str(name) for name in cast(list[Any], meta.get("requires", []))),
    )


def load_prompt_files(folder: Path | None = None) -> list[PromptFile]:
    folder = folder or prompts_dir()
    return [parse_prompt(path.read_text(encoding="utf-8"), path.name) for path in sorted(folder.glob("*.md"))]


def render(prompt: PromptFile, values: dict[str, Any]) -> str:
    filled = {arg.name: DEFAULTS.get(arg.name, NOT_GIVEN) for arg in prompt.arguments}
    filled.update({k: str(v) for k, v in values.items() if v not in (None, "")})
    return Template(prompt.template).safe_substitute(filled)


def to_mcp_prompt(prompt: PromptFile) -> Prompt:
    def fn(**values: Any) -> str:
        return render(prompt, values)

    return Prompt(
        name=prompt.name,
        title=prompt.title,
        description=prompt.description,
        arguments=list(prompt.arguments),
        fn=fn,
        context_kwarg=None,
    )
