"""The stdio transport without worker threads: stdin and stdout as non-blocking pipes on the loop.

The SDK's `stdio_server` reads each line and writes each answer through a worker thread (anyio's
`wrap_file`), so every message costs two thread hand-offs plus two memory-stream hops. When the
MCP host gives us pipes or sockets (it always does), this transport reads and writes them directly
on the event loop instead: a line read is parsed and returned to the server in the same task, and
an answer is written to the pipe by the task that produced it.

Like the SDK, it first takes fds 0 and 1 away from the rest of the process: fd 0 then reads the
null device and fd 1 writes to stderr, so a stray `print` or a child process can never corrupt the
JSON-RPC stream; the wire is served from private duplicates. Where stdin or stdout is not a pipe,
socket or character device (a regular file), or on Windows, `serve_stdio` falls back to the SDK.

A line that is not JSON, or not a JSON-RPC message, is answered with `-32700` or `-32600` right
here, as JSON-RPC requires (the SDK's own transport drops it, leaving the client waiting).
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import IO, Self

import mcp_types
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCError

LINE_LIMIT = 64 * 1024 * 1024
"""The longest message line read (64 MiB); a longer one is answered as a parse error."""


def _is_stream(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def pipes_usable() -> bool:
    """Whether fds 0 and 1 can be served as non-blocking pipes on the event loop."""
    return sys.platform != "win32" and _is_stream(0) and _is_stream(1)


class _Closable:
    """`async with` support for the two streams: closing on the way out."""

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None


class PipeWriteStream(_Closable):
    """Writes each message as one line straight to the transport (one `write`, never torn)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def send(self, item: SessionMessage | JSONRPCError, /) -> None:
        message = item.message if isinstance(item, SessionMessage) else item
        data = message.model_dump_json(by_alias=True, exclude_unset=True).encode()
        self._writer.write(data + b"\n")
        await self._writer.drain()

    async def aclose(self) -> None:
        if self._writer.is_closing():
            return
        with suppress(OSError, ConnectionError):
            await self._writer.drain()  # what is still buffered goes out before the pipe closes
        self._writer.close()


class PipeReadStream(_Closable):
    """Reads one message per line; unreadable lines are answered on `errors` and skipped."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        errors: PipeWriteStream,
        answer: Callable[[Exception], JSONRPCError],
    ) -> None:
        self._reader = reader
        self._errors = errors
        self._answer = answer

    async def receive(self) -> SessionMessage:
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:
                line = end.partial  # the last line may lack its newline
                if not line.strip():
                    raise StopAsyncIteration from None
            except asyncio.LimitOverrunError:
                await self._discard_line()
                await self._errors.send(self._answer(ValueError("message line too long")))
                continue
            if not line.strip():
                continue
            try:
                message = mcp_types.jsonrpc_message_adapter.validate_json(
                    line.decode("utf-8", errors="replace"), by_name=False
                )
            except Exception as exc:
                await self._errors.send(self._answer(exc))
                continue
            return SessionMessage(message)

    async def _discard_line(self) -> None:
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage:
        return await self.receive()


def _claim(fd: int, diversion: Callable[[], int], mode: str) -> tuple[IO[bytes], Callable[[], None]]:
    """A private duplicate of `fd` for the wire, and `fd` itself pointed at `diversion`."""
    private = os.dup(fd)
    os.set_inheritable(private, False)
    spare = os.dup(fd)  # to put the wire back on exit
    os.set_inheritable(spare, False)
    target = diversion()
    try:
        os.dup2(target, fd)
    finally:
        os.close(target)

    def restore() -> None:
        with suppress(OSError):
            os.set_blocking(spare, True)  # the event loop made the shared description non-blocking
        with suppress(OSError):
            os.dup2(spare, fd)
        with suppress(OSError):
            os.close(spare)

    return os.fdopen(private, mode, buffering=0), restore


def _stdout_diversion() -> int:
    """Where stray writes to fd 1 go while serving: stderr, or the null device without one."""
    try:
        return os.dup(2)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


@asynccontextmanager
async def pipe_stdio(
    answer: Callable[[Exception], JSONRPCError],
) -> AsyncGenerator[tuple[PipeReadStream, PipeWriteStream]]:
    """Serve fds 0 and 1 as non-blocking pipes; restore them on exit."""
    loop = asyncio.get_running_loop()
    sys.stdout.flush()
    stdin, restore_stdin = _claim(0, lambda: os.open(os.devnull, os.O_RDONLY), "rb")
    try:
        stdout, restore_stdout = _claim(1, _stdout_diversion, "wb")
    except BaseException:
        restore_stdin()
        raise
    try:
        reader = asyncio.StreamReader(limit=LINE_LIMIT, loop=loop)
        read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        write_transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
        writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
        write_stream = PipeWriteStream(writer)
        try:
            yield PipeReadStream(reader, write_stream, answer), write_stream
        finally:
            read_transport.close()
            await write_stream.aclose()
    finally:
        restore_stdout()
        restore_stdin()


__all__ = ["PipeReadStream", "PipeWriteStream", "pipe_stdio", "pipes_usable"]
