"""The audit trail: one JSON line per write sent to Altegio, appended to a file.

Each line records when, which tool, for whom, at which location and target, the arguments (with
secrets removed), the outcome and how a destructive call was confirmed. A line is written with a
single `write` on a file opened in append mode, so a crash can at worst leave a torn last line and
never damages earlier ones. Writing the trail never breaks the call it records: a failure is logged
to stderr and the call's result stands.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SECRET_KEYS = frozenset({"password", "user_token", "partner_token", "token", "confirmation_token", "secret"})


def redact(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments without secret-looking fields (and without nulls, to keep lines short)."""
    return {
        key: value
        for key, value in arguments.items()
        if value is not None and key.lower() not in SECRET_KEYS and not key.lower().endswith("_token")
    }


class AuditLog:
    """Appends audit records; `path=None` disables it."""

    def __init__(self, path: Path | None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def record(
        self,
        *,
        tool: str,
        caller: str,
        location_id: int | None,
        target_id: str | None,
        arguments: Mapping[str, Any],
        outcome: str,
        confirmation: str | None,
    ) -> None:
        if self.path is None:
            return
        entry = {
            "time": self._clock().isoformat(timespec="milliseconds"),
            "tool": tool,
            "caller": caller,
            "location_id": location_id,
            "target_id": target_id,
            "arguments": redact(arguments),
            "outcome": outcome,
            "confirmation": confirmation,
        }
        line = (json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":")) + "\n").encode()
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
        except OSError as exc:
            self.failures += 1
            log.error("could not write the audit trail to %s: %s", self.path, exc.strerror or exc)


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
