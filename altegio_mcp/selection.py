"""Which tools a configuration serves: toolsets, extra tools, excluded tools, read-only.

The same rule picks among operation declarations (`Operation`) and among schema-cache entries
(`schema_cache.CachedTool`), so a server can choose its tools without importing the declarations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

if TYPE_CHECKING:
    from altegio_mcp.settings import Settings


class Selectable(Protocol):
    """What selection reads of a tool's declaration."""

    @property
    def name(self) -> str: ...

    @property
    def toolset(self) -> str: ...

    @property
    def core(self) -> bool: ...

    @property
    def read_only(self) -> bool: ...

    @property
    def read_only_variant(self) -> Self | None: ...


S = TypeVar("S", bound=Selectable)


def select_operations(
    operations: Sequence[S], settings: Settings, default_toolsets: Iterable[str]
) -> list[S]:
    """Toolsets, then `tools` added, then `exclude_tools` removed; `read_only` wins over all
    (it drops every non-read operation, or swaps in its read-only variant when it has one).

    `default` means the core operations of the default toolsets; naming a toolset takes all of its
    operations; `all` takes everything.
    """
    known_sets = {op.toolset for op in operations}
    known_names = {op.name for op in operations}
    wanted: set[str] = set()
    core_only: set[str] = set()
    for name in settings.toolsets:
        if name == "all":
            wanted |= known_sets
        elif name == "default":
            core_only |= set(default_toolsets)
        elif name in known_sets:
            wanted.add(name)
        else:
            raise ValueError(
                f"unknown toolset {name!r}; choose from: all, default, {', '.join(sorted(known_sets))}"
            )
    for name in [*settings.tools, *settings.exclude_tools]:
        if name not in known_names:
            raise ValueError(f"unknown tool {name!r}; known tools: {', '.join(sorted(known_names))}")
    chosen = [
        op
        for op in operations
        if (op.toolset in wanted or (op.toolset in core_only and op.core) or op.name in settings.tools)
        and op.name not in settings.exclude_tools
    ]
    if settings.read_only:
        # An operation with a read-only variant (the dynamic API call) stays, refusing writes itself.
        variants = [op if op.read_only else op.read_only_variant for op in chosen]
        chosen = [op for op in variants if op is not None]
    return chosen


__all__ = ["Selectable", "select_operations"]
