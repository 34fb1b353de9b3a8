"""Log lines are structured and never carry secrets."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from entrypoints.logs import configure


def test_json_lines_with_extra_fields_and_masked_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure("info", json=True)
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        logging.getLogger("pixrelay.test").info("provider.submit", extra={
            "job_id": "j1", "secret": "sk-live-123", "password": "hunter2", "api_key": "k",
            "note": "sent Authorization: Bearer eyJhbGciOi.abc.def"})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "provider.submit" and line["job_id"] == "j1" and line["request_id"] == "req-1"
    assert line["secret"] == line["password"] == line["api_key"] == "***"
    assert "eyJhbGciOi" not in line["note"] and "Bearer ***" in line["note"]
    assert line["level"] == "info" and line["timestamp"].endswith("Z")


def test_console_format_for_terminals(capsys: pytest.CaptureFixture[str]) -> None:
    configure("warning", json=False)
    logging.getLogger("pixrelay.test").info("hidden")
    logging.getLogger("pixrelay.test").warning("shown", extra={"token": "abc"})
    err = capsys.readouterr().err
    assert "hidden" not in err and "shown" in err and "abc" not in err
