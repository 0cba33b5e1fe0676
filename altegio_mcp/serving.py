"""Running the HTTP app under uvicorn so that hostile or broken clients cannot take it down.

The threat: sockets that connect and never send a request (or dribble a header forever). Each one
costs a file descriptor. With about 20,000 of them against a plain uvicorn, the process ran out of
descriptors, legitimate clients timed out, and asyncio logged a traceback per failed `accept()`.

What uvicorn (0.34-0.54, checked in its source) offers, and why it is not enough alone:

- `timeout_keep_alive` is armed only after a response completes (`on_response_complete`); a
  connection that never sends a request has no timer at all, in the h11, httptools and zttp
  protocols alike. There is no header-read timeout.
- `limit_concurrency` counts open connections, idle ones included, and answers 503 to whoever
  sends the next request: a few thousand idle sockets lock every real caller out. That is why it
  was turned off before.
- `h11_max_incomplete_event_size` bounds the bytes of an incomplete request head (16 KiB default,
  kept), not the time; `backlog` only sizes the kernel's accept queue.

Other servers: granian has `--http1-header-read-timeout` but no connection cap; hypercorn's
`keep_alive_timeout` starts at connect but it has no connection cap either, so neither bounds the
descriptors a flood holds before the timer fires. Both would be a second server stack to ship.

So the server keeps uvicorn and adds a small layer in its HTTP/1.1 protocol (`GuardedH11Protocol`,
a subclass of uvicorn's h11 protocol, always selected explicitly):

- **Header deadline.** A connection must deliver a complete request head within
  `ALTEGIO_HTTP_HEADER_TIMEOUT` seconds (default 10) of connecting or of its previous response;
  otherwise it is closed. Sending bytes does not extend it (slow-header clients are cut too).
- **Connection cap that sheds idle sockets, not callers.** At `ALTEGIO_HTTP_MAX_CONNECTIONS` (default
  4096, lowered to fit the descriptor limit) a new connection first closes the *oldest connection
  with no request in progress*. Only if every connection is busy with a request is the newcomer
  refused, with a plain `503` and `Connection: close`. A real client, whose request arrives
  right after its connect, is never the oldest idle one.
- **No log flood.** Timeouts, evictions, refusals and failed `accept()` calls (EMFILE) are counted
  and reported in one warning line at most every 10 seconds.
- **Descriptors.** At start the soft `RLIMIT_NOFILE` is raised to the hard limit, and the cap is
  kept below it with room for the accept burst (`backlog`), files and upstream connections.

Measured (benchmarks/idle_sockets.py, the test in tests/test_idle_sockets.py): 20,000 idle loopback
sockets against plain uvicorn vs this layer; the figures are in the README (Streamable HTTP).

Several worker processes on one port (`ALTEGIO_HTTP_WORKERS`, `WorkerPool`): uvicorn's own
`workers` spawns fresh interpreters that import the app by name, which a built app with a guard
bound into its protocol class cannot be; the pool forks the built app instead (POSIX).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

log = logging.getLogger(__name__)

REPORT_INTERVAL = 10.0
FD_RESERVE = 256
MAX_BACKLOG = 2048
MIN_CONNECTIONS = 32
WINDOWS_FD_BUDGET = 16_384
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: 26\r\n\r\nserver busy, retry shortly"
)
ACCEPT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one where allowed; return the soft limit in force."""
    if sys.platform == "win32":  # no RLIMIT_NOFILE; sockets are not bounded by a descriptor table there
        return WINDOWS_FD_BUDGET
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1_048_576)
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # pragma: no cover - refused by the platform
            log.warning("could not raise the open-file limit above %d", soft)
    return soft if soft != resource.RLIM_INFINITY else hard


def accept_backlog(fd_limit: int) -> int:
    """The listen queue, which asyncio also uses as the most connections accepted in one loop pass."""
    return max(128, min(MAX_BACKLOG, fd_limit // 8))


def connection_cap(wanted: int, fd_limit: int, backlog: int) -> int:
    """The cap in force: what was asked, lowered so cap + one accept burst + reserve fit the limit."""
    return max(MIN_CONNECTIONS, min(wanted, fd_limit - backlog - FD_RESERVE))


@dataclass(slots=True)
class ConnectionGuard:
    """Shared state of one server's connections: the idle queue, the limits, the condensed report."""

    max_connections: int
    header_timeout: float
    idle: OrderedDict[GuardedH11Protocol, None] = field(
        default_factory=OrderedDict["GuardedH11Protocol", None]
    )
    counts: dict[str, int] = field(default_factory=dict[str, int])
    totals: dict[str, int] = field(default_factory=dict[str, int])
    _next_report: float = 0.0
    _report_scheduled: bool = False

    def note(self, what: str) -> None:
        """Count an event; log a summary at most once per REPORT_INTERVAL."""
        self.counts[what] = self.counts.get(what, 0) + 1
        self.totals[what] = self.totals.get(what, 0) + 1
        if self._report_scheduled:
            return
        loop = asyncio.get_running_loop()
        self._report_scheduled = True
        loop.call_at(max(loop.time(), self._next_report), self._report)

    def _report(self) -> None:
        self._report_scheduled = False
        if not self.counts:
            return
        loop = asyncio.get_running_loop()
        self._next_report = loop.time() + REPORT_INTERVAL
        summary = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        self.counts.clear()
        log.warning(
            "HTTP connection guard since the last report: %s (header timeout %gs, cap %d connections)",
            summary,
            self.header_timeout,
            self.max_connections,
        )

    def evict_oldest_idle(self, newcomer: GuardedH11Protocol) -> bool:
        for candidate in self.idle:
            if candidate is not newcomer:
                candidate.drop("evicted idle")
                return True
        return False

    def exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """asyncio's handler, except that failed accepts (out of descriptors) are only counted."""
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in ACCEPT_ERRNOS:
            self.note("accept failures (out of descriptors)")
            return
        loop.default_exception_handler(context)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a header deadline and idle-first shedding at the cap."""

    guard: ConnectionGuard

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _request_in_progress(self) -> bool:
        cycle = cast("RequestResponseCycle | None", self.cycle)  # None until the first request
        return cycle is not None and not cycle.response_complete

    def _start_waiting(self) -> None:
        """No request in progress: join the idle queue (newest last) and start the header deadline."""
        self.guard.idle[self] = None
        self.guard.idle.move_to_end(self)
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.guard.header_timeout, self._deadline_passed)

    def _stop_waiting(self) -> None:
        self.guard.idle.pop(self, None)
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if not self._request_in_progress():
            self.drop("closed after the header timeout")

    def drop(self, why: str) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.guard.note(why)
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.guard.max_connections and not self.guard.evict_oldest_idle(self):
            self.guard.note("refused with 503 (every connection busy)")
            self.connections.discard(self)
            self.transport.write(BUSY_RESPONSE)
            self.transport.close()
            return
        self._start_waiting()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._request_in_progress():
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._request_in_progress():
            self._start_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A protocol class bound to one guard (uvicorn instantiates the class per connection)."""

    class Protocol(GuardedH11Protocol):
        pass

    Protocol.guard = guard
    return Protocol


class GuardedServer(uvicorn.Server):
    """uvicorn's server with the guard's exception handler on its loop (condensed accept errors)."""

    def __init__(self, config: uvicorn.Config, guard: ConnectionGuard) -> None:
        super().__init__(config)
        self.guard = guard

    async def startup(self, sockets: Any = None) -> None:
        asyncio.get_running_loop().set_exception_handler(self.guard.exception_handler)
        await super().startup(sockets)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str
    port: int
    header_timeout: float
    max_connections: int
    access_log: bool
    log_level: str


def guarded_server(app: Any, options: ServeOptions) -> GuardedServer:
    """A uvicorn server for `app` with the guard in place; `.run()` or `await .serve()` it."""
    fd_limit = raise_fd_limit()
    backlog = accept_backlog(fd_limit)
    guard = ConnectionGuard(
        max_connections=connection_cap(options.max_connections, fd_limit, backlog),
        header_timeout=options.header_timeout,
    )
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        http=guarded_protocol(guard),
        # Our logging setup (stderr) receives uvicorn's records; uvicorn's own config would send
        # the access log to stdout.
        log_config=None,
        log_level=options.log_level.lower(),
        access_log=options.access_log,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=15,
        # The guard caps connections, shedding idle ones first; uvicorn's cap would refuse callers.
        limit_concurrency=None,
        backlog=backlog,
        server_header=False,
    )
    if options.access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    log.info(
        "connection guard: header timeout %gs, at most %d connections (open-file limit %d)",
        guard.header_timeout,
        guard.max_connections,
        fd_limit,
    )
    return GuardedServer(config, guard)


# --- several worker processes --------------------------------------------------------------------


def workers_unsupported() -> str | None:
    """Why several worker processes cannot run on this platform, or None."""
    if not hasattr(os, "fork"):
        return "several HTTP workers need os.fork (Linux, macOS); run one process per port instead"
    return None


def _bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # accepted sockets inherit this; without it Nagle's algorithm and delayed ACKs add 40 ms to
    # every answer written in two parts (head, then body).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class WorkerPool:
    """`count` forked processes serving one port, and a parent that only supervises them.

    Each worker runs the whole app (its own event loop, upstream client and connection guard); what
    must be one truth for all of them (used confirmation tokens, idempotency keys, the rate budget,
    OAuth grants) is in the shared state store, as for replicas. The app is built before the fork,
    so a bad configuration fails once, up front, and the workers share its secrets.

    The parent opens the listening sockets before forking. On Linux there is one per worker, all
    bound to the port with `SO_REUSEPORT`, and the kernel spreads new connections across them from
    the first moment (a worker still starting finds its connections waiting in its backlog); with one
    shared socket the worker that happens to be idle takes a whole burst, and keep-alive connections
    stay where they landed. Elsewhere the workers share one socket. SIGTERM or SIGINT to the parent
    is passed on as SIGTERM and each worker drains as a single server would. A worker that dies
    otherwise is replaced on the same socket, unless workers keep dying (`MAX_RESTARTS` in a
    minute), which stops the pool.
    """

    MAX_RESTARTS = 10
    RESTART_PAUSE = 0.5

    def __init__(self, count: int, host: str, port: int, serve: Callable[[socket.socket], None]) -> None:
        self.count = count
        self.host = host
        self.port = port
        self._serve = serve
        self._reuse_port = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
        self._children: dict[int, int] = {}
        self._stopping = False

    def _listen(self) -> list[socket.socket]:
        backlog = accept_backlog(raise_fd_limit())
        sockets: list[socket.socket] = []
        try:
            for _ in range(self.count if self._reuse_port else 1):
                sock = _bind(self.host, self.port, reuse_port=self._reuse_port)
                sockets.append(sock)
                self.port = sock.getsockname()[1]  # port 0: the rest join the one the first got
                sock.listen(backlog)
        except OSError:
            for sock in sockets:
                sock.close()
            raise
        return sockets

    def run(self) -> int:
        sockets = self._listen()
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        restarts: list[float] = []
        failed = False
        try:
            for slot in range(self.count):
                self._spawn(slot, sockets)
            while self._children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:  # pragma: no cover - nothing left to wait for
                    break
                slot = self._children.pop(pid, None)
                if slot is None or self._stopping:
                    continue
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                code = os.waitstatus_to_exitcode(status)
                if len(restarts) > self.MAX_RESTARTS:
                    log.error("HTTP workers keep exiting (the last with %s); stopping", code)
                    failed = True
                    self._stop(signal.SIGTERM, None)
                    continue
                log.warning("HTTP worker %d (pid %d) exited with %s; starting another", slot + 1, pid, code)
                time.sleep(self.RESTART_PAUSE)
                if not self._stopping:
                    self._spawn(slot, sockets)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sock in sockets:
                sock.close()
        return 1 if failed else 0

    def _stop(self, _signum: int, _frame: object) -> None:
        if self._stopping:
            return
        self._stopping = True
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _spawn(self, slot: int, sockets: list[socket.socket]) -> None:
        pid = os.fork()
        if pid:
            self._children[pid] = slot
            return
        code = 1
        try:  # the worker: never returns into the parent's code
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own while serving
            mine = sockets[slot % len(sockets)]
            for sock in sockets:
                if sock is not mine:
                    sock.close()
            log.info("HTTP worker %d of %d serving (pid %d)", slot + 1, self.count, os.getpid())
            self._serve(mine)
            code = 0
        except SystemExit as exc:  # uvicorn exits this way when the app's start-up fails
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            log.exception("HTTP worker %d failed", slot + 1)
        finally:
            logging.shutdown()
            os._exit(code)
