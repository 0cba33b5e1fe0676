"""`Runtime`: what every tool call shares, opened and closed by the server's lifespan."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from altegio_mcp import timeutil

if TYPE_CHECKING:
    # Imported when the client is first opened: the HTTP stack and the operation vocabulary are
    # not needed to answer `initialize` or `tools/list`.
    from altegio_mcp.audit import AuditLog
    from altegio_mcp.client import AltegioClient
    from altegio_mcp.confirm import ConfirmationTokens
    from altegio_mcp.operations.base import Caller, LocationDirectory, OpContext
    from altegio_mcp.settings import Settings
    from altegio_mcp.state import StateStore


class Runtime:
    """What every tool call shares: settings, the client (opened by the server's lifespan), caches,
    the confirmation tokens, the audit trail, the state store, and how to tell who is calling."""

    def __init__(
        self,
        settings: Settings,
        *,
        tokens: ConfirmationTokens,
        audit: AuditLog,
        current_caller: Callable[[], Caller],
        state: StateStore | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.state = state if state is not None else tokens.store
        # "Now" for results: the wall clock (looked up per call, so tests can pin it), or the
        # sandbox's own clock in sandbox mode.
        self.clock: Callable[[], datetime] = clock or (lambda: timeutil.utc_now())  # noqa: PLW0108
        self.tokens = tokens
        self.audit = audit
        self.current_caller = current_caller
        self._client: AltegioClient | None = None
        self._locations: LocationDirectory | None = None
        self._open_client: Callable[[], AltegioClient] | None = None
        self._users = 0

    @asynccontextmanager
    async def connected(self, open_client: Callable[[], AltegioClient]) -> AsyncGenerator[None]:
        """Share one client between overlapping lifespans (several in-memory sessions of one server):
        the first lifespan makes it available, the first use opens it (so a session that only
        lists tools never loads the HTTP stack), the last lifespan closes it."""
        if self._users == 0:
            self._open_client = open_client
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0:
                self._open_client = None
                if self._client is not None:
                    closing, self._client, self._locations = self._client, None, None
                    await closing.aclose()
                await self.state.aclose()  # reopens on next use

    def _open(self) -> AltegioClient:
        if self._open_client is None:
            raise RuntimeError("the Altegio client is not open (the server lifespan has not started)")
        from altegio_mcp.operations.base import LocationDirectory

        client = self._open_client()
        self._client = client
        self._locations = LocationDirectory(client)
        return client

    @property
    def client(self) -> AltegioClient:
        client = self._client
        return client if client is not None else self._open()

    @property
    def locations(self) -> LocationDirectory:
        if self._locations is None:
            self._open()
        assert self._locations is not None  # noqa: S101 - set by _open
        return self._locations

    def op_context(self, caller: Caller) -> OpContext:
        from altegio_mcp.operations.base import OpContext  # loaded with the client, not at start

        return OpContext(
            client=self.client,
            caller=caller,
            locations=self.locations,
            default_location_id=caller.default_location(self.settings.location_id),
            now=self.clock,
        )
