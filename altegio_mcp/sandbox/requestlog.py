"""The log of API requests the sandbox received (never token values: only which auth form was used)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from altegio_mcp.sandbox.auth import AuthKind


@dataclass(slots=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    json: object
    """The parsed JSON body, or None when there was no (JSON) body."""
    auth: AuthKind
    status: int | None = None
    """The status answered; None when the connection was dropped."""
    at: float = field(default_factory=time.time)
    """When it arrived (Unix time), so tests can count requests per second at the upstream."""


class RequestLog:
    """Received requests in arrival order; only the most recent `limit` are kept, so a long-running
    `serve --sandbox` does not grow without bound."""

    def __init__(self, limit: int = 10_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)

    def append(self, record: RequestRecord) -> None:
        self._records.append(record)

    def clear(self) -> None:
        self._records.clear()

    def find(self, method: str | None = None, path_contains: str | None = None) -> list[RequestRecord]:
        return [
            r
            for r in self._records
            if (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
        ]

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> RequestRecord:
        return self._records[index]
