"""An account's secret: one string (an API key) or, for providers that sign with a key pair,
several named string fields (Kling: access_key and secret_key).

Either way it travels and is sealed at rest as ONE string, so storage, the sealing box and the
ProviderClient port stay as they are: a structured secret is its fields as a compact JSON
object with sorted keys. A provider that declares no fields reads the string as it is, so a
secret stored before structured secrets existed reads the same; only a provider that declares
fields decodes it (`secret_fields`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from returns.result import Failure, Result, Success

from domain.errors import DomainError, validation

MAX_FIELD = 4096
SecretValue = str | Mapping[str, str]


def encode_fields(fields: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(fields.items())), separators=(",", ":"), ensure_ascii=False)


def secret_fields(secret: str) -> dict[str, str] | None:
    """The named fields of a structured secret; None when `secret` is not one."""
    if not secret.startswith("{"):
        return None
    try:
        decoded = json.loads(secret)
    except ValueError:
        return None
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        return None
    return {str(k): v for k, v in decoded.items()}


def _check_field(name: str, value: str) -> Result[str, DomainError]:
    if 1 <= len(value) <= MAX_FIELD and value.strip() == value:
        return Success(value)
    return Failure(validation(f"secret.{name} must be 1-{MAX_FIELD} characters without surrounding spaces",
                              "secret"))


def check_secret_value(provider_id: str, fields: tuple[str, ...], value: SecretValue) -> Result[str, DomainError]:
    """The secret as stored, after the provider's shape rule: one string where the provider
    declares no fields (its own rule is `check_secret`'s), else an object with exactly its
    fields, each a non-blank string."""
    if not fields:
        if not isinstance(value, str):
            return Failure(validation(f"provider {provider_id} takes its secret as one string", "secret"))
        return Success(value)
    if isinstance(value, str):
        return Failure(validation(f"provider {provider_id} takes its secret as an object with the fields "
                                  f"{', '.join(fields)}", "secret"))
    missing, unknown = sorted(set(fields) - set(value)), sorted(set(value) - set(fields))
    if missing or unknown:
        detail = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                             f"unknown {', '.join(unknown)}" if unknown else "") if part)
        return Failure(validation(f"secret for {provider_id}: {detail} (wanted: {', '.join(fields)})", "secret"))
    for name in fields:
        checked = _check_field(name, value[name])
        if isinstance(checked, Failure):
            return Failure(checked.failure())
    return Success(encode_fields({name: value[name] for name in fields}))
