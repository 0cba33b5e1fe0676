"""Fault injection: random failures by rate, and scripted one-shot faults matched by method and path.

Kinds of fault:

- `status`: answer with an error status (429 and 503 carry `Retry-After`);
- `drop`: drop the connection before doing anything;
- `drop_after_commit`: apply the request to the state, then drop the connection;
- `malformed_json`: HTTP 200 whose JSON body is cut short;
- `success_false_200`: HTTP 200 with `{"success": false, "data": null, "meta": {"message": ...}}`;
- `json_instead_of_pdf`: a JSON envelope where a PDF was expected (the receipt endpoint);
- `delay`: wait, then answer normally.

Random faults come from a `random.Random(seed)` of their own, so a run is repeatable.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal[
    "status",
    "drop",
    "drop_after_commit",
    "malformed_json",
    "success_false_200",
    "json_instead_of_pdf",
    "delay",
]
RETRY_AFTER_STATUSES = (429, 503)
DEFAULT_RETRY_AFTER = "1"


@dataclass(slots=True)
class FaultConfig:
    """Random faults, all off by default. Mutable: tests may change it between requests."""

    latency_seconds: float = 0.0
    error_rates: dict[int, float] = field(default_factory=dict[int, float])
    """HTTP status -> probability of answering with it."""
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    seed: int = 0


@dataclass(slots=True)
class ScriptedFault:
    """A fault to apply to the next `times` requests matching `method` and `path_pattern` (a regex)."""

    kind: FaultKind
    method: str | None = None
    path_pattern: str = ""
    times: int = 1
    status: int = 503
    retry_after: int | str | None = None
    seconds: float = 0.0
    message: str = "Sandbox scripted fault."

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return re.search(self.path_pattern, path) is not None


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do with one request."""

    kind: FaultKind
    status: int = 200
    retry_after: str | None = None
    seconds: float = 0.0
    message: str = ""


def _retry_after(status: int, value: int | str | None) -> str | None:
    if value is not None:
        return str(value)
    return DEFAULT_RETRY_AFTER if status in RETRY_AFTER_STATUSES else None


def status_message(status: int) -> str:
    if status == 429:
        return "Too many requests. Please retry later."
    if status >= 500:
        return "The service is temporarily unavailable."
    return "Sandbox injected error."


class Faults:
    """The sandbox's fault injector: `config` for random faults, `script()` for one-shot ones."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config if config is not None else FaultConfig()
        self._queue: list[ScriptedFault] = []
        self._random = random.Random(self.config.seed)

    def script(
        self,
        *,
        kind: FaultKind,
        method: str | None = None,
        path_pattern: str = "",
        times: int = 1,
        status: int = 503,
        retry_after: int | str | None = None,
        seconds: float = 0.0,
        message: str = "Sandbox scripted fault.",
    ) -> ScriptedFault:
        """Queue a fault for the next `times` matching requests; returns it (its `times` counts down)."""
        fault = ScriptedFault(kind, method, path_pattern, times, status, retry_after, seconds, message)
        self._queue.append(fault)
        return fault

    @property
    def pending(self) -> list[ScriptedFault]:
        return list(self._queue)

    def clear(self) -> None:
        self._queue.clear()

    def reset(self) -> None:
        """Drop scripted faults and restart the random sequence from `config.seed`."""
        self.clear()
        self._random = random.Random(self.config.seed)

    def take_scripted(self, method: str, path: str) -> FaultDecision | None:
        for fault in self._queue:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self._queue.remove(fault)
                return FaultDecision(
                    kind=fault.kind,
                    status=fault.status,
                    retry_after=_retry_after(fault.status, fault.retry_after)
                    if fault.kind == "status"
                    else None,
                    seconds=fault.seconds,
                    message=fault.message,
                )
        return None

    def roll(self) -> FaultDecision | None:
        """A random fault by the configured rates, or None."""
        config = self.config
        if not config.error_rates and config.drop_rate <= 0 and config.malformed_rate <= 0:
            return None
        draw = self._random.random()
        threshold = 0.0
        for status, rate in sorted(config.error_rates.items()):
            threshold += rate
            if draw < threshold:
                return FaultDecision(
                    "status", status, _retry_after(status, None), message=status_message(status)
                )
        threshold += config.drop_rate
        if draw < threshold:
            return FaultDecision("drop")
        threshold += config.malformed_rate
        if draw < threshold:
            return FaultDecision("malformed_json")
        return None
