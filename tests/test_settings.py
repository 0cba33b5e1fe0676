"""Settings: environment, explicit arguments on top, secrets kept secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from altegio_mcp.settings import Settings


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALTEGIO_PARTNER_TOKEN", "p-secret")
    monkeypatch.setenv("ALTEGIO_LOCATION_ID", "45")
    monkeypatch.setenv("ALTEGIO_TOOLSETS", "appointments, clients")
    monkeypatch.setenv("ALTEGIO_BASE_URL", "https://example.test/api/v1/")
    settings = Settings()
    assert settings.partner_token is not None
    assert settings.partner_token.get_secret_value() == "p-secret"
    assert settings.location_id == 45
    assert settings.toolsets == ["appointments", "clients"]
    assert settings.base_url == "https://example.test/api/v1"
    assert "p-secret" not in repr(settings)


def test_explicit_arguments_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALTEGIO_LOCATION_ID", "45")
    monkeypatch.setenv("ALTEGIO_READ_ONLY", "false")
    settings = Settings(location_id=7, read_only=True)
    assert settings.location_id == 7
    assert settings.read_only is True


def test_never_ask_needs_explicit_flag() -> None:
    with pytest.raises(ValidationError, match="ALLOW_UNCONFIRMED"):
        Settings(confirm="never-ask")
    assert Settings(confirm="never-ask", allow_unconfirmed=True).confirm == "never-ask"


def test_audit_default_depends_on_sandbox() -> None:
    assert Settings().audit_enabled() is True
    assert Settings(sandbox=True).audit_enabled() is False
    assert Settings(sandbox=True, audit=True).audit_enabled() is True


@pytest.mark.parametrize(
    "bad", [{"location_id": 0}, {"timeout": 0}, {"max_retries": -1}, {"confirm": "maybe"}]
)
def test_bad_values_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # pyright: ignore[reportArgumentType]
