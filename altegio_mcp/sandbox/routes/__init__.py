"""The sandbox's HTTP routes, one module per API area."""

from __future__ import annotations

from starlette.routing import BaseRoute

from altegio_mcp.sandbox.routes.appointments import AppointmentRoutes
from altegio_mcp.sandbox.routes.availability import AvailabilityRoutes
from altegio_mcp.sandbox.routes.catalog import CatalogRoutes
from altegio_mcp.sandbox.routes.clients import ClientRoutes
from altegio_mcp.sandbox.routes.common import Context
from altegio_mcp.sandbox.routes.events import EventRoutes
from altegio_mcp.sandbox.routes.locations import LocationRoutes
from altegio_mcp.sandbox.routes.reviews import ReviewRoutes
from altegio_mcp.sandbox.routes.schedules import ScheduleRoutes
from altegio_mcp.sandbox.routes.visits import VisitRoutes

__all__ = ["Context", "api_routes"]


def api_routes(ctx: Context) -> list[BaseRoute]:
    areas = (
        LocationRoutes(ctx).routes(),
        CatalogRoutes(ctx).routes(),
        ClientRoutes(ctx).routes(),
        AppointmentRoutes(ctx).routes(),
        VisitRoutes(ctx).routes(),
        ReviewRoutes(ctx).routes(),
        AvailabilityRoutes(ctx).routes(),
        ScheduleRoutes(ctx).routes(),
        EventRoutes(ctx).routes(),
    )
    return [route for area in areas for route in area]
