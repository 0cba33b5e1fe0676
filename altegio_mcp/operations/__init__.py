"""Every Altegio API operation the server exposes, grouped by area, plus the toolsets on by default.

`ALL_OPERATIONS` is loaded on first use (`registry.py` imports every operation module, about a
quarter of a second): a server answers `initialize` and `tools/list` from the schema cache
(`schema_cache.py`) and needs the declarations only when a tool is first called.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from altegio_mcp.operations.base import Operation
    from altegio_mcp.operations.registry import ALL_OPERATIONS

DEFAULT_TOOLSETS: tuple[str, ...] = (
    "appointments",
    "availability",
    "reviews",
    "visits",
    "recurring",
    "account",
    "catalog",
    "team",
    "clients",
)


LOADING = threading.RLock()
"""Held while the declarations (or the client they import) load: a background warm-up and the
event loop never import these modules at once, in different orders (a deadlock Python resolves
by handing one of them a half-initialised module)."""


def __getattr__(name: str) -> Any:
    # PEP 562: `from altegio_mcp.operations import ALL_OPERATIONS` imports the registry then.
    # Other unknown names raise AttributeError, so `from altegio_mcp.operations import visits`
    # still imports the submodule.
    if name == "ALL_OPERATIONS":
        with LOADING:
            from altegio_mcp.operations.registry import ALL_OPERATIONS

        return ALL_OPERATIONS
    if name == "Operation":
        with LOADING:
            from altegio_mcp.operations.base import Operation

        return Operation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ALL_OPERATIONS", "DEFAULT_TOOLSETS", "LOADING", "Operation"]
