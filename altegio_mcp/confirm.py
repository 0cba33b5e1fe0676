"""Confirmation tokens for destructive calls: minted with a preview, redeemed once by the same call.

A token is `v1.<expiry>.<nonce>.<args digest>.<caller digest>.<mac>`: the MAC (HMAC-SHA256 keyed by
`ALTEGIO_CONFIRM_SECRET`) covers the tool name and everything before it, so a token only works for
the exact tool, arguments and caller it was minted for, until it expires, and only once. The
digests are in the clear so a refusal can say *why* (other arguments, other caller, expired,
replayed) instead of a bare "invalid". With a shared secret, tokens work across restarts and
replicas. A redeemed token is marked used in the state store (an atomic set-if-absent under
`tok:<mac>`, kept until the token expires), so it stays used after a restart (SQLite) and on every
replica (Redis). When the store cannot be reached, redeeming fails closed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from altegio_mcp.errors import StateStoreUnreachable
from altegio_mcp.state import StateStore, StateUnavailable, memory_store

log = logging.getLogger(__name__)

VERSION = "v1"


class TokenRefused(Exception):
    """A confirmation token that cannot authorise this call; the message says why."""


def canonical_arguments(arguments: Mapping[str, Any]) -> str:
    """Arguments as canonical JSON (sorted keys, no spaces), without the token itself and without nulls."""
    cleaned = {k: v for k, v in arguments.items() if v is not None and k != "confirmation_token"}
    return json.dumps(cleaned, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ConfirmationTokens:
    """Mints and redeems single-use confirmation tokens."""

    def __init__(
        self,
        secret: bytes | None,
        ttl_seconds: int = 300,
        clock: Callable[[], float] = time.time,
        *,
        warn_if_random: bool = True,
        store: StateStore | None = None,
    ) -> None:
        if secret is None and warn_if_random:
            log.warning(
                "ALTEGIO_CONFIRM_SECRET is not set: confirmation tokens use a random per-process key "
                "and stop working after a restart or on another replica."
            )
        if secret is None:
            secret = secrets.token_bytes(32)
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self.store = store if store is not None else memory_store()

    def _mac(self, tool: str, body: str) -> str:
        return hmac.new(self._secret, f"{tool}|{body}".encode(), hashlib.sha256).hexdigest()[:32]

    def mint(self, tool: str, arguments: Mapping[str, Any], caller: str) -> str:
        expiry = int(self._clock()) + self.ttl_seconds
        nonce = secrets.token_hex(6)
        body = f"{VERSION}.{expiry}.{nonce}.{_digest(canonical_arguments(arguments))}.{_digest(caller)}"
        return f"{body}.{self._mac(tool, body)}"

    @staticmethod
    def expiry_of(token: str) -> int:
        """The Unix time a token minted here stops working (read from the token itself)."""
        return int(token.split(".")[1])

    async def redeem(self, token: str, tool: str, arguments: Mapping[str, Any], caller: str) -> None:
        """Accept the token for this exact call (and burn it), or raise `TokenRefused` saying why
        (`StateStoreUnreachable` when the used-token store cannot be reached)."""
        parts = token.strip().split(".")
        if len(parts) != 6 or parts[0] != VERSION:
            raise TokenRefused("the confirmation_token is malformed; call without it to get a new one")
        body, mac = ".".join(parts[:5]), parts[5]
        if not hmac.compare_digest(mac, self._mac(tool, body)):
            raise TokenRefused(
                f"the confirmation_token was not issued for {tool} by this server (or the secret changed); "
                "call without it to get a new one"
            )
        _, expiry_text, nonce, args_digest, caller_digest = parts[:5]
        if not hmac.compare_digest(caller_digest, _digest(caller)):
            raise TokenRefused("the confirmation_token was issued to another caller; it cannot be used here")
        if not hmac.compare_digest(args_digest, _digest(canonical_arguments(arguments))):
            raise TokenRefused(
                "the confirmation_token was issued for different arguments; call again without a token "
                "to preview these arguments"
            )
        now = self._clock()
        if now > int(expiry_text):
            raise TokenRefused("the confirmation_token has expired; call without it to get a new one")
        try:
            fresh = await self.store.add(f"tok:{mac}", nonce.encode(), ttl=int(expiry_text) - now + 60)
        except StateUnavailable as exc:
            raise StateStoreUnreachable(str(exc)) from exc
        if not fresh:
            raise TokenRefused("the confirmation_token was already used; each token works once")
