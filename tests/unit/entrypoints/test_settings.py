"""Settings: defaults, .env files, and one clear line per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings, persistent_secret, read_dotenv


def test_no_configuration_is_the_embedded_default(tmp_path: Path) -> None:
    settings = load_settings({}, dotenv=tmp_path / "missing.env")
    assert settings == Settings()
    assert settings.embedded and settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.effective_database_url.startswith("sqlite:///") and "pixrelay.db" in settings.effective_database_url
    assert settings.effective_sim_state_dir == Path(".pixrelay") / "sim"  # survives a restart


def test_the_sim_keeps_its_jobs_in_memory_when_scaled_out_unless_told_where(tmp_path: Path) -> None:
    scaled = {"PIXRELAY_DATABASE_URL": "postgresql://pix@db/pix", "PIXRELAY_JWT_SECRET": "x" * 40}
    assert load_settings(scaled, dotenv=None).effective_sim_state_dir is None
    told = load_settings({**scaled, "PIXRELAY_SIM_STATE_DIR": str(tmp_path)}, dotenv=None)
    assert told.effective_sim_state_dir == tmp_path


def test_dotenv_supplies_values_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('# comment\n\nPIXRELAY_PORT=9001\nexport PIXRELAY_HOST="0.0.0.0"\nPIXRELAY_LOG_LEVEL=\'debug\'\n')
    settings = load_settings({"PIXRELAY_PORT": "9002"}, dotenv=env_file)
    assert (settings.port, settings.host, settings.log_level) == (9002, "0.0.0.0", "debug")
    assert read_dotenv(tmp_path / "nope") == {}


def test_a_malformed_dotenv_line_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PIXRELAY_PORT=1\nnonsense\n")
    with pytest.raises(SettingsError, match=r"\.env:2"):
        load_settings({}, dotenv=env_file)


@pytest.mark.parametrize(("env", "named"), [
    ({"PIXRELAY_PORT": "http"}, "PIXRELAY_PORT"),
    ({"PIXRELAY_PORT": "70000"}, "PIXRELAY_PORT"),
    ({"PIXRELAY_DATABASE_URL": "mysql://db"}, "PIXRELAY_DATABASE_URL"),
    ({"PIXRELAY_DATABASE_URL": "postgresql://db/x"}, "PIXRELAY_JWT_SECRET"),
    ({"PIXRELAY_REDIS_URL": "http://cache"}, "PIXRELAY_REDIS_URL"),
    ({"PIXRELAY_S3_ENDPOINT_URL": "ftp://s3"}, "PIXRELAY_S3_ENDPOINT_URL"),
    ({"PIXRELAY_S3_ENDPOINT_URL": "http://s3:9000"}, "PIXRELAY_S3_BUCKET"),
    ({"PIXRELAY_JWT_SECRET": "short"}, "PIXRELAY_JWT_SECRET"),
    ({"PIXRELAY_ADMIN_EMAIL": "a@b.co"}, "PIXRELAY_ADMIN_EMAIL"),
    ({"PIXRELAY_ADMIN_EMAIL": "a@b.co", "PIXRELAY_ADMIN_PASSWORD": "short"}, "PIXRELAY_ADMIN_PASSWORD"),
    ({"PIXRELAY_ACCESS_TOKEN_TTL": "3600"}, "PIXRELAY_ACCESS_TOKEN_TTL"),
    ({"PIXRELAY_WORKER_CONCURRENCY": "0"}, "PIXRELAY_WORKER_CONCURRENCY"),
    ({"PIXRELAY_SIGNUP_CREDITS": "-1"}, "PIXRELAY_SIGNUP_CREDITS"),
    ({"PIXRELAY_LOG_LEVEL": "loud"}, "PIXRELAY_LOG_LEVEL"),
    ({"PIXRELAY_LOG_JSON": "perhaps"}, "PIXRELAY_LOG_JSON"),
    ({"PIXRELAY_PROVIDERS": "sim,midjourney"}, "PIXRELAY_PROVIDERS"),
    ({"PIXRELAY_PROVIDER_URLS": "replicate=ftp://x"}, "PIXRELAY_PROVIDER_URLS"),
    ({"PIXRELAY_PUBLIC_URL": "pixrelay.example"}, "PIXRELAY_PUBLIC_URL"),
    ({"PIXRELAY_SECRETS_KEY": "too-short"}, "PIXRELAY_SECRETS_KEY"),
    ({"PIXRELAY_LEASE_SECONDS": "1"}, "PIXRELAY_LEASE_SECONDS"),
    ({"PIXRELAY_POLL_SECONDS": "fast"}, "PIXRELAY_POLL_SECONDS"),
])
def test_bad_values_name_their_setting(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env, dotenv=None)


def test_scale_out_settings_parse(tmp_path: Path) -> None:
    settings = load_settings({
        "PIXRELAY_DATABASE_URL": "postgresql://pix@db/pix", "PIXRELAY_JWT_SECRET": "x" * 40,
        "PIXRELAY_REDIS_URL": "redis://cache:6379/0", "PIXRELAY_S3_BUCKET": "media",
        "PIXRELAY_PROVIDERS": "sim, replicate", "PIXRELAY_PROVIDER_URLS": "replicate=http://127.0.0.1:9/v1",
        "PIXRELAY_ALLOW_PRIVATE_OUTPUTS": "yes",
    }, dotenv=None)
    assert not settings.embedded and settings.enabled_providers == ["sim", "replicate"]
    assert settings.provider_url_overrides == {"replicate": "http://127.0.0.1:9/v1"}
    assert settings.allow_private_outputs


def test_persistent_secret_is_made_once_and_private(tmp_path: Path) -> None:
    first = persistent_secret(tmp_path / "data", "jwt_secret")
    assert persistent_secret(tmp_path / "data", "jwt_secret") == first and len(first) >= 32
    assert (tmp_path / "data" / "jwt_secret").stat().st_mode & 0o077 == 0
