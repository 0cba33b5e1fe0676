"""MCP prompts for the common booking workflows, one Markdown file each in `prompts/`.

Each file starts with TOML front matter between `+++` lines (`name`, `title`, `description`, and
`[[arguments]]` tables with `name`, `description`, `required`), followed by the prompt text, in
which `${argument}` is replaced by the caller's value. An optional argument the caller leaves out
reads "(not given)". Installed wheels carry the files as `altegio_mcp/_prompts`; a source checkout
reads the top-level `prompts/` folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
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
