"""Sandbox configuration: anchor date, clock, rate limit, page size limits and faults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from altegio_mcp.sandbox.faults import FaultConfig


def default_page_size_max() -> dict[str, int]:
    """Largest page per paginated endpoint. `records_partner` (100) and `clients_search` (200) are
    documented maxima; the API documents none for `records` and `comments`, so these are our choice."""
    return {"records": 200, "comments": 100, "records_partner": 100, "clients_search": 200}


@dataclass(slots=True)
class SandboxConfig:
    today: date | None = None
    """Anchor day of the seed and of "future"; default: the current date (UTC)."""
    clock: Callable[[], datetime] | None = None
    """The sandbox's "now" (aware). Default: noon UTC of `today`, then ticking in real time."""
    rate_limit_per_second: float | None = None
    rate_limit_per_minute: int | None = None
    page_size_max: dict[str, int] = field(default_factory=default_page_size_max)
    faults: FaultConfig = field(default_factory=FaultConfig)
    strict: bool = True
    """Refuse requests that depart from Altegio's published contract (altegio_mcp/contract) with
    Altegio's 400/422 answers, before any route sees them."""
