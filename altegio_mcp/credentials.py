"""Where the tokens live between runs: the OS keyring when one works, else a 0600 file.

`altegio-mcp login` stores the user token (and the partner token it was given, so MCP client
configurations need no secrets at all) with who the user is (name, login, email, id: not secret,
kept beside it so `whoami` and `doctor` can say who the server acts as). `logout` removes them.
Explicit `ALTEGIO_USER_TOKEN` / `ALTEGIO_PARTNER_TOKEN` always win over stored ones.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import platformdirs
from pydantic import JsonValue, SecretStr

if TYPE_CHECKING:
    # Only `login` talks to Altegio; a server resolving its tokens at start needs no HTTP stack.
    from altegio_mcp.client import AltegioClient
    from altegio_mcp.settings import Settings

log = logging.getLogger(__name__)

APP_NAME = "altegio-mcp"
KEYRING_SERVICE = "altegio-mcp"
TOKEN_FILE = "credentials.json"  # noqa: S105 - a file name
IDENTITY_FILE = "identity.json"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a user token belongs to, as `POST /auth` reported it."""

    id: int | None = None
    name: str | None = None
    login: str | None = None
    email: str | None = None
    phone: str | None = None

    def label(self) -> str:
        who = self.name or self.login or "unknown user"
        return f"{who} ({self.login})" if self.login and self.name else who


def _keyring() -> Any | None:
    """The keyring module when a real backend is available, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not stop the server
        return None
    if isinstance(backend, fail.Keyring) or float(getattr(backend, "priority", 0) or 0) <= 0:
        return None
    return keyring


async def sign_in(client: AltegioClient, login: str, password: SecretStr) -> tuple[SecretStr, Identity]:
    """`POST /auth` with the partner token: the user token and who it belongs to.

    The password goes into the request body only; it is never logged or kept.
    """
    from altegio_mcp.errors import AltegioError

    res = await client.request(
        "POST",
        "/auth",
        dict[str, JsonValue],
        json_body={"login": login, "password": password.get_secret_value()},
        auth_mode="partner",
    )
    data = res.data
    token = data.get("user_token")
    if not isinstance(token, str) or not token:
        raise AltegioError("Altegio accepted the login but sent no user token", method="POST", path="/auth")
    raw_id = data.get("id")
    identity = Identity(
        id=raw_id if isinstance(raw_id, int) else None,
        name=str(data["name"]) if data.get("name") else None,
        login=str(data.get("login") or login),
        email=str(data["email"]) if data.get("email") else None,
        phone=str(data["phone"]) if data.get("phone") else None,
    )
    return SecretStr(token), identity


class CredentialStore:
    """Saves, loads and deletes the user token and its identity."""

    def __init__(self, settings: Settings) -> None:
        self.dir = settings.config_dir or platformdirs.user_config_path(APP_NAME)
        self.mode = settings.credential_store
        self._account = settings.base_url

    @property
    def token_file(self) -> Path:
        return self.dir / TOKEN_FILE

    @property
    def identity_file(self) -> Path:
        return self.dir / IDENTITY_FILE

    def _backend(self) -> Literal["keyring", "file"]:
        if self.mode == "file":
            return "file"
        if _keyring() is not None:
            return "keyring"
        if self.mode == "keyring":
            raise RuntimeError("ALTEGIO_CREDENTIAL_STORE=keyring, but no OS keyring is available")
        return "file"

    def _write_private(self, path: Path, payload: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    def save(self, token: SecretStr, identity: Identity, partner_token: SecretStr | None = None) -> str:
        """Store the tokens; return a description of where (never a token)."""
        secrets = {"user_token": token.get_secret_value()}
        if partner_token is not None:
            secrets["partner_token"] = partner_token.get_secret_value()
        backend = self._backend()
        if backend == "keyring":
            keyring = _keyring()
            if keyring is None:  # pragma: no cover - checked in _backend
                raise RuntimeError("keyring vanished")
            keyring.set_password(KEYRING_SERVICE, self._account, json.dumps(secrets))
            self._write_private(self.identity_file, {"identity": asdict(identity), "store": "keyring"})
            return "the OS keyring"
        self._write_private(self.token_file, {"base_url": self._account, **secrets})
        self._write_private(self.identity_file, {"identity": asdict(identity), "store": "file"})
        return str(self.token_file)

    def _load_secrets(self) -> dict[str, Any]:
        if self.token_file.exists():
            try:
                return cast(dict[str, Any], json.loads(self.token_file.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                log.warning("ignoring unreadable %s", self.token_file)
                return {}
        if self.mode != "file":
            keyring = _keyring()
            value = keyring.get_password(KEYRING_SERVICE, self._account) if keyring is not None else None
            if isinstance(value, str) and value:
                try:
                    return cast(dict[str, Any], json.loads(value))
                except ValueError:
                    return {"user_token": value}
        return {}

    def load(self) -> tuple[SecretStr | None, SecretStr | None, Identity | None]:
        """(user token, partner token, identity), each None when not stored."""
        data = self._load_secrets()

        def secret(key: str) -> SecretStr | None:
            value = data.get(key)
            return SecretStr(value) if isinstance(value, str) and value else None

        return secret("user_token"), secret("partner_token"), self.load_identity()

    def load_identity(self) -> Identity | None:
        try:
            data = cast(dict[str, Any], json.loads(self.identity_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
        raw = data.get("identity")
        if not isinstance(raw, dict):
            return None
        fields = cast(dict[str, Any], raw)
        return Identity(**{k: fields.get(k) for k in ("id", "name", "login", "email", "phone")})

    def delete(self) -> bool:
        """Remove the stored token and identity; True if anything was removed."""
        removed = False
        for path in (self.token_file, self.identity_file):
            if path.exists():
                path.unlink()
                removed = True
        keyring = _keyring() if self.mode != "file" else None
        if keyring is not None:
            with contextlib.suppress(Exception):
                keyring.delete_password(KEYRING_SERVICE, self._account)
                removed = True
        return removed


def resolve_credentials(settings: Settings) -> tuple[Settings, Identity | None, str]:
    """Settings with tokens filled from the store when not given; plus identity and the token source."""
    store = CredentialStore(settings)
    if settings.partner_token is not None and settings.user_token is not None:
        # Nothing stored is needed: skip the keyring, whose import and backend probe cost ~60 ms.
        return settings, store.load_identity(), "ALTEGIO_USER_TOKEN"
    user, partner, identity = store.load()
    update: dict[str, SecretStr] = {}
    if settings.partner_token is None and partner is not None:
        update["partner_token"] = partner
    if settings.user_token is not None:
        source = "ALTEGIO_USER_TOKEN"
    elif user is not None:
        update["user_token"] = user
        source = f"stored by `altegio-mcp login` ({store.dir})"
    else:
        source = "none"
    return (settings.model_copy(update=update) if update else settings), identity, source
