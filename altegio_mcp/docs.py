"""Documentation generated from the operation declarations (the README's tool table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from altegio_mcp.operations.base import Operation

TABLE_START = "<!-- tools:start -->"
TABLE_END = "<!-- tools:end -->"


def tool_table(operations: Sequence[Operation[Any, Any]]) -> str:
    """A Markdown table: tool, toolset, kind, Altegio operation, what it does."""
    rows = [
        "| Tool | Toolset | Kind | Altegio API | What it does |",
        "|---|---|---|---|---|",
    ]
    for op in operations:
        kind = {"read": "read", "write": "write", "destructive": "**destructive** (confirmed)"}[op.kind]
        rows.append(f"| `{op.name}` | {op.toolset} | {kind} | `{op.method} {op.path}` | {op.description} |")
    return "\n".join(rows)


def readme_with_table(readme: str, table: str) -> str:
    """The README with the generated table between its markers."""
    head, _, rest = readme.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"
