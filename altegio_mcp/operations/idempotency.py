"""Creates recognised across restarts and replicas: each create's idempotency key in the state store.

`post_never_twice` already finds a create whose answer was lost *in this process*. This adds what
one process cannot see: an identical create in flight on another replica, or one whose outcome
became unknown before a restart. Before sending, a create claims `idem:<key>` with an atomic
set-if-absent. The record then says:

- `pending`: a create with this key is in flight (here or elsewhere). Another attempt waits for
  it to finish (up to the request timeout plus the settle time), then looks for what it made; it
  never sends a second POST while the first may still land.
- `done`: it succeeded. An identical call looks for the record upstream and returns it; if it is
  gone (deleted since), this is a new create and goes ahead.
- `unknown`: the answer was lost and the record did not appear. An identical call looks again and
  otherwise refuses to send, until the record expires (`UNKNOWN_TTL`).

A refused or undelivered create releases its key. Store failures fail closed: nothing is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from altegio_mcp.errors import (
    APIStatusError,
    ConfigurationError,
    InvalidArgument,
    NotDelivered,
    RequestTimedOut,
    StateStoreUnreachable,
    WriteNotDone,
)
from altegio_mcp.settings import Settings
from altegio_mcp.state import StateStore, StateUnavailable

T = TypeVar("T")

DONE_TTL = 24 * 3600.0
UNKNOWN_TTL = 600.0
POLL_SECONDS = 0.1

DEFINITELY_NOT_CREATED = (
    APIStatusError,
    NotDelivered,
    StateStoreUnreachable,
    ConfigurationError,
    InvalidArgument,
    WriteNotDone,  # read back after a lost answer: nothing was saved
)


def _record(state: str, at: float | None = None) -> bytes:
    return json.dumps({"state": state, "at": time.time() if at is None else at}).encode()


class CreateKey:
    """One create's claim on its idempotency key."""

    def __init__(self, store: StateStore, key: str, settings: Settings, method: str, path: str) -> None:
        self.store = store
        self.key = "idem:" + key
        self.method = method
        self.path = path
        # Long enough to cover a whole post_never_twice (two attempts and the settle wait), so a
        # process that dies mid-create leaves a claim that lapses on its own.
        self.in_flight_ttl = 2 * settings.timeout + settings.write_settle_seconds + 30
        self.wait_limit = settings.timeout + settings.write_settle_seconds + 5

    async def _guard(self, action: Awaitable[T]) -> T:
        try:
            return await action
        except StateUnavailable as exc:
            raise StateStoreUnreachable(str(exc)) from exc

    async def claim(self, find_saved: Callable[[], Awaitable[T | None]]) -> T | None:
        """Claim the key (returns None: go ahead and send), or return what an identical earlier
        create made; raise when one is still in flight or its outcome is unknown."""
        deadline = time.monotonic() + self.wait_limit
        while True:
            if await self._guard(self.store.add(self.key, _record("pending"), ttl=self.in_flight_ttl)):
                return None
            raw = await self._guard(self.store.get(self.key))
            if raw is None:
                continue  # released or expired in between: try again
            record = json.loads(raw)
            state, at = str(record.get("state")), float(record.get("at") or 0.0)
            if state in {"done", "unknown"}:
                found = await find_saved()
                if found is not None:
                    await self._guard(self.store.put(self.key, _record("done"), ttl=DONE_TTL))
                    return found
                if state == "done":
                    await self._guard(self.store.delete(self.key))  # made, then deleted: a new create
                    continue
                raise RequestTimedOut(
                    f"An identical create was sent {time.time() - at:.0f} s ago and its answer was "
                    "lost; the new record has not appeared, but it may still be saved, so it was not "
                    "sent again. Check in a minute with a list or search tool before creating it "
                    "another way",
                    method=self.method,
                    path=self.path,
                )
            if time.monotonic() > deadline:
                raise RequestTimedOut(
                    f"An identical create started {time.time() - at:.0f} s ago (possibly on another "
                    "server) is still in progress, so this one was not sent. Repeat this exact call "
                    "in a minute: it will return what the first one made",
                    method=self.method,
                    path=self.path,
                )
            await anyio.sleep(POLL_SECONDS)

    async def settle(self, error: BaseException | None) -> None:
        """Record how the create ended: done, released (certainly not created) or unknown."""
        with anyio.CancelScope(shield=True):
            try:
                if error is None:
                    await self.store.put(self.key, _record("done"), ttl=DONE_TTL)
                elif isinstance(error, DEFINITELY_NOT_CREATED):
                    await self.store.delete(self.key)
                else:
                    await self.store.put(self.key, _record("unknown"), ttl=UNKNOWN_TTL)
            except StateUnavailable:
                pass  # the claim lapses with its TTL; the upstream lookups still protect a retry


__all__ = ["CreateKey"]
