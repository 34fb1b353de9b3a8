"""Configuration from environment variables (a `.env` file may supply them).

Every setting is validated at start; a bad one stops the start with one line naming it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlparse

import msgspec

PREFIX = "PIXRELAY_"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[IPNetwork]:
    """`10.0.0.1, 172.16.0.0/12, ::1` -> networks; ValueError names the first bad entry."""
    networks: list[IPNetwork] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(item) from None
    return networks


class SettingsError(Exception):
    """A missing or malformed setting; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".pixrelay")
    database_url: str | None = None
    redis_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    jwt_secret: str | None = None
    secrets_key: str | None = None
    admin_email: str | None = None
    admin_password: str | None = None
    signup_credits: int = 1000
    access_token_ttl: int = 900
    worker_concurrency: int = 4
    sim_accounts: int = 3
    lease_seconds: int = 60  # how long a crashed worker's job stays untouched before another resumes it
    poll_seconds: float = 2.0  # how often a running provider job is polled
    sim_state_dir: Path | None = None  # shared by the sim in every process (scale-out); None: see below
    log_level: str = "info"
    log_json: bool | None = None  # None: JSON when stdout is not a terminal
    public_url: str | None = None  # where providers can reach our webhooks
    providers: str = "sim,replicate,fal,openai_images,runway,pixverse,luma,veo,kling"
    provider_urls: str = ""  # "replicate=http://127.0.0.1:9001,fal=..." (proxies, local fakes)
    replicate_webhook_secret: str | None = None
    fal_webhook_keys: str = ""  # comma-separated ED25519 public keys
    pixverse_webhook_secret: str | None = None
    allow_private_outputs: bool = False  # let output downloads reach private/loopback hosts
    allow_private_webhooks: bool = False  # let outbound webhooks reach http, private and loopback hosts
    webhook_retry_schedule: str = ""  # seconds between delivery attempts, comma-separated; "" = the default
    webhook_disable_after_seconds: int = 86400  # an endpoint failing without a break this long is disabled
    webhook_poll_seconds: float = 1.0  # how often a worker looks for due deliveries when idle
    model_cache_seconds: float = 5.0  # how long a replica serves the admins' model records it read
    max_concurrent_hashes: int = 2  # argon2 hashes computed at once (64 MiB each)
    metrics_token: str | None = None  # a bearer token that may read /metrics (besides admins)
    trusted_proxies: str = ""  # IPs/CIDRs whose X-Forwarded-For is believed; none by default
    openai_wait_seconds: float = 60.0  # how long /openai/v1 calls wait for their job before a 504

    @property
    def webhook_retries(self) -> tuple[float, ...] | None:
        parts = [p.strip() for p in self.webhook_retry_schedule.split(",") if p.strip()]
        return tuple(float(p) for p in parts) if parts else None

    @property
    def enabled_providers(self) -> list[str]:
        return [p.strip() for p in self.providers.split(",") if p.strip()]

    @property
    def provider_url_overrides(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.provider_urls.split(",") if "=" in item)
        return {name.strip(): url.strip() for name, url in pairs}

    @property
    def trusted_proxy_networks(self) -> list[IPNetwork]:
        return parse_networks(self.trusted_proxies)

    @property
    def embedded(self) -> bool:
        """No external database: SQLite in the data dir, the in-process worker."""
        return self.database_url is None or self.database_url.startswith("sqlite")

    @property
    def effective_sim_state_dir(self) -> Path | None:
        """Where the sim keeps its remote jobs: the setting; embedded, `<data dir>/sim` (a
        restarted server finds the jobs it had submitted); otherwise in memory."""
        if self.sim_state_dir is not None:
            return self.sim_state_dir
        return self.data_dir / "sim" if self.embedded else None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'pixrelay.db').resolve()}"


FIELDS: dict[str, type] = {
    "host": str, "port": int, "data_dir": Path, "database_url": str, "redis_url": str,
    "s3_endpoint_url": str, "s3_bucket": str, "s3_region": str, "s3_access_key_id": str,
    "s3_secret_access_key": str, "jwt_secret": str, "secrets_key": str, "admin_email": str,
    "admin_password": str, "signup_credits": int, "access_token_ttl": int,
    "worker_concurrency": int, "sim_accounts": int, "sim_state_dir": Path, "lease_seconds": int,
    "poll_seconds": float, "log_level": str, "log_json": bool,
    "public_url": str, "providers": str, "provider_urls": str, "replicate_webhook_secret": str,
    "fal_webhook_keys": str, "pixverse_webhook_secret": str, "allow_private_outputs": bool,
    "allow_private_webhooks": bool, "webhook_retry_schedule": str, "webhook_disable_after_seconds": int,
    "webhook_poll_seconds": float, "model_cache_seconds": float,
    "max_concurrent_hashes": int, "metrics_token": str, "trusted_proxies": str,
    "openai_wait_seconds": float,
}

KNOWN_PROVIDERS = ("sim", "replicate", "fal", "openai_images", "runway", "pixverse", "luma", "veo", "kling")


def check_fernet_key(key: str) -> None:
    """ValueError unless `key` is a Fernet key (32 bytes, url-safe base64)."""
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64") from error
    if len(raw) != 32:
        raise ValueError("not 32 bytes")


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments ignored; optional quotes stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _convert(name: str, raw: str, kind: type) -> object:
    env = PREFIX + name.upper()
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{env} must be an integer, got {raw!r}") from None
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{env} must be true or false, got {raw!r}")
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{env} must be a number, got {raw!r}") from None
    if kind is Path:
        return Path(raw)
    return raw


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    env = dict(read_dotenv(dotenv) if dotenv else {})
    env.update(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for name, kind in FIELDS.items():
        raw = env.get(PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _convert(name, raw, kind)
    settings = Settings(**values)  # type: ignore[arg-type]
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if not 1 <= settings.port <= 65535:
        raise SettingsError(f"PIXRELAY_PORT must be within 1..65535, got {settings.port}")
    if settings.database_url is not None:
        scheme = urlparse(settings.database_url).scheme.split("+")[0]
        if scheme not in ("postgresql", "postgres", "sqlite"):
            raise SettingsError("PIXRELAY_DATABASE_URL must be a postgresql:// or sqlite:/// URL")
    if settings.redis_url is not None and urlparse(settings.redis_url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError("PIXRELAY_REDIS_URL must be a redis:// or rediss:// URL")
    if settings.s3_endpoint_url is not None:
        parsed = urlparse(settings.s3_endpoint_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingsError("PIXRELAY_S3_ENDPOINT_URL must be an http(s):// URL")
    if (settings.s3_endpoint_url or settings.s3_access_key_id) and not settings.s3_bucket:
        raise SettingsError("PIXRELAY_S3_BUCKET is required when S3 is configured")
    if settings.jwt_secret is not None and len(settings.jwt_secret) < 32:
        raise SettingsError("PIXRELAY_JWT_SECRET must be at least 32 characters")
    if settings.secrets_key is not None:
        try:
            check_fernet_key(settings.secrets_key)
        except ValueError:
            raise SettingsError("PIXRELAY_SECRETS_KEY must be 32 url-safe base64-encoded bytes "
                                "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
                                ) from None
    if not settings.embedded and settings.jwt_secret is None:
        raise SettingsError("PIXRELAY_JWT_SECRET is required with an external database (replicas must share it)")
    if bool(settings.admin_email) != bool(settings.admin_password):
        raise SettingsError("PIXRELAY_ADMIN_EMAIL and PIXRELAY_ADMIN_PASSWORD go together")
    if settings.admin_password is not None and len(settings.admin_password) < 8:
        raise SettingsError("PIXRELAY_ADMIN_PASSWORD must be at least 8 characters")
    if not 60 <= settings.access_token_ttl <= 900:
        raise SettingsError("PIXRELAY_ACCESS_TOKEN_TTL must be within 60..900 seconds")
    if not 2 <= settings.lease_seconds <= 3600:
        raise SettingsError("PIXRELAY_LEASE_SECONDS must be within 2..3600")
    if not 0.1 <= settings.poll_seconds <= 600:
        raise SettingsError("PIXRELAY_POLL_SECONDS must be within 0.1..600")
    if not 0 <= settings.model_cache_seconds <= 3600:
        raise SettingsError("PIXRELAY_MODEL_CACHE_SECONDS must be within 0..3600")
    try:
        settings.trusted_proxy_networks  # noqa: B018 (parsed to be checked)
    except ValueError as error:
        raise SettingsError(f"PIXRELAY_TRUSTED_PROXIES: {error} is not an IP address or CIDR") from None
    if settings.metrics_token is not None and len(settings.metrics_token) < 32:
        raise SettingsError("PIXRELAY_METRICS_TOKEN must be at least 32 characters")
    if not 1 <= settings.max_concurrent_hashes <= 64:
        raise SettingsError("PIXRELAY_MAX_CONCURRENT_HASHES must be within 1..64")
    if settings.worker_concurrency < 1:
        raise SettingsError("PIXRELAY_WORKER_CONCURRENCY must be at least 1")
    if settings.signup_credits < 0 or settings.sim_accounts < 0:
        raise SettingsError("PIXRELAY_SIGNUP_CREDITS and PIXRELAY_SIM_ACCOUNTS cannot be negative")
    if settings.sim_state_dir is not None and settings.sim_state_dir.exists() and not settings.sim_state_dir.is_dir():
        raise SettingsError(f"PIXRELAY_SIM_STATE_DIR must be a directory, {settings.sim_state_dir} is a file")
    unknown = [p for p in settings.enabled_providers if p not in KNOWN_PROVIDERS]
    if unknown:
        raise SettingsError(f"PIXRELAY_PROVIDERS names unknown providers: {', '.join(unknown)}")
    for name, url in settings.provider_url_overrides.items():
        if name not in KNOWN_PROVIDERS or urlparse(url).scheme not in ("http", "https"):
            raise SettingsError(f"PIXRELAY_PROVIDER_URLS: {name}={url} is not a known provider and http(s) URL")
    if settings.public_url is not None and urlparse(settings.public_url).scheme not in ("http", "https"):
        raise SettingsError("PIXRELAY_PUBLIC_URL must be an http(s):// URL")
    try:
        retries = settings.webhook_retries
    except ValueError:
        raise SettingsError("PIXRELAY_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds") from None
    if retries is not None and not all(0 < r <= 604800 for r in retries):
        raise SettingsError("PIXRELAY_WEBHOOK_RETRY_SCHEDULE entries must be within 0..604800 seconds")
    if settings.webhook_disable_after_seconds < 1:
        raise SettingsError("PIXRELAY_WEBHOOK_DISABLE_AFTER_SECONDS must be at least 1")
    if not 0.05 <= settings.webhook_poll_seconds <= 600:
        raise SettingsError("PIXRELAY_WEBHOOK_POLL_SECONDS must be within 0.05..600")
    if not 0 <= settings.openai_wait_seconds <= 3600:
        raise SettingsError("PIXRELAY_OPENAI_WAIT_SECONDS must be within 0..3600")
    if settings.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise SettingsError("PIXRELAY_LOG_LEVEL must be debug, info, warning or error")


def persistent_secret(data_dir: Path, name: str, nbytes: int = 48,
                      factory: Callable[[], str] | None = None) -> str:
    """A secret generated once and kept in the data dir (owner-only), reused on every start."""
    path = data_dir / name
    if path.is_file():
        os.chmod(path, 0o600)  # one left by an older version with looser modes
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = factory() if factory else secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
