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


def test_accounts_add_takes_one_secret_or_named_secret_fields() -> None:
    from entrypoints.cli_admin import _secret_of

    parser = build_parser()
    plain = parser.parse_args(["accounts", "add", "--provider", "replicate", "--label", "x", "--secret", "r8_k"])
    assert _secret_of(plain) == "r8_k"
    pair = parser.parse_args(["accounts", "add", "--provider", "kling", "--label", "x",
                              "--secret-field", "access_key=AK", "--secret-field", "secret_key=S=K"])
    assert _secret_of(pair) == {"access_key": "AK", "secret_key": "S=K"}
    for wrong in ([], ["--secret", "a", "--secret-field", "access_key=AK"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["accounts", "add", "--provider", "kling", "--label", "x", *wrong])
