"""Documentation generated from the operation declarations (the README's tool table)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from altegio_mcp.operations.base import Operation

TABLE_START = "<!-- tools:start -->"
TABLE_END = "<!-- tools:end -->"


def model_facing_bytes(tool: Mapping[str, Any]) -> int:
    """Bytes of what the Anthropic and OpenAI tool formats carry to the model for one listed tool:
    name, description and input schema, as compact UTF-8 JSON (`tool` is the `tools/list` wire form).
    The output schema, title and annotations stay with the client."""
    model_view = {
        "name": tool["name"],
        "description": tool.get("description", ""),
        "input_schema": tool["inputSchema"],
    }
    return len(json.dumps(model_view, separators=(",", ":"), ensure_ascii=False).encode())


def tool_table(operations: Sequence[Operation[Any, Any]], default_toolsets: Sequence[str]) -> str:
    """A Markdown table: tool, toolset, in the default set, kind, Altegio operation, what it does."""
    rows = [
        "| Tool | Toolset | Default | Kind | Altegio API | What it does |",
        "|---|---|---|---|---|---|",
    ]
    for op in operations:
        kind = {"read": "read", "write": "write", "destructive": "**destructive** (confirmed)"}[op.kind]
        default = "yes" if op.core and op.toolset in default_toolsets else ""
        rows.append(
            f"| `{op.name}` | {op.toolset} | {default} | {kind} | `{op.method} {op.path}` | {op.description} |"
        )
    return "\n".join(rows)


def readme_with_table(readme: str, table: str) -> str:
    """The README with the generated tool table between its markers."""
    return replace_between(readme, TABLE_START, TABLE_END, table)


SETTINGS_START = "<!-- settings:start -->"
SETTINGS_END = "<!-- settings:end -->"


def _default_text(value: object) -> str:
    if value is None or value in ([], ""):
        return "—"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return str(value)


def settings_table() -> str:
    """A Markdown table of every `ALTEGIO_*` variable, from the `Settings` model itself."""
    from altegio_mcp.settings import Settings

    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        rows.append(f"| `ALTEGIO_{name.upper()}` | {_default_text(default)} | {info.description or ''} |")
    return "\n".join(rows)


def replace_between(text: str, start: str, end: str, content: str) -> str:
    head, found, rest = text.partition(start)
    if not found:
        raise ValueError(f"marker {start} not found")
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{content}\n{end}{tail}"
