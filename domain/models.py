"""Models: what a job runs on at its provider, the catalog's rules, and how a request picks one.

A model is a provider, the provider's own model id (`remote_id`: a Replicate slug or
"owner/name:version", a fal endpoint id, an OpenAI model name...), the operations it offers, a
params schema and a price rule. Its id is stable and names both: `replicate/black-forest-labs/flux-1.1-pro`,
`fal/fal-ai/flux/dev`, `sim/image`.

The catalog is the built-in models (typed msgspec params) with the admins' records applied on
top: a record of a new id adds a model (its params a JSON Schema), a record of a built-in's id
replaces it (keeping the built-in's typed params unless it brings a schema), and a removed
record (a tombstone) hides the model of its id.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import jsonschema
import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, validation
from domain.jobs import OperationType
from domain.pagination import Page
from domain.providers import PriceRule

MODEL_ID = re.compile(r"[a-z0-9_]{1,64}/[A-Za-z0-9._:/\-]{1,255}")
ALIAS = re.compile(r"[A-Za-z0-9._\-]{1,100}")


class ModelOperation(msgspec.Struct, frozen=True, kw_only=True):
    """One operation a model offers, and how many input assets it takes."""

    operation_type: OperationType
    min_inputs: int = 0
    max_inputs: int = 0
    # Where the inputs go in the provider's request, for providers whose models name them
    # (Replicate, fal); empty: the adapter's own mapping for the operation.
    input_fields: tuple[str, ...] = ()
    params_type: type[msgspec.Struct] | None = None  # this operation's own typed params, if not the model's


class Model(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    provider_id: str
    remote_id: str
    operations: tuple[ModelOperation, ...]
    price: PriceRule
    params_type: type[msgspec.Struct] | None = None  # built-ins: typed params, defaults filled in
    schema: dict[str, Any] | None = None  # admin models: a JSON Schema, checked and passed through
    name: str = ""
    aliases: tuple[str, ...] = ()
    default_for: tuple[OperationType, ...] = ()  # the provider's default model for these operations
    builtin: bool = True

    def operation(self, operation_type: str) -> ModelOperation | None:
        return next((op for op in self.operations if op.operation_type == operation_type), None)

    @property
    def operation_types(self) -> tuple[OperationType, ...]:
        return tuple(op.operation_type for op in self.operations)

    def params_schema(self, operation: ModelOperation | None = None) -> dict[str, Any]:
        typed = operation.params_type if operation is not None and operation.params_type else self.params_type
        if typed is not None:
            return msgspec.json.schema(typed)
        return self.schema if self.schema is not None else {"type": "object"}


class ModelRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An admin's entry in the catalog, stored: a model of its own, a built-in's replacement,
    or (removed) a tombstone hiding the model of its id."""

    id: str
    provider_id: str
    remote_id: str
    operations: tuple[ModelOperation, ...] = ()
    price: PriceRule = PriceRule(credits_per_unit=0)
    params_schema: dict[str, Any] | None = None  # None on a built-in's replacement: its typed params stay
    name: str = ""
    aliases: tuple[str, ...] = ()
    default_for: tuple[OperationType, ...] = ()
    removed: bool = False
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = None


def model_id(provider_id: str, remote_id: str) -> str:
    return f"{provider_id}/{remote_id}"


def effective(builtins: Iterable[Model], records: Iterable[ModelRecord]) -> list[Model]:
    """The catalog: built-ins with the records applied, by id."""
    models = {m.id: m for m in builtins}
    for record in records:
        if record.removed:
            models.pop(record.id, None)
            continue
        base = models.get(record.id)
        typed = base if base is not None and base.builtin and record.params_schema is None else None
        operations = record.operations
        if typed is not None:  # a built-in's per-operation typed params stay with it too
            operations = tuple(msgspec.structs.replace(op, params_type=_typed(typed, op)) for op in operations)
        models[record.id] = Model(
            id=record.id, provider_id=record.provider_id, remote_id=record.remote_id,
            operations=operations, price=record.price, builtin=base is not None and base.builtin,
            params_type=typed.params_type if typed is not None else None,
            schema=record.params_schema, name=record.name, aliases=record.aliases,
            default_for=record.default_for)
    return [models[key] for key in sorted(models)]


def _typed(base: Model, operation: ModelOperation) -> type[msgspec.Struct] | None:
    own = base.operation(operation.operation_type)
    return own.params_type if own is not None else None


def offered(models: Iterable[Model], providers: Iterable[str]) -> list[Model]:
    """Only the models of providers this deployment runs."""
    enabled = set(providers)
    return [m for m in models if m.provider_id in enabled]


def select(models: Iterable[Model], *, provider_id: str | None = None,
           operation_type: str | None = None) -> list[Model]:
    """The listing's filters, in id order."""
    return sorted((m for m in models
                   if (provider_id is None or m.provider_id == provider_id)
                   and (operation_type is None or m.operation(operation_type) is not None)),
                  key=lambda m: m.id)


def find(models: Iterable[Model], wanted: str) -> Model | None:
    return next((m for m in models if m.id == wanted), None)


class Chosen(msgspec.Struct, frozen=True):
    model: Model
    operation: ModelOperation


def resolve(models: Sequence[Model], *, model: str | None, provider_id: str | None,
            operation_type: str) -> Result[Chosen, DomainError]:
    """The model a job request runs on.

    - `model` names a model by id, or by alias (several models sharing an alias: the first by
      id that offers the operation; routing chooses among them);
    - only `provider_id`: that provider's default model for the operation (one marked
      default, else the first by id offering it);
    - both: the model must be the provider's;
    - the model must offer the operation.
    """
    if model is None and provider_id is None:
        return Failure(validation("give a model, or a provider_id for its default model", "model"))
    if model is None:
        return _provider_default(models, provider_id or "", operation_type)
    candidates = [m for m in models if m.id == model] or sorted(
        (m for m in models if model in m.aliases), key=lambda m: m.id)
    if not candidates:
        return Failure(validation(f"unknown model {model}", "model"))
    if provider_id is not None:
        candidates = [m for m in candidates if m.provider_id == provider_id]
        if not candidates:
            return Failure(validation(f"model {model} is not served by provider {provider_id}", "provider_id"))
    for candidate in candidates:
        operation = candidate.operation(operation_type)
        if operation is not None:
            return Success(Chosen(candidate, operation))
    return Failure(validation(f"model {model} does not offer {operation_type}", "operation_type"))


def _provider_default(models: Sequence[Model], provider_id: str, operation_type: str
                      ) -> Result[Chosen, DomainError]:
    own = [m for m in models if m.provider_id == provider_id]
    if not own:
        return Failure(validation(f"unknown provider {provider_id}", "provider_id"))
    capable = sorted((m for m in own if m.operation(operation_type) is not None),
                     key=lambda m: (operation_type not in m.default_for, m.id))
    if not capable:
        return Failure(validation(f"provider {provider_id} does not offer {operation_type}", "operation_type"))
    chosen = capable[0]
    operation = chosen.operation(operation_type)
    assert operation is not None
    return Success(Chosen(chosen, operation))


def check_params(chosen: Chosen, params: Any) -> Result[dict[str, Any], DomainError]:
    """Params checked against the model's schema: typed ones come back with their defaults
    filled in, JSON Schema ones as they were given."""
    if not isinstance(params, dict):
        return Failure(validation("params must be an object", "params"))
    model = chosen.model
    typed_as = chosen.operation.params_type or model.params_type
    if typed_as is not None:
        try:
            typed = msgspec.convert(params, typed_as)
        except msgspec.ValidationError as error:
            return Failure(validation(f"params: {error}", "params"))
        return Success(msgspec.to_builtins(typed))
    schema = model.schema if model.schema is not None else {"type": "object"}
    worst = jsonschema.exceptions.best_match(jsonschema.validators.validator_for(schema)(schema).iter_errors(params))
    if worst is not None:
        where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in worst.absolute_path)
        return Failure(validation(f"params{where}: {worst.message}", "params"))
    return Success(params)


def check_schema(schema: Any) -> Result[dict[str, Any], DomainError]:
    """A params schema an admin gives: a JSON Schema of an object."""
    if not isinstance(schema, dict):
        return Failure(validation("params_schema must be a JSON Schema object", "params_schema"))
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:
        return Failure(validation(f"params_schema is not a valid JSON Schema: {error.message}", "params_schema"))
    if schema.get("type", "object") != "object":
        return Failure(validation("params_schema must describe an object (type: object)", "params_schema"))
    return Success(schema)


def check_record(record: ModelRecord, providers: Iterable[str]) -> Result[ModelRecord, DomainError]:
    """What an admin's model must be: a known provider, a remote id, at least one operation,
    input counts that make sense, a non-negative price, a valid schema, clean aliases."""
    if record.provider_id not in set(providers):
        return Failure(validation(f"unknown provider {record.provider_id}", "provider_id"))
    if not MODEL_ID.fullmatch(record.id) or not record.id.startswith(f"{record.provider_id}/"):
        return Failure(validation(f"a model id is <provider_id>/<name>: {record.id!r}", "id"))
    if not record.remote_id.strip() or len(record.remote_id) > 255:
        return Failure(validation("remote_id must be 1-255 characters", "remote_id"))
    if record.removed:
        return Success(record)
    if not record.operations:
        return Failure(validation("a model offers at least one operation", "operations"))
    kinds = [op.operation_type for op in record.operations]
    if len(set(kinds)) != len(kinds):
        return Failure(validation("operations are listed once each", "operations"))
    for op in record.operations:
        if not 0 <= op.min_inputs <= op.max_inputs <= 16:
            return Failure(validation(f"{op.operation_type}: 0 <= min_inputs <= max_inputs <= 16", "operations"))
        if op.input_fields and len(op.input_fields) != op.max_inputs:
            return Failure(validation(f"{op.operation_type}: one input field per input", "operations"))
    if any(kind not in kinds for kind in record.default_for):
        return Failure(validation("default_for names only operations the model offers", "default_for"))
    if record.price.credits_per_unit < 0 or record.price.default_quantity < 0:
        return Failure(validation("a price cannot be negative", "price"))
    if any(not ALIAS.fullmatch(alias) for alias in record.aliases):
        return Failure(validation("aliases are 1-100 letters, digits, '.', '_' or '-'", "aliases"))
    if record.params_schema is not None:
        schema = check_schema(record.params_schema)
        if isinstance(schema, Failure):
            return Failure(schema.failure())
    return Success(record)


def record_of(model: Model, now: datetime, by: str | None) -> ModelRecord:
    """A model as an admin's record (a built-in about to be changed)."""
    return ModelRecord(id=model.id, provider_id=model.provider_id, remote_id=model.remote_id,
                       operations=model.operations, price=model.price, params_schema=model.schema,
                       name=model.name, aliases=model.aliases, default_for=model.default_for,
                       created_at=now, updated_at=now, updated_by=by)


def tombstone(of: str, provider_id: str, remote_id: str, now: datetime, by: str | None) -> ModelRecord:
    return ModelRecord(id=of, provider_id=provider_id, remote_id=remote_id, removed=True,
                       created_at=now, updated_at=now, updated_by=by)


def price_of(model: Model, params: Mapping[str, Any]) -> int:
    return model.price.cost(params)


def page_of(models: Sequence[Model], after: str | None, limit: int) -> Page[Model]:
    """A page of models in id order after the id `after`; the cursor is the last id shown."""
    ordered = sorted(models, key=lambda m: m.id)
    rest = [m for m in ordered if after is None or m.id > after]
    items = rest[:limit]
    more = len(rest) > limit
    return Page(items=items, next_cursor=encode_id_cursor(items[-1].id) if more and items else None)


def encode_id_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_id_cursor(token: str | None) -> str | ValueError | None:
    """None for no cursor; a ValueError (returned, not raised) for a malformed one."""
    if not token:
        return None
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ValueError("cursor is malformed")
    return decoded if MODEL_ID.fullmatch(decoded) else ValueError("cursor is malformed")
