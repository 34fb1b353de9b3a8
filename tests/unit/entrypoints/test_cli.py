"""Every command says what it does."""

from __future__ import annotations

import pytest

from entrypoints.cli import build_parser, main
from entrypoints.cli_client import ClientError, parse_params

COMMANDS = [
    ["serve"], ["api"], ["worker"], ["migrate"], ["admin"], ["admin", "create-user"], ["admin", "grant-credits"],
    ["admin", "set-quota"], ["accounts"], ["accounts", "add"], ["accounts", "list"], ["generate"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "usage: pixrelay" in text and len(text.splitlines()) > 2


def test_no_command_prints_the_overview(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    text = capsys.readouterr().out
    for name in ("serve", "api", "worker", "migrate", "admin", "accounts", "generate"):
        assert name in text
    assert build_parser().prog == "pixrelay"


def test_generate_params_are_json_where_they_can_be() -> None:
    assert parse_params("a fox", ["seed=3", "seconds=4.5", "style=noir", "flags=[1,2]"]) == {
        "prompt": "a fox", "seed": 3, "seconds": 4.5, "style": "noir", "flags": [1, 2]}
    with pytest.raises(ClientError):
        parse_params(None, ["novalue"])


def test_generate_needs_credentials(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PIXRELAY_EMAIL", raising=False)
    monkeypatch.delenv("PIXRELAY_PASSWORD", raising=False)
    assert main(["generate", "--prompt", "x"]) == 2
    assert "--email" in capsys.readouterr().err
