"""Every Altegio API operation the server exposes, grouped by area, plus the toolsets on by default."""

from __future__ import annotations

from typing import Any

from altegio_mcp.operations import appointments
from altegio_mcp.operations.base import Operation

ALL_OPERATIONS: tuple[Operation[Any, Any], ...] = (*appointments.OPERATIONS,)

DEFAULT_TOOLSETS: tuple[str, ...] = ("appointments",)

__all__ = ["ALL_OPERATIONS", "DEFAULT_TOOLSETS", "Operation"]
