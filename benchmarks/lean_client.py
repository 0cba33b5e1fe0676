"""A lean MCP load generator for figure 5: raw HTTP/1.1 on asyncio streams, requests pre-encoded.

The SDK's streamable-HTTP client costs about 2 ms of CPU per call (httpx, its dispatcher, pydantic
models, the `outputSchema` check). On a two-core machine that competes with the server it is
measuring. This client does only what the wire needs: one keep-alive connection per session, the
request bytes built once, the response read by `Content-Length` and parsed with `json.loads` to
check that it is a successful tool result (no JSON-RPC error, `isError` false). The figure reports
both generators; a before/after comparison always uses the same one for both sides.

Two protocol eras, as real clients speak them:

- `2026-07-28` (what the SDK's own client negotiates): every POST is self-contained, carrying
  `Mcp-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers and the client's `_meta`.
- `2025-11-25` (today's chat apps): an `initialize` round trip and the `initialized` notification,
  then POSTs with the `Mcp-Protocol-Version` header (the server is stateless: no session id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
ERAS = (MODERN, LEGACY)
CLIENT_INFO = {"name": "altegio-mcp-bench", "version": "1"}


class CallFailed(Exception):
    """The server answered, but not with a successful tool result."""


class LeanSession:
    """One MCP session over one keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int, key: str, era: str = MODERN) -> None:
        if era not in ERAS:
            raise ValueError(f"unknown protocol era {era!r}")
        self.host = host
        self.port = port
        self.key = key
        self.era = era
        self._next_id = 1
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        if self.era == LEGACY:
            await self.request(
                "initialize",
                {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": CLIENT_INFO},
                version_header=False,
            )
            await self._post(
                self._encode(None, "notifications/initialized", None), "notifications/initialized", None
            )

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    def tool_call(self, name: str, arguments: dict[str, Any]) -> bytes:
        """The whole HTTP request for one `tools/call`, built once and sent many times (the id repeats,
        which a stateless server does not mind: every POST is its own exchange)."""
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        return self._http("tools/call", name, self._encode(self._take_id(), "tools/call", params))

    async def call(self, prepared: bytes) -> dict[str, Any]:
        """Send a prepared `tools/call`; the structured result, or `CallFailed`."""
        status, body = await self._exchange(prepared)
        message = _json_object(status, body)
        result = message.get("result")
        if not isinstance(result, dict):
            raise CallFailed(f"HTTP {status}: {body[:200]!r}")
        if result.get("isError"):  # pyright: ignore[reportUnknownMemberType]
            raise CallFailed(f"tool error: {body[:200]!r}")
        return result  # pyright: ignore[reportUnknownVariableType]

    async def request(
        self, method: str, params: dict[str, Any] | None, *, version_header: bool = True
    ) -> dict[str, Any]:
        body = self._encode(self._take_id(), method, params)
        status, raw = await self._exchange(self._http(method, None, body, version_header=version_header))
        message = _json_object(status, raw)
        if "result" not in message:
            raise CallFailed(f"{method}: HTTP {status}: {raw[:200]!r}")
        return message

    async def _post(self, body: bytes, method: str, name: str | None) -> None:
        status, raw = await self._exchange(self._http(method, name, body))
        if status >= 300:
            raise CallFailed(f"{method}: HTTP {status}: {raw[:200]!r}")

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _encode(self, request_id: int | None, method: str, params: dict[str, Any] | None) -> bytes:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if request_id is not None:
            message["id"] = request_id
        if self.era == MODERN:
            params = {
                **(params or {}),
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN,
                    "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            }
        if params is not None:
            message["params"] = params
        return json.dumps(message, separators=(",", ":")).encode()

    def _http(self, method: str, name: str | None, body: bytes, *, version_header: bool = True) -> bytes:
        lines = [
            "POST /mcp HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Authorization: Bearer {self.key}",
            "Accept: application/json, text/event-stream",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        if version_header:
            lines.append(f"Mcp-Protocol-Version: {self.era}")
        if self.era == MODERN:
            lines.append(f"Mcp-Method: {method}")
            if name is not None:
                lines.append(f"Mcp-Name: {name}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            raise RuntimeError("the session is not open")
        if reader.at_eof() or writer.is_closing():
            # The server closed the idle keep-alive connection (its header deadline); any HTTP
            # client opens a new one. The server is stateless: the session needs nothing re-sent.
            writer.close()
            reader, writer = self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = None
        for line in header_lines:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise CallFailed(f"HTTP {status}: chunked answers are not expected here ({value.strip()!r})")
        if length is None:
            raise CallFailed(f"HTTP {status}: no Content-Length")
        return status, await reader.readexactly(length)


def _json_object(status: int, body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise CallFailed(f"HTTP {status}: not JSON: {body[:200]!r}") from exc
    if not isinstance(message, dict):
        raise CallFailed(f"HTTP {status}: not a JSON object: {body[:200]!r}")
    return message  # pyright: ignore[reportUnknownVariableType]
