"""Configuration: every knob the server reads, from `ALTEGIO_*` environment variables or explicit arguments.

Explicit keyword arguments (what the command line passes) beat the environment, which beats the
defaults. Tokens and secrets are `SecretStr`, so they never show up in a repr, a log line or an
exception message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.alteg.io/api/v1"

ConfirmPolicy = Literal["auto", "token", "never-ask"]
CredentialStore = Literal["auto", "keyring", "file"]
HttpAuthMode = Literal["keys", "passthrough", "oauth"]


def _split_csv(value: object) -> object:
    """`a,b , c` from the environment becomes `["a", "b", "c"]`; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything configurable. The README's configuration table lists each field."""

    model_config = SettingsConfigDict(env_prefix="ALTEGIO_", extra="ignore", validate_default=True)

    # Upstream and credentials.
    partner_token: SecretStr | None = Field(
        default=None, description="Partner (developer) token from developer.alteg.io."
    )
    user_token: SecretStr | None = Field(
        default=None, description="User token; `altegio-mcp login` stores one instead."
    )
    base_url: str = Field(default=DEFAULT_BASE_URL, description="Altegio API base URL.")
    location_id: int | None = Field(
        default=None, gt=0, description="Default location (company) id used when a tool call omits it."
    )
    login: str | None = Field(default=None, description="Login for non-interactive `altegio-mcp login`.")
    password: SecretStr | None = Field(
        default=None, description="Password for non-interactive `altegio-mcp login`."
    )
    credential_store: CredentialStore = Field(
        default="auto", description="Where `login` keeps the user token: OS keyring, a 0600 file, or auto."
    )
    config_dir: Path | None = Field(
        default=None, description="Directory for the stored token file (default: the user config dir)."
    )

    # HTTP behaviour.
    timeout: float = Field(default=30.0, gt=0, description="Per-request timeout in seconds.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Connect timeout in seconds.")
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries of idempotent requests.")
    retry_max_wait: float = Field(
        default=30.0, gt=0, description="Longest single wait between retries, in seconds."
    )
    write_settle_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="After a create times out, wait this long before looking for it.",
    )
    rate_per_second: float = Field(default=5.0, gt=0, description="Client-side limit, requests per second.")
    rate_per_minute: int = Field(default=200, gt=0, description="Client-side limit, requests per minute.")

    # Tool surface.
    read_only: bool = Field(default=False, description="Expose read tools only; wins over everything.")
    toolsets: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["default"],
        description="Comma-separated toolsets, `default` or `all`.",
    )
    tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated tool names to add on top of the toolsets."
    )
    exclude_tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated tool names to remove."
    )

    # Confirmation and audit.
    confirm: ConfirmPolicy = Field(
        default="auto", description="Destructive calls: `auto` (ask, else token), `token`, `never-ask`."
    )
    allow_unconfirmed: bool = Field(
        default=False, description="Required together with `confirm=never-ask` (trusted automations only)."
    )
    confirm_secret: SecretStr | None = Field(
        default=None, description="HMAC key for confirmation tokens; random per process when unset."
    )
    confirm_ttl: int = Field(default=300, ge=10, le=3600, description="Confirmation token lifetime, seconds.")
    audit_log: Path | None = Field(
        default=None, description="Audit file (JSON lines); default: the user state dir."
    )
    audit: bool | None = Field(
        default=None, description="Write the audit trail (default: on, except in the sandbox demo)."
    )

    # Streamable HTTP transport.
    http_host: str = Field(default="127.0.0.1", description="HTTP bind address.")
    http_port: int = Field(default=8000, ge=0, le=65535, description="HTTP port.")
    http_auth: HttpAuthMode = Field(
        default="keys",
        description="`keys`: bearer keys map to users; `passthrough`: bearer is a user token; "
        "`oauth`: users sign in with their Altegio account (needs the public URL and the OAuth secret).",
    )
    http_keys_file: Path | None = Field(default=None, description="JSON file mapping caller keys to users.")
    http_keys: SecretStr | None = Field(
        default=None, description="Inline keys: `key=user_token` pairs separated by commas."
    )
    http_public_url: str | None = Field(
        default=None, description="Public base URL when behind a proxy (adds its host to the allow-list)."
    )
    oauth_secret: SecretStr | None = Field(
        default=None,
        description="OAuth mode: secret (32+ characters) that encrypts stored user tokens and keys token hashes.",
    )
    oauth_access_ttl: int = Field(
        default=3600, ge=60, le=86400, description="OAuth mode: access token lifetime, seconds."
    )
    oauth_refresh_ttl: int = Field(
        default=30 * 86400,
        ge=3600,
        le=365 * 86400,
        description="OAuth mode: refresh token (and idle grant) lifetime, seconds.",
    )
    http_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Host header values to accept (DNS-rebinding guard)."
    )
    http_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Origin values to accept."
    )
    http_header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a connection gets to send a complete request head; then it is closed.",
    )
    http_max_connections: int = Field(
        default=8192,
        ge=32,
        description="Open connections at most; idle ones are closed first (lowered to fit the file limit).",
    )
    http_stateful: bool = Field(
        default=False,
        description="Sessions and SSE streams (2025-11-25 clients get the confirmation form); needs sticky routing.",
    )
    http_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="HTTP worker processes on one port (stateless mode, an upstream outside the process; not Windows).",
    )
    http_access_log: bool = Field(
        default=False, description="Log one line per HTTP request (to stderr, like every log)."
    )

    # Shared state.
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL for state shared by replicas (`redis://host:6379/0`); default: a local SQLite file.",
    )

    # Demo mode and logging.
    sandbox: bool = Field(default=False, description="Serve against the embedded sandbox (no credentials).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Log level (logs go to stderr)."
    )

    @field_validator(
        "toolsets", "tools", "exclude_tools", "http_allowed_hosts", "http_allowed_origins", mode="before"
    )
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _never_ask_needs_flag(self) -> Settings:
        if self.confirm == "never-ask" and not self.allow_unconfirmed:
            raise ValueError(
                "confirm=never-ask runs destructive calls without asking anyone; "
                "set ALTEGIO_ALLOW_UNCONFIRMED=true (or --allow-unconfirmed) to accept that risk"
            )
        return self

    @model_validator(mode="after")
    def _oauth_needs_secret_and_url(self) -> Settings:
        if self.http_auth != "oauth":
            return self
        secret = self.oauth_secret.get_secret_value() if self.oauth_secret else ""
        if len(secret) < 32:
            raise ValueError(
                "ALTEGIO_HTTP_AUTH=oauth needs ALTEGIO_OAUTH_SECRET, a random secret of at least 32 "
                "characters (for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if not self.http_public_url:
            raise ValueError(
                "ALTEGIO_HTTP_AUTH=oauth needs ALTEGIO_HTTP_PUBLIC_URL, the https:// address chat apps reach "
                "this server at (http://127.0.0.1:PORT or http://localhost:PORT for local tests)"
            )
        return self

    def audit_enabled(self) -> bool:
        """On by default against a real API, off by default in the sandbox demo."""
        return self.audit if self.audit is not None else not self.sandbox
