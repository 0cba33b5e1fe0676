"""An embedded, stateful emulator of the Altegio B2B API v1 (formerly YCLIENTS).

It is the server's zero-credential demo upstream, the test suite's upstream (in process through
`Sandbox.transport()`, or on 127.0.0.1 through `serve()`), and a fault injector. All API routes sit
under `/api/v1`, as in production (`https://api.alteg.io/api/v1`).

    sandbox = create_sandbox(SandboxConfig(today=date(2026, 11, 27)))
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://sandbox.local/api/v1") as c:
        ...

The constants load with the package; everything else on first use, so `serve --sandbox` can name
the demo credentials at start and load the emulator itself only when the first call needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from altegio_mcp.sandbox.constants import (
    BASE_PATH,
    DEMO_LOGIN,
    DEMO_PARTNER_TOKEN,
    DEMO_PASSWORD,
    DEMO_USER_ID,
    DEMO_USER_TOKEN,
    DUBAI_LOCATION_ID,
    LONDON_LOCATION_ID,
    NEW_YORK_LOCATION_ID,
    SECOND_LOGIN,
    SECOND_PASSWORD,
    SECOND_USER_ID,
    SECOND_USER_TOKEN,
)

if TYPE_CHECKING:
    from altegio_mcp.sandbox.app import Sandbox, create_sandbox
    from altegio_mcp.sandbox.config import SandboxConfig
    from altegio_mcp.sandbox.faults import FaultConfig, FaultKind, Faults, ScriptedFault
    from altegio_mcp.sandbox.requestlog import RequestLog, RequestRecord
    from altegio_mcp.sandbox.server import serve
    from altegio_mcp.sandbox.state import SandboxState

_LAZY = {
    "Sandbox": "app",
    "create_sandbox": "app",
    "SandboxConfig": "config",
    "FaultConfig": "faults",
    "FaultKind": "faults",
    "Faults": "faults",
    "ScriptedFault": "faults",
    "RequestLog": "requestlog",
    "RequestRecord": "requestlog",
    "serve": "server",
    "SandboxState": "state",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "BASE_PATH",
    "DEMO_LOGIN",
    "DEMO_PARTNER_TOKEN",
    "DEMO_PASSWORD",
    "DEMO_USER_ID",
    "DEMO_USER_TOKEN",
    "DUBAI_LOCATION_ID",
    "LONDON_LOCATION_ID",
    "NEW_YORK_LOCATION_ID",
    "SECOND_LOGIN",
    "SECOND_PASSWORD",
    "SECOND_USER_ID",
    "SECOND_USER_TOKEN",
    "FaultConfig",
    "FaultKind",
    "Faults",
    "RequestLog",
    "RequestRecord",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "ScriptedFault",
    "create_sandbox",
    "serve",
]
