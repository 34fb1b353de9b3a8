"""THE composition root: every use case built from one set of ports by punq.

Async resources (database engine, Redis, S3 client, httpx) are opened by the caller (the
HTTP lifespan, the worker, the tests) and handed in as instances inside `Ports`; this module
only wires. Tests swap any port with `build_container(replace(ports, blobs=...))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import punq

from adapters.memory.webhook_sender import RecordingWebhookSender
from adapters.models import BUILTIN_MODELS
from adapters.providers.guarded import RegistryCircuits
from application.accounts.admin import (
    AddAccountCredits,
    CreateAccount,
    DeleteAccount,
    GetAccount,
    ListAccounts,
    UpdateAccount,
)
from application.accounts.private import AddPrivateAccount, DeletePrivateAccount, ListPrivateAccounts
from application.admin.audit_log import ListAudit
from application.admin.stats import ProviderStats
from application.api_keys.manage import CreateApiKey, ListApiKeys, MintApiKey, RevokeApiKey
from application.assets.delete import DeleteAsset
from application.assets.lineage import GetLineage
from application.assets.queries import AssetContent, GetAsset, ListAssets
from application.assets.upload import UploadAsset
from application.audit import AuditTrail
from application.auth.authenticate import Authenticate, ReadAccessToken
from application.auth.authenticate_key import AuthenticateKey
from application.auth.known_keys import KnownKeys, ReadApiKey
from application.auth.login import LogIn
from application.auth.password import ChangePassword
from application.auth.refresh import RefreshSession
from application.auth.register import RegisterUser
from application.auth.sessions import ListSessions, LogOut, RevokeAllSessions, RevokeSession
from application.billing.history import GetLedger, GetUsage
from application.bootstrap_admin import EnsureAdmin
from application.jobs.batch import CreateJobs
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob
from application.jobs.manage import DeleteJob, RetryJob
from application.jobs.queries import GetJob, ListJobs
from application.jobs.quote import QuoteJob
from application.jobs.waiting import ShowJob, UsableProviders
from application.models.admin import AddModel, ChangeModel, RemoveModel
from application.models.catalog import BuiltinModels, ModelCatalog
from application.models.queries import GetModel, ListModels
from application.openai_compat.images import RunImagesCall
from application.openai_compat.wait import AwaitJob
from application.pipeline.advance import AdvanceJob
from application.pipeline.claim import ClaimJobs
from application.pipeline.held import HeldPolls
from application.pipeline.run import DrainOnce, RunJob
from application.pipeline.webhook import AcceptWebhook
from application.policy import (
    AssetPolicy,
    AuthPolicy,
    CatalogPolicy,
    OpenAICompatPolicy,
    PipelinePolicy,
    Policies,
    WebhookPolicy,
)
from application.setup import FirstRunSetup
from application.users.admin import GrantCredits, ListUsers, UpdateUser
from application.users.lookup import FindUserByEmail
from application.users.me import GetProfile
from application.webhooks.deliver import DeliverWebhooks
from application.webhooks.deliveries import ListDeliveries, ListJobDeliveries, ReplayDelivery
from application.webhooks.endpoints import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetSigningSecret,
    GetWebhookEndpoint,
    ListWebhookEndpoints,
    RotateWebhookSecret,
    UpdateWebhookEndpoint,
)
from application.webhooks.payload import PayloadRenderer
from domain.accounts import PreferPrivateThenPriority, SelectionPolicy
from domain.ports import (
    BlobStore,
    CircuitStates,
    Clock,
    EventBus,
    IdGenerator,
    PasswordHasher,
    ProviderRegistry,
    RandomSource,
    RateLimiter,
    SessionCache,
    TokenIssuer,
    UnitOfWorkFactory,
    WebhookSender,
    WorkSignal,
)
from entrypoints.http.schemas_webhooks import JsonPayloads

USE_CASES: tuple[type, ...] = (
    RegisterUser, LogIn, RefreshSession, LogOut, ListSessions, RevokeSession, RevokeAllSessions,
    Authenticate, GetProfile, ListUsers, UpdateUser, GrantCredits, EnsureAdmin, FirstRunSetup,
    FindUserByEmail, ReadAccessToken,
    CreateJob, QuoteJob, CancelJob, GetJob, ListJobs, ShowJob, UsableProviders,
    ClaimJobs, AdvanceJob, RunJob, DrainOnce, AcceptWebhook,
    UploadAsset, GetAsset, ListAssets, AssetContent, DeleteAsset, GetLineage,
    CreateAccount, ListAccounts, GetAccount, UpdateAccount, DeleteAccount, AddAccountCredits,
    AddPrivateAccount, ListPrivateAccounts, DeletePrivateAccount,
    ListAudit, ProviderStats,
    CreateWebhookEndpoint, ListWebhookEndpoints, GetWebhookEndpoint, UpdateWebhookEndpoint, DeleteWebhookEndpoint,
    RotateWebhookSecret, GetSigningSecret, ListDeliveries, ReplayDelivery, DeliverWebhooks, ListJobDeliveries,
    AuthenticateKey, CreateApiKey, MintApiKey, ListApiKeys, RevokeApiKey,
    ChangePassword, RetryJob, DeleteJob, CreateJobs, GetUsage, GetLedger,
    ReadApiKey, AwaitJob, RunImagesCall, ListModels, GetModel, AddModel, ChangeModel, RemoveModel,
)
# ModelCatalog is a singleton too (below): the cache of the admins' records it holds is shared.


@dataclass(frozen=True)
class Ports:
    """Every port instance the use cases need."""

    uow: UnitOfWorkFactory
    blobs: BlobStore
    providers: ProviderRegistry
    clock: Clock
    ids: IdGenerator
    random: RandomSource
    hasher: PasswordHasher
    tokens: TokenIssuer
    rate_limiter: RateLimiter
    events: EventBus
    signal: WorkSignal
    session_cache: SessionCache
    """In-process only with one process; shared (Redis) or none (NoSessionCache) with more."""
    selection: SelectionPolicy = field(default_factory=PreferPrivateThenPriority)
    webhook_sender: WebhookSender = field(default_factory=RecordingWebhookSender)
    """Outbound webhooks; runtime.py gives the guarded HTTP sender, tests a recorder."""
    models: BuiltinModels = field(default_factory=lambda: BuiltinModels(BUILTIN_MODELS))
    """The built-in model catalog (adapters/models/)."""


def build_container(ports: Ports, policies: Policies | None = None) -> punq.Container:
    policies = policies or Policies()
    container = punq.Container()
    instances: dict[object, object] = {
        UnitOfWorkFactory: ports.uow, BlobStore: ports.blobs, ProviderRegistry: ports.providers,
        Clock: ports.clock, IdGenerator: ports.ids, RandomSource: ports.random,
        PasswordHasher: ports.hasher, TokenIssuer: ports.tokens, RateLimiter: ports.rate_limiter,
        EventBus: ports.events, WorkSignal: ports.signal, SessionCache: ports.session_cache,
        SelectionPolicy: ports.selection,
        Policies: policies, AuthPolicy: policies.auth, PipelinePolicy: policies.pipeline,
        AssetPolicy: policies.assets, Ports: ports, OpenAICompatPolicy: policies.openai,
        WebhookPolicy: policies.webhooks, WebhookSender: ports.webhook_sender,
        CatalogPolicy: policies.catalog, BuiltinModels: ports.models,
        CircuitStates: RegistryCircuits(ports.providers),
        PayloadRenderer: JsonPayloads(policies.webhooks.public_url),
    }
    for key, instance in instances.items():
        container.register(key, instance=instance)
    container.register(AuditTrail, scope=punq.Scope.singleton)
    container.register(KnownKeys, scope=punq.Scope.singleton)
    container.register(ModelCatalog, scope=punq.Scope.singleton)
    container.register(HeldPolls, scope=punq.Scope.singleton)  # one per process: its worker's held jobs
    for use_case in USE_CASES:
        container.register(use_case, scope=punq.Scope.singleton)
    return container
