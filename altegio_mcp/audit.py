"""The audit trail: a write-ahead journal of every write sent to Altegio, appended to a file.

Each write leaves two JSON lines that share an `id`:

- `intent`, written and fsynced *before* the request is sent: when, which tool, for whom, at which
  location and target, the request line, the arguments (secrets removed) and how a destructive call
  was confirmed. A write that reached Altegio therefore always has its intent line, even when the
  process is killed right after sending it.
- `outcome`, after the call ends: `done`, `done (read back)`, `not-done`, `unknown`, `cancelled`
  (the client gave up mid-flight: whether Altegio applied it is unknown) or `error: <kind>`.

An intent without an outcome means the process died with the write in flight. A line is written
with a single `write` on a file opened in append mode (mode 0600), so a crash can at worst leave a
torn last line and never damages earlier ones. If the intent cannot be written the write is not
sent (`AuditUnavailable`); a failed outcome line is logged to stderr and never breaks the call.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SECRET_KEYS = frozenset({"password", "user_token", "partner_token", "token", "confirmation_token", "secret"})


class AuditUnavailable(Exception):
    """The intent line could not be written, so the write must not be sent."""


def redact(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments without secret-looking fields (and without nulls, to keep lines short)."""
    return {
        key: value
        for key, value in arguments.items()
        if value is not None and key.lower() not in SECRET_KEYS and not key.lower().endswith("_token")
    }


class AuditLog:
    """Appends audit lines; `path=None` disables it."""

    def __init__(self, path: Path | None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def intent(
        self,
        *,
        tool: str,
        caller: str,
        request: str,
        location_id: int | None,
        target_id: str | None,
        arguments: Mapping[str, Any],
        confirmation: str | None,
    ) -> str:
        """Journal a write before it is sent (fsynced); returns the id its outcome line repeats."""
        ident = secrets.token_hex(8)
        if self.path is None:
            return ident
        entry = {
            "event": "intent",
            "id": ident,
            "time": self._now(),
            "tool": tool,
            "caller": caller,
            "request": request,
            "location_id": location_id,
            "target_id": target_id,
            "arguments": redact(arguments),
            "confirmation": confirmation,
        }
        try:
            self._append(entry)
        except OSError as exc:
            self.failures += 1
            log.error("could not write the audit trail to %s: %s", self.path, exc.strerror or exc)
            raise AuditUnavailable(
                f"the audit trail could not be written ({exc.strerror or type(exc).__name__})"
            ) from exc
        return ident

    def outcome(self, ident: str, *, tool: str, outcome: str) -> None:
        """Record how a journalled write ended; a failure is logged and never breaks the call."""
        if self.path is None:
            return
        entry = {"event": "outcome", "id": ident, "time": self._now(), "tool": tool, "outcome": outcome}
        try:
            self._append(entry)
        except OSError as exc:
            self.failures += 1
            log.error("could not write the audit trail to %s: %s", self.path, exc.strerror or exc)

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")

    def _append(self, entry: Mapping[str, Any]) -> None:
        path = self.path
        if path is None:
            return
        line = (json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":")) + "\n").encode()
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)


def read_audit(path: Path) -> list[dict[str, Any]]:
    """Parse an audit file line by line, skipping a torn last line."""
    entries: list[dict[str, Any]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            entries.append(value)  # pyright: ignore[reportUnknownArgumentType]
    return entries


def audited_writes(path: Path) -> list[dict[str, Any]]:
    """One entry per journalled write, in order: its intent with `outcome` filled in from the
    matching outcome line, or `"in flight"` when the process stopped before recording one."""
    writes: dict[str, dict[str, Any]] = {}
    for entry in read_audit(path):
        if entry.get("event") == "intent":
            writes[str(entry["id"])] = {**entry, "outcome": "in flight"}
        elif entry.get("event") == "outcome" and str(entry.get("id")) in writes:
            writes[str(entry["id"])]["outcome"] = entry.get("outcome")
    return list(writes.values())
