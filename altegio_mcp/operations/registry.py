"""Every Altegio API operation the server exposes, grouped by area (importing it imports them all)."""

from __future__ import annotations

from typing import Any

from altegio_mcp.operations import (
    api,
    appointments,
    availability,
    calendar,
    catalog,
    client_edits,
    client_history,
    clients,
    events,
    locations,
    online_catalog,
    recurring,
    reviews,
    schedules,
    team,
    team_schedule,
    visits,
)
from altegio_mcp.operations.base import Operation

ALL_OPERATIONS: tuple[Operation[Any, Any], ...] = (
    *appointments.OPERATIONS,
    *availability.OPERATIONS,
    *online_catalog.OPERATIONS,
    *team_schedule.OPERATIONS,
    *calendar.OPERATIONS,
    *reviews.OPERATIONS,
    *visits.OPERATIONS,
    *schedules.OPERATIONS,
    *recurring.OPERATIONS,
    *locations.OPERATIONS,
    *catalog.OPERATIONS,
    *team.OPERATIONS,
    *clients.OPERATIONS,
    *client_edits.OPERATIONS,
    *client_history.OPERATIONS,
    *events.OPERATIONS,
    *api.OPERATIONS,
)

__all__ = ["ALL_OPERATIONS"]
