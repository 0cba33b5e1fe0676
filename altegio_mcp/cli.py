"""The `altegio-mcp` command: serve, sandbox, login, logout, doctor, tools.

`serve` (the default) runs the MCP server over stdio, or streamable HTTP with `--transport http`.
Command-line options beat `ALTEGIO_*` environment variables. Everything except `serve`'s protocol
traffic writes to stdout for people; logs go to stderr.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import anyio
from pydantic import JsonValue, SecretStr, ValidationError

from altegio_mcp import __version__
from altegio_mcp.settings import Settings

if TYPE_CHECKING:
    # Each command imports what it uses: `serve` must not pay for the HTTP client, the credential
    # store or the error vocabulary before it answers `tools/list`.
    import httpx

    from altegio_mcp.credentials import Identity

log = logging.getLogger("altegio_mcp")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="altegio-mcp",
        description="MCP server for the Altegio (formerly YCLIENTS) B2B API. "
        "Run `altegio-mcp serve --sandbox` to try it without credentials.",
    )
    parser.add_argument("--version", action="version", version=f"altegio-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the MCP server (default)")
    serve.add_argument("--sandbox", action="store_true", default=None, help="use the embedded demo API")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", dest="http_host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", dest="http_port", type=int, help="HTTP port (default 8000)")
    serve.add_argument(
        "--stateful",
        dest="http_stateful",
        action="store_true",
        default=None,
        help="HTTP: sessions and SSE, so 2025-11-25 clients get the confirmation form",
    )
    serve.add_argument(
        "--workers",
        dest="http_workers",
        type=int,
        help="HTTP: worker processes sharing the port (default 1)",
    )
    serve.add_argument(
        "--access-log",
        dest="http_access_log",
        action="store_true",
        default=None,
        help="HTTP: log one line per request to stderr",
    )
    serve.add_argument("--toolsets", type=_csv, help="comma-separated toolsets, `default` or `all`")
    serve.add_argument("--tools", type=_csv, help="comma-separated extra tools")
    serve.add_argument("--exclude-tools", dest="exclude_tools", type=_csv, help="tools to leave out")
    serve.add_argument("--read-only", dest="read_only", action="store_true", default=None)
    serve.add_argument("--location-id", dest="location_id", type=int, help="default location id")
    serve.add_argument("--confirm", choices=["auto", "token", "never-ask"], help="destructive-call policy")
    serve.add_argument(
        "--allow-unconfirmed",
        dest="allow_unconfirmed",
        action="store_true",
        default=None,
        help="required with --confirm never-ask",
    )
    serve.add_argument("--log-level", dest="log_level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    sandbox = sub.add_parser("sandbox", help="serve the embedded Altegio emulator over HTTP")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)

    login = sub.add_parser("login", help="log in to Altegio and store the user token")
    login.add_argument("--login", dest="login", help="phone or email (default: ALTEGIO_LOGIN or a prompt)")
    login.add_argument("--base-url", dest="base_url", help="API base URL")
    login.add_argument("--store", dest="credential_store", choices=["auto", "keyring", "file"])
    login.add_argument("--sandbox", action="store_true", default=None, help="log in to the embedded sandbox")

    logout = sub.add_parser("logout", help="forget the stored user token")
    logout.add_argument("--base-url", dest="base_url", help="API base URL")

    doctor = sub.add_parser("doctor", help="check configuration and show who the server acts as")
    doctor.add_argument("--sandbox", action="store_true", default=None)
    doctor.add_argument("--location-id", dest="location_id", type=int)

    tools = sub.add_parser("tools", help="list the tools the current configuration exposes")
    tools.add_argument("--toolsets", type=_csv)
    tools.add_argument("--read-only", dest="read_only", action="store_true", default=None)
    tools.add_argument("--markdown", action="store_true", help="the README's tool table")
    return parser


SETTING_KEYS = (
    "sandbox",
    "http_host",
    "http_port",
    "http_access_log",
    "http_stateful",
    "http_workers",
    "toolsets",
    "tools",
    "exclude_tools",
    "read_only",
    "location_id",
    "confirm",
    "allow_unconfirmed",
    "log_level",
    "login",
    "base_url",
    "credential_store",
)


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment first, command-line options on top."""
    overrides: dict[str, Any] = {}
    for key in SETTING_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    return Settings(**overrides)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


# --- login / logout ----------------------------------------------------------------------------


async def login_flow(
    settings: Settings,
    login: str,
    password: SecretStr,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Identity, str]:
    """`POST /auth` with the partner token; store the user token; return who and where."""
    from altegio_mcp.client import AltegioClient
    from altegio_mcp.credentials import CredentialStore, sign_in

    async with AltegioClient(settings, transport=transport) as client:
        token, identity = await sign_in(client, login, password)
    where = CredentialStore(settings).save(token, identity, settings.partner_token)
    return identity, where


def _sandbox_settings(settings: Settings) -> tuple[Settings, httpx.AsyncBaseTransport]:
    from altegio_mcp.server import sandbox_upstream

    upstream = sandbox_upstream(settings)
    transport = upstream.transport
    if transport is None:  # pragma: no cover - the sandbox always has one
        raise RuntimeError("sandbox transport missing")
    return upstream.settings, transport


def cmd_login(
    args: argparse.Namespace,
    out: TextIO,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    ask: Callable[[str], str] = input,
    ask_secret: Callable[[str], str] = getpass.getpass,
) -> int:
    from altegio_mcp.errors import AltegioError, AuthenticationFailed, ValidationFailed

    settings = settings_from(args)
    if settings.sandbox:
        settings, transport = _sandbox_settings(settings)
    if settings.partner_token is None:
        partner = ask_secret("Partner token (developer.alteg.io; stored with the user token): ").strip()
        if not partner:
            out.write("A partner token is needed (your developer token from developer.alteg.io).\n")
            return 2
        settings = settings.model_copy(update={"partner_token": SecretStr(partner)})
    login = settings.login or ask("Altegio login (phone or email): ").strip()
    password = settings.password or SecretStr(ask_secret("Password: "))
    if not login or not password.get_secret_value():
        out.write("A login and a password are needed.\n")
        return 2
    try:
        identity, where = anyio.run(lambda: login_flow(settings, login, password, transport=transport))
    except (AuthenticationFailed, ValidationFailed) as exc:
        out.write(f"Login failed: {exc.api_message or 'wrong login or password'}.\n")
        return 1
    except AltegioError as exc:
        out.write(f"Login failed: {exc.model_message()}\n")
        return 1
    out.write(f"Logged in as {identity.label()}. User token stored in {where}.\n")
    return 0


def cmd_logout(args: argparse.Namespace, out: TextIO) -> int:
    from altegio_mcp.credentials import CredentialStore

    settings = settings_from(args)
    removed = CredentialStore(settings).delete()
    out.write("Stored user token removed.\n" if removed else "No stored user token.\n")
    return 0


# --- doctor ----------------------------------------------------------------------------------------


async def doctor_report(
    settings: Settings, transport: httpx.AsyncBaseTransport | None, identity: Identity | None, source: str
) -> tuple[list[str], bool]:
    from altegio_mcp.client import AltegioClient
    from altegio_mcp.errors import AltegioError

    lines: list[str] = []
    ok = True

    def check(good: bool, text: str) -> None:
        nonlocal ok
        ok = ok and good
        lines.append(("ok   " if good else "FAIL ") + text)

    lines.append(f"mode: {'SANDBOX (embedded demo API)' if settings.sandbox else settings.base_url}")
    check(
        settings.partner_token is not None,
        "partner token " + ("set" if settings.partner_token else "missing: set ALTEGIO_PARTNER_TOKEN"),
    )
    check(
        settings.user_token is not None,
        f"user token: {source}" + ("" if settings.user_token else " (run `altegio-mcp login`)"),
    )
    if identity:
        lines.append(f"acts as: {identity.label()}")
    if settings.partner_token is None or settings.user_token is None:
        return lines, False
    try:
        async with AltegioClient(settings, transport=transport) as client:
            res = await client.request("GET", "/companies", list[dict[str, JsonValue]], params={"my": 1})
    except AltegioError as exc:
        check(False, f"API: {exc.model_message()}")
        return lines, ok
    check(True, f"API reachable; {len(res.data)} location(s) this user can manage:")
    ids: set[int] = set()
    for loc in res.data:
        raw_id = loc.get("id")
        if isinstance(raw_id, int):
            ids.add(raw_id)
        lines.append(f"       {raw_id}  {loc.get('title')}  ({loc.get('timezone_name')})")
    if settings.location_id is not None:
        check(
            settings.location_id in ids,
            f"default location {settings.location_id} "
            + ("is accessible" if settings.location_id in ids else "is NOT among them"),
        )
    lines.append(
        "note confirmation tokens: "
        + (
            "shared secret set"
            if settings.confirm_secret
            else "per-process key (set ALTEGIO_CONFIRM_SECRET for restarts/replicas)"
        )
    )
    return lines, ok


def cmd_doctor(
    args: argparse.Namespace, out: TextIO, *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    from altegio_mcp.server import resolve_upstream

    upstream = resolve_upstream(settings_from(args))
    lines, ok = anyio.run(
        lambda: doctor_report(
            upstream.settings, transport or upstream.transport, upstream.identity, upstream.token_source
        )
    )
    out.write("\n".join(lines) + "\n")
    return 0 if ok else 1


# --- tools / serve / sandbox -------------------------------------------------------------------------


def cmd_tools(args: argparse.Namespace, out: TextIO) -> int:
    from altegio_mcp.docs import tool_table
    from altegio_mcp.operations import ALL_OPERATIONS, DEFAULT_TOOLSETS
    from altegio_mcp.selection import select_operations

    operations = select_operations(ALL_OPERATIONS, settings_from(args), DEFAULT_TOOLSETS)
    if args.markdown:
        out.write(tool_table(operations, DEFAULT_TOOLSETS) + "\n")
    else:
        for op in operations:
            out.write(f"{op.name:34} {op.kind:11} {op.toolset:13} {op.title}\n")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    _configure_logging(settings.log_level)
    if args.transport == "http":
        from altegio_mcp.http import serve_http

        return serve_http(settings)
    from altegio_mcp.server import build_server

    server = build_server(settings, warm_up=True)
    server.mcp.run("stdio")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from altegio_mcp.sandbox import serve

    _configure_logging("INFO")
    serve(host=args.host, port=args.port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help", "--version"}):
        argv = ["serve", *argv]
    args = parser.parse_args(argv)
    try:
        match args.command:
            case "login":
                return cmd_login(args, sys.stdout)
            case "logout":
                return cmd_logout(args, sys.stdout)
            case "doctor":
                return cmd_doctor(args, sys.stdout)
            case "tools":
                return cmd_tools(args, sys.stdout)
            case "sandbox":
                return cmd_sandbox(args)
            case _:
                return cmd_serve(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        sys.stderr.write(f"altegio-mcp: invalid configuration: {problems}\n")
        return 2
    except ValueError as exc:
        sys.stderr.write(f"altegio-mcp: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
