"""Every Altegio API operation the server exposes, grouped by area, plus the toolsets on by default."""

from __future__ import annotations

from typing import Any

from altegio_mcp.operations import (
    appointments,
    availability,
    calendar,
    catalog,
    clients,
    locations,
    recurring,
    reviews,
    team,
    visits,
)
from altegio_mcp.operations.base import Operation

ALL_OPERATIONS: tuple[Operation[Any, Any], ...] = (
    *appointments.OPERATIONS,
    *availability.OPERATIONS,
    *calendar.OPERATIONS,
    *reviews.OPERATIONS,
    *visits.OPERATIONS,
    *recurring.OPERATIONS,
    *locations.OPERATIONS,
    *catalog.OPERATIONS,
    *team.OPERATIONS,
    *clients.OPERATIONS,
)

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

__all__ = ["ALL_OPERATIONS", "DEFAULT_TOOLSETS", "Operation"]
