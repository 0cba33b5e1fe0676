"""The command line: help, login (token stored 0600), doctor, logout, tools; secrets never printed."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from altegio_mcp import cli
from altegio_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_PARTNER_TOKEN,
    DEMO_PASSWORD,
    DEMO_USER_TOKEN,
    SandboxConfig,
    create_sandbox,
)
from altegio_mcp.server import SANDBOX_BASE_URL
from tests.harness import TODAY

BIN = Path(sys.executable).with_name("altegio-mcp")


@pytest.mark.parametrize("argv", [["--help"], ["login", "--help"], ["serve", "--help"], ["doctor", "--help"]])
def test_help_from_the_installed_script(argv: list[str]) -> None:
    done = subprocess.run([str(BIN), *argv], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "usage: altegio-mcp" in done.stdout


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "altegio_mcp", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "altegio-mcp" in done.stdout


def _parse(argv: list[str]) -> object:
    return cli._parser().parse_args(argv)  # pyright: ignore[reportPrivateUsage]


def test_login_stores_tokens_privately_then_doctor_and_logout(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    monkeypatch.setenv("ALTEGIO_BASE_URL", SANDBOX_BASE_URL)
    out = io.StringIO()
    code = cli.cmd_login(
        _parse(["login"]),  # type: ignore[arg-type]
        out,
        transport=sandbox.transport(),
        ask=lambda _prompt: DEMO_LOGIN,
        ask_secret=lambda prompt: DEMO_PARTNER_TOKEN if "Partner" in prompt else DEMO_PASSWORD,
    )
    assert code == 0, out.getvalue()
    assert "Logged in as" in out.getvalue()
    config = Path(os.environ["ALTEGIO_CONFIG_DIR"])
    token_file = config / "credentials.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = json.loads(token_file.read_text())
    assert stored["user_token"] == DEMO_USER_TOKEN
    assert stored["partner_token"] == DEMO_PARTNER_TOKEN
    for text in (out.getvalue(),):
        assert DEMO_USER_TOKEN not in text
        assert DEMO_PASSWORD not in text
        assert DEMO_PARTNER_TOKEN not in text

    report = io.StringIO()
    assert cli.cmd_doctor(_parse(["doctor"]), report, transport=sandbox.transport()) == 0  # type: ignore[arg-type]
    text = report.getvalue()
    assert "acts as:" in text
    assert "location(s) this user can manage" in text
    assert DEMO_USER_TOKEN not in text
    assert DEMO_PARTNER_TOKEN not in text

    bye = io.StringIO()
    assert cli.cmd_logout(_parse(["logout"]), bye) == 0  # type: ignore[arg-type]
    assert "removed" in bye.getvalue()
    assert not token_file.exists()


def test_login_with_a_wrong_password_stores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = create_sandbox(SandboxConfig(today=TODAY))
    monkeypatch.setenv("ALTEGIO_BASE_URL", SANDBOX_BASE_URL)
    monkeypatch.setenv("ALTEGIO_PARTNER_TOKEN", DEMO_PARTNER_TOKEN)
    monkeypatch.setenv("ALTEGIO_LOGIN", DEMO_LOGIN)
    monkeypatch.setenv("ALTEGIO_PASSWORD", "wrong-password-123")
    out = io.StringIO()
    code = cli.cmd_login(_parse(["login"]), out, transport=sandbox.transport())  # type: ignore[arg-type]
    assert code == 1
    assert "Login failed" in out.getvalue()
    assert "wrong-password-123" not in out.getvalue()
    assert not (Path(os.environ["ALTEGIO_CONFIG_DIR"]) / "credentials.json").exists()


def test_doctor_without_credentials_says_what_to_do() -> None:
    report = io.StringIO()
    assert cli.cmd_doctor(_parse(["doctor"]), report) == 1  # type: ignore[arg-type]
    assert "ALTEGIO_PARTNER_TOKEN" in report.getvalue()
    assert "altegio-mcp login" in report.getvalue()


def test_doctor_in_sandbox_mode() -> None:
    report = io.StringIO()
    assert cli.cmd_doctor(_parse(["doctor", "--sandbox"]), report) == 0  # type: ignore[arg-type]
    assert "SANDBOX" in report.getvalue()


def test_invalid_configuration_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--confirm", "never-ask"]) == 2
    assert "ALLOW_UNCONFIRMED" in capsys.readouterr().err


def test_tools_command_lists_the_default_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tools"]) == 0
    listed = capsys.readouterr().out
    assert "create_appointment" in listed
    assert cli.main(["tools", "--read-only"]) == 0
    assert "create_appointment" not in capsys.readouterr().out
