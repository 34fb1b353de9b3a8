"""Ports: the small Protocols the application needs from the outside world.

Repositories expose intent-level operations. The ones named `try_*` are conditional and
atomic in every adapter (a single conditional statement or row lock in SQL): they are where
quotas, reservations and balances stay correct under concurrency.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from enum import StrEnum
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar, runtime_checkable

import msgspec
from returns.result import Result

from domain.accounts import ProviderAccount, SelectionPolicy
from domain.api_keys import ApiKey, KeyOwner
from domain.assets import Asset, AssetSource, MediaType, ProviderUpload
from domain.audit import AuditEntry, AuditFilter
from domain.credentials import Credential
from domain.dispatch import ClaimedJobs
from domain.errors import DomainError
from domain.events import DomainEvent
from domain.jobs import HeldJob, HeldState, Job, JobStatus
from domain.ledger import CreditBalance, CreditHold, LedgerEntry, LedgerTransaction
from domain.lineage import LineageEdge
from domain.models import ModelRecord
from domain.outbound import DeliveryAttempt, SendResult, TerminalJob, WebhookDelivery, WebhookEndpoint
from domain.pagination import Cursor, Page
from domain.providers import (
    InputRef,
    ProviderFailure,
    ProviderInfo,
    ProviderOutput,
    ProviderSubmission,
    RemoteStatus,
    SubmitRequest,
    WebhookEvent,
)
from domain.quotas import DailyUsage
from domain.users import AccessClaims, Role, Session, User

# ---------------------------------------------------------------- repositories


class UserRepository(Protocol):
    async def add(self, user: User) -> bool:
        """False when the email (case-insensitive) or username is taken."""
    async def get(self, user_id: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def update(self, user: User) -> None:
        """Profile, role, activity and quota; never the usage counters."""
    async def page(self, after: Cursor | None, limit: int) -> Page[User]: ...
    async def count(self) -> int: ...
    async def try_add_storage(self, user_id: str, delta: int, limit: int | None) -> bool:
        """Add `delta` bytes to the user's stored total unless that passes `limit`."""
    async def release_run_slot(self, user_id: str) -> None:
        """One of the user's running jobs left `processing` (slots are taken by claims)."""


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...
    async def get(self, session_id: str) -> Session | None: ...
    async def update(self, session: Session) -> None: ...
    async def list_live(self, user_id: str, now: datetime) -> list[Session]: ...
    async def revoke_all(self, user_id: str, now: datetime) -> int: ...
    async def seen_from(self, user_id: str, client_ip: str, since: datetime) -> bool:
        """Whether any session of the user (live, expired or revoked) was started from
        `client_ip` at or after `since`."""


class JobFilter(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str | None = None
    status: JobStatus | None = None
    provider_id: str | None = None
    operation_type: str | None = None
    workspace_id: str | None = None
    name_prefix: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


class JobRepository(Protocol):
    async def add(self, job: Job) -> bool:
        """False when the user already has a job with this idempotency key."""
    async def get(self, job_id: str) -> Job | None: ...
    async def find_by_idempotency_key(self, user_id: str, key: str) -> Job | None: ...
    async def page(self, where: JobFilter, after: Cursor | None, limit: int) -> Page[Job]:
        """Newest first; deleted jobs are never listed."""
    async def save(self, job: Job, expected_version: int) -> bool:
        """Write `job` (with version = expected_version + 1) only if the stored version
        is still `expected_version`: optimistic concurrency for workers and cancels."""
    async def claim_and_reserve(self, now: datetime, lease_token: str, lease_until: datetime,
                                limit: int, selection: SelectionPolicy) -> ClaimedJobs:
        """One atomic step: lease due jobs, best priority then oldest first, at most `limit`:
        - processing jobs whose lease has run out and whose next poll is due (a crashed
          worker, a job waiting on its provider);
        - pending jobs (run_after <= now, parent absent or completed) only together with an
          account reserved for each and one of its user's run slots, placed by
          `domain.dispatch.plan_dispatch` (a job waiting for an account holds that account
          back from lower-priority jobs; other providers' jobs go ahead).
        Each job is returned to exactly one caller."""
    async def find_by_provider_job_id(self, provider_id: str, provider_job_id: str) -> Job | None: ...
    async def renew_lease(self, hold: HeldJob, lease_until: datetime, renew_before: datetime) -> Job | None:
        """`domain.jobs.renew_lease` on the job if `still_held` by `hold` (its version
        unchanged); the job as stored then, else None."""
    async def poke(self, job_id: str, now: datetime) -> bool:
        """`domain.jobs.poke`: a processing job's next poll due now, its version unchanged
        (a webhook's hint must not take the job from whoever holds it)."""
    async def dependents(self, parent_job_id: str) -> list[Job]:
        """Non-terminal jobs waiting on this parent."""
    async def count_by_status(self, provider_id: str | None = None) -> dict[str, int]: ...
    async def daily_counts(self, since: datetime) -> list[tuple[str, date, str, int]]:
        """(provider_id, day, status, count) for jobs created since `since`."""


class SubmissionRepository(Protocol):
    async def add(self, submission: ProviderSubmission) -> None: ...
    async def get(self, submission_id: str) -> ProviderSubmission | None: ...
    async def update(self, submission: ProviderSubmission) -> None: ...
    async def for_job(self, job_id: str) -> list[ProviderSubmission]: ...


class AccountRepository(Protocol):
    async def add(self, account: ProviderAccount) -> None: ...
    async def get(self, account_id: str) -> ProviderAccount | None: ...
    async def find(self, provider_id: str | None = None, owner_user_id: str | None = None,
                   shared_only: bool = False) -> list[ProviderAccount]: ...
    async def candidates(self, provider_id: str, user_id: str) -> list[ProviderAccount]:
        """The shared pool of the provider plus the user's own private accounts."""
    async def update(self, account: ProviderAccount) -> None:
        """Admin fields: label, secret, status, priority, max_concurrent_jobs, cooldown."""
    async def delete(self, account_id: str) -> bool: ...
    async def count_owned(self, user_id: str) -> int: ...
    async def try_reserve(self, account_id: str, cost: int, now: datetime) -> ProviderAccount | None:
        """Take a slot and `cost` credits if a slot is free, credits suffice and the account
        is usable now; None otherwise. Never more than max_concurrent_jobs, never below 0."""
    async def free_slot(self, account_id: str, refund: int) -> None:
        """A job leaves the account: its slot back, and `refund` of the credits it reserved."""
    async def save_health(self, account: ProviderAccount) -> None:
        """Only status, cooldown, failure and success counters and the average time."""
    async def try_add_credits(self, account_id: str, amount: int) -> ProviderAccount | None: ...


class AssetFilter(msgspec.Struct, frozen=True, kw_only=True):
    owner_id: str
    media_type: MediaType | None = None
    source: AssetSource | None = None
    provider_id: str | None = None
    workspace_id: str | None = None


class AssetRepository(Protocol):
    async def add(self, asset: Asset) -> bool:
        """False when the owner already has a live asset with these bytes (dedup race)."""
    async def get(self, asset_id: str) -> Asset | None:
        """Deleted assets too (their lineage node stays); callers check `is_deleted`."""
    async def many(self, asset_ids: Sequence[str]) -> list[Asset]: ...
    async def find_by_sha(self, owner_id: str, sha256: str) -> Asset | None:
        """The owner's live asset with these bytes, if any."""
    async def page(self, where: AssetFilter, after: Cursor | None, limit: int) -> Page[Asset]: ...
    async def update(self, asset: Asset) -> None: ...
    async def count_live_with_key(self, storage_key: str) -> int: ...


class ProviderUploadRepository(Protocol):
    async def get(self, asset_id: str, provider_id: str) -> ProviderUpload | None: ...
    async def put(self, upload: ProviderUpload) -> None: ...


class LineageRepository(Protocol):
    async def add(self, edges: Sequence[LineageEdge]) -> None: ...
    async def ancestors(self, asset_id: str, max_depth: int) -> list[LineageEdge]: ...
    async def descendants(self, asset_id: str, max_depth: int) -> list[LineageEdge]: ...


class LedgerRepository(Protocol):
    async def apply(self, tx: LedgerTransaction) -> bool:
        """Record the transaction and move the balances, unless a user balance would go
        below zero: then nothing is written and the answer is False."""
    async def balance(self, user_id: str) -> CreditBalance: ...
    async def add_hold(self, hold: CreditHold) -> None: ...
    async def get_hold(self, hold_id: str) -> CreditHold | None: ...
    async def settle_hold(self, hold: CreditHold) -> bool:
        """Write a settled hold only if the stored one is still open (exactly once)."""
    async def transactions(self, user_id: str | None = None) -> list[LedgerTransaction]: ...
    async def holds(self, user_id: str | None = None) -> list[CreditHold]: ...
    async def history(self, user_id: str, before_seq: int | None, limit: int) -> list[LedgerEntry]:
        """The user's transactions before `before_seq` (all when None), newest first, at
        most `limit`, each with the user's balance right after it."""


class UsageDelta(msgspec.Struct, frozen=True, kw_only=True):
    jobs_completed: int = 0
    assets_created: int = 0
    credits_spent: int = 0
    bytes_stored: int = 0


class UsageRepository(Protocol):
    async def try_count_job(self, user_id: str, day: date, limit: int | None) -> bool:
        """Count one more job created today unless that passes `limit`."""
    async def add(self, user_id: str, day: date, delta: UsageDelta) -> None: ...
    async def get(self, user_id: str, day: date) -> DailyUsage: ...
    async def between(self, user_id: str, first: date, last: date) -> list[DailyUsage]:
        """The user's stored days from `first` to `last` (both included), oldest first;
        days with nothing counted may be missing."""


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def page(self, where: AuditFilter, after: Cursor | None, limit: int) -> Page[AuditEntry]: ...


class WebhookRepository(Protocol):
    async def remember(self, provider_id: str, webhook_id: str, received_at: datetime) -> bool:
        """Record a delivery; False when this provider already delivered this id (a replay)."""


class WebhookEndpointRepository(Protocol):
    """A user's outbound webhook endpoints, and each user's default signing secret."""

    async def add(self, endpoint: WebhookEndpoint) -> None: ...
    async def get(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    async def for_user(self, user_id: str) -> list[WebhookEndpoint]:
        """Oldest first."""
    async def update(self, endpoint: WebhookEndpoint) -> None:
        """url, events, description, secrets and the disabled fields."""
    async def delete(self, endpoint_id: str) -> bool:
        """The endpoint, its deliveries and their attempts."""
    async def record_success(self, endpoint_id: str) -> None:
        """The endpoint is not failing (any more)."""
    async def record_failure(self, endpoint_id: str, now: datetime, disable_before: datetime,
                             reason: str) -> bool:
        """Failing since now unless it already was; disabled (with `reason`) when it has been
        failing since `disable_before` or earlier. True when this call disabled it."""
    async def signing_key(self, user_id: str, candidate: str, now: datetime) -> str:
        """The user's default signing secret; `candidate` becomes it when there is none yet
        (the first writer wins)."""


class WebhookDeliveryRepository(Protocol):
    async def enqueue(self, ended: Sequence[TerminalJob]) -> None:
        """One pending delivery, due at once, per enabled endpoint of the job's user that
        takes the event, and one to the job's own webhook_url when it wants the event: one
        statement. Idempotent: a job's event enqueued twice gives the same deliveries."""
    async def add(self, delivery: WebhookDelivery) -> None: ...
    async def get(self, delivery_id: str) -> WebhookDelivery | None: ...
    async def claim_due(self, now: datetime, lease_token: str, lease_until: datetime,
                        limit: int) -> list[WebhookDelivery]:
        """Lease pending deliveries due by `now` (an expired lease is due again), oldest due
        first, skipping those of disabled endpoints; each goes to exactly one caller."""
    async def save(self, delivery: WebhookDelivery, lease_token: str) -> bool:
        """Write the outcome only while `lease_token` still holds the delivery."""
    async def add_attempt(self, attempt: DeliveryAttempt) -> None: ...
    async def page(self, endpoint_id: str, after: Cursor | None, limit: int) -> Page[WebhookDelivery]: ...
    async def for_job(self, job_id: str) -> list[WebhookDelivery]:
        """Every delivery of the job's events (endpoints and its own webhook_url), oldest first."""
    async def attempts(self, delivery_ids: Sequence[str]) -> list[DeliveryAttempt]:
        """Oldest first."""
class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...
    async def get(self, key_id: str) -> ApiKey | None: ...
    async def with_owner(self, key_id: str) -> tuple[ApiKey, KeyOwner] | None:
        """The key and what checking it needs about its owner, in one statement."""
    async def live_for(self, user_id: str) -> list[ApiKey]:
        """The user's keys that are not revoked (expired ones too), newest first."""
    async def count_live(self, user_id: str) -> int:
        """The user's keys that are not revoked."""
    async def revoke(self, key_id: str, now: datetime) -> bool:
        """False when the key is unknown or already revoked."""
    async def touch(self, key_id: str, now: datetime, older_than: datetime) -> None:
        """Set `last_used_at` to `now` only where it is unset or before `older_than`."""


class ModelRepository(Protocol):
    """The admins' model records (domain/models.py): additions, replacements, tombstones."""

    async def all(self) -> list[ModelRecord]:
        """Every record, removed ones too, by id."""
    async def get(self, model_id: str) -> ModelRecord | None: ...
    async def put(self, record: ModelRecord) -> None:
        """Insert or replace the record of its id."""


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    users: UserRepository
    sessions: SessionRepository
    jobs: JobRepository
    submissions: SubmissionRepository
    accounts: AccountRepository
    assets: AssetRepository
    uploads: ProviderUploadRepository
    lineage: LineageRepository
    ledger: LedgerRepository
    usage: UsageRepository
    audit: AuditRepository
    webhooks: WebhookRepository
    hook_endpoints: WebhookEndpointRepository
    hook_deliveries: WebhookDeliveryRepository
    api_keys: ApiKeyRepository
    models: ModelRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


# ---------------------------------------------------------------- atomic steps of the request path

T = TypeVar("T")


class JobDraft(msgspec.Struct, frozen=True, kw_only=True):
    """Everything creating a job writes, built by the use case with the domain's functions."""

    job: Job
    hold: CreditHold
    hold_tx: LedgerTransaction
    audit: AuditEntry


class CreateStatus(StrEnum):
    CREATED = "created"
    REPLAYED = "replayed"  # the user already has a job with this idempotency key: `job` is it
    UNAUTHENTICATED = "unauthenticated"  # the credential grants nothing: nothing was written
    DAILY_LIMIT = "daily_limit"  # `daily_limit` jobs were created today already
    INSUFFICIENT_CREDITS = "insufficient_credits"  # `available` is what could be spent
    KEY_IN_FLIGHT = "key_in_flight"  # another request with this key is being created now


class CreateOutcome(msgspec.Struct, frozen=True, kw_only=True):
    status: CreateStatus
    job: Job | None = None
    daily_limit: int | None = None
    available: int = 0


class Authorized(msgspec.Struct, Generic[T], frozen=True):
    """A read made together with its credential check: `granted` False means 401 (and no
    value was read); True with a None value means there was nothing to see (404)."""

    granted: bool
    value: T | None = None


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    """A user as their profile shows them: the user, the UTC day's usage, the balance."""

    user: User
    today: DailyUsage
    balance: CreditBalance


class Relations(msgspec.Struct, frozen=True, kw_only=True):
    """What a new job names, read before it is created: the user's assets among its inputs,
    its parent if the user's, and the user's job with its idempotency key if any."""

    assets: list[Asset]
    parent: Job | None = None
    earlier: Job | None = None


class WaitInputs(msgspec.Struct, frozen=True, kw_only=True):
    """What dispatch's `why_waiting` needs about a pending job, read with the job: its parent
    (if the user's), its user's concurrent-job limit and running jobs, and the provider's
    accounts the user may use (shared or their own), oldest first, their secrets not read
    (an empty `secret`)."""

    parent: Job | None = None
    max_concurrent_jobs: int | None = None
    running_jobs: int = 0
    accounts: list[ProviderAccount] = msgspec.field(default_factory=list)


class ShownJob(msgspec.Struct, frozen=True, kw_only=True):
    """A job as GET shows it: for a pending job, with what explains its wait."""

    job: Job
    wait: WaitInputs | None = None


class AtomicSteps(Protocol):
    """The request path's steps, each one transaction of its own with its credential check
    inside (in SQL, one statement: one round trip). Every rule they apply is a domain
    function (domain/credentials.py `grants`, domain/quotas.py `within`, domain/ledger.py
    postings); the in-memory adapter calls those functions, the SQL adapter states them in
    SQL, and tests/budgets/test_sql_rules.py checks the two agree."""

    async def create_job(self, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
        """Atomically, unless the credential grants nothing: give back the user's job with
        the draft's idempotency key if there is one; else place the hold (the balance may
        not go below zero), count the job in the UTC day's usage against the user's
        `max_jobs_per_day`, and write the hold, its ledger transaction, the job and the
        audit entry; all of it or nothing."""

    async def read_relations(self, credential: Credential, asset_ids: Sequence[str], parent_job_id: str | None,
                             idempotency_key: str | None, now: datetime) -> Authorized[Relations]:
        """The credential's user's assets among `asset_ids` (deleted ones too), the parent job
        if it is theirs, and their job with this idempotency key."""

    async def read_route_accounts(self, provider_ids: Sequence[str], user_id: str) -> list[ProviderAccount]:
        """The accounts of these providers the user may run on (shared, or the user's own),
        oldest first, their secrets not read: what a routed job's first choice weighs
        (application/jobs/routing.py)."""

    async def read_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
        """The job, if it is the credential's user's."""

    async def read_shown_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[ShownJob]:
        """The job, if it is the credential's user's, and when it is pending its WaitInputs."""

    async def read_asset(self, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
        """The asset, if it is the credential's user's and not deleted."""

    async def read_standing(self, credential: Credential, now: datetime) -> Authorized[Standing]:
        """The credential's user, their usage on the UTC day of `now`, their balance."""

    async def page_jobs(self, credential: Credential, where: JobFilter, after: Cursor | None, limit: int,
                        now: datetime) -> Authorized[Page[Job]]:
        """The credential's user's jobs (`where.user_id` is ignored), newest first."""

    async def page_assets(self, credential: Credential, where: AssetFilter, after: Cursor | None, limit: int,
                          now: datetime) -> Authorized[Page[Asset]]:
        """The credential's user's live assets (`where.owner_id` is ignored), newest first."""


class Leased(msgspec.Struct, frozen=True):
    """A running job under the lease its worker holds, with its account (None once removed)
    and its credit hold (as read with it: a completion checks it is still open)."""

    job: Job
    account: ProviderAccount | None
    hold: CreditHold | None = None
    submission: ProviderSubmission | None = None  # the one the job names
    # A child job's parent's results (its inputs, in its outputs' lineage), () when the parent
    # is gone; None when not read (a job without a parent).
    parent_results: tuple[str, ...] | None = None


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    """A successful attempt as the domain worked it out (application/pipeline/finish.py),
    assuming the job's hold is still open and none of the new assets' bytes is already the
    owner's: the adapter writes it whole or not at all."""

    job: Job  # as domain.jobs.complete left it (its lease given up)
    expected_version: int
    lease_token: str  # the lease it was completed under
    assets: tuple[Asset, ...]  # the new generated assets
    edges: tuple[LineageEdge, ...]
    hold: CreditHold | None  # settled by domain.ledger.capture
    hold_txs: tuple[LedgerTransaction, ...]
    account_id: str | None
    generation_seconds: float
    submission_id: str | None
    raw_status: str | None
    day: date
    usage: UsageDelta
    stored_bytes: int
    audit: AuditEntry


class CompleteStatus(StrEnum):
    DONE = "done"
    LEASE_LOST = "lease_lost"  # the job moved on (another version, another lease): nothing written
    STALE = "stale"  # an assumption did not hold (hold settled, bytes already stored): nothing written


class PipelineSteps(Protocol):
    """The worker's hot steps, each one transaction of its own (in SQL on Postgres, one
    statement: one round trip). Every write names the job's expected version and lease
    token: a worker that lost its job changes nothing and is told so (False)."""

    async def claim(self, now: datetime, lease_token: str, lease_until: datetime, limit: int,
                    selection: SelectionPolicy) -> ClaimedJobs:
        """`JobRepository.claim_and_reserve` as a transaction of its own, committed."""

    async def read_leased(self, job_id: str, lease_token: str) -> Leased | None:
        """The job if it is processing under this lease token, with its account."""

    async def record_submission(self, job: Job, expected_version: int, submission: ProviderSubmission) -> bool:
        """Before the provider is called: the submission row and the job that names it."""

    async def attach(self, job: Job, expected_version: int, provider_job_id: str) -> bool:
        """The provider's answer: the job (already moved by `domain.jobs.attach`) and its
        submission's provider job id."""

    async def complete_job(self, completion: Completion) -> CompleteStatus:
        """Atomically: the job saved under its lease, the new assets and their lineage, the
        hold settled with its ledger transactions, the account's slot freed and its success
        recorded (domain.accounts.record_success), the submission closed, the user's run
        slot freed and stored bytes added, the day's usage, the audit entry and the job's
        outbound webhook deliveries."""

    async def renew_leases(self, held: Sequence[HeldJob], lease_until: datetime,
                           renew_before: datetime) -> dict[str, HeldState]:
        """Polls held by a worker lease: the leases of every job a worker keeps between
        polls renewed at once where they end before `renew_before`
        (`JobRepository.renew_lease` for each, no version bump). Answers each job still
        held with its stored next_poll_at and lease end, by id; a job missing from the
        answer was cancelled, taken or changed, and its holder lets it go."""

    async def release_leases(self, held: Sequence[HeldJob], now: datetime) -> int:
        """The worker stops: every job still held given back at once (`domain.jobs.
        release_held`, version bumped). How many were."""


class UnitOfWorkFactory(AtomicSteps, PipelineSteps, Protocol):
    def __call__(self) -> UnitOfWork: ...


# ---------------------------------------------------------------- the rest of the world


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """Unique, and sortable by creation time."""


class RandomSource(Protocol):
    def random(self) -> float:
        """Uniform in [0, 1)."""
    def token(self, nbytes: int = 32) -> str:
        """A URL-safe secret of `nbytes` random bytes."""


class PasswordHasher(Protocol):
    """Slow on purpose (and memory-hungry): implementations bound how many run at once and
    keep the event loop free while they do."""

    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool: ...


class TokenIssuer(Protocol):
    def issue(self, user_id: str, session_id: str, role: Role, now: datetime) -> tuple[str, int]:
        """An access token and its lifetime in seconds."""
    def verify(self, token: str, now: datetime) -> Result[AccessClaims, DomainError]: ...


class RateDecision(msgspec.Struct, frozen=True):
    allowed: bool
    retry_after: int = 0


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        """Count one hit on `key`; allowed while at most `limit` hits fall in the window."""
    async def undo(self, key: str) -> None:
        """Take back the newest hit counted on `key` (none counted: nothing happens)."""


class CachedSession(msgspec.Struct, frozen=True, kw_only=True):
    """What Authenticate needs about a live session of an active user."""

    user_id: str
    role: Role
    expires_at: datetime


class SessionCache(Protocol):
    """A short-lived copy of what Authenticate reads from the database, which stays the truth.

    Every method swallows the cache's own failures (logged): a broken cache behaves as a
    miss or does nothing. It never raises and never lets anyone in."""

    async def get(self, session_id: str) -> CachedSession | None: ...
    async def put(self, session_id: str, value: CachedSession, ttl_seconds: int) -> None:
        """Ignored while the session or its user is freshly forgotten, so a put built from a
        read made before a revocation cannot bring the revoked session back."""
    async def forget(self, session_ids: Sequence[str]) -> None: ...
    async def forget_user(self, user_id: str) -> None:
        """Drop every cached session of the user."""


class EventBus(Protocol):
    async def publish(self, event: DomainEvent) -> None: ...
    def subscribe(self, job_id: str) -> AbstractAsyncContextManager[AsyncIterator[DomainEvent]]: ...


class StoredBlob(msgspec.Struct, frozen=True):
    key: str
    sha256: str
    size: int


class BlobTooLarge(Exception):
    """The stream passed `max_bytes`; nothing was kept."""


class BlobStore(Protocol):
    async def put(self, chunks: AsyncIterable[bytes], max_bytes: int) -> StoredBlob:
        """Stream to a content-addressed key (sha256 of the bytes), hashing on the way;
        never holds the whole blob in memory. Raises BlobTooLarge past `max_bytes`."""
    def open(self, key: str) -> AsyncIterator[bytes]:
        """The bytes in chunks; KeyError on the first read when the key is missing."""
    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def presigned_url(self, key: str, expires_seconds: int, mime_type: str,
                            filename: str | None = None) -> str | None:
        """A short-lived URL for the bytes, or None when the store cannot make one."""


class OutputUnavailable(Exception):
    """A provider output could not be fetched (expired URL, refused address, too large)."""


class UploadedInput(msgspec.Struct, frozen=True):
    provider_asset_id: str
    expires_at: datetime | None = None


class ProviderClient(Protocol):
    """One provider: what it offers, and the calls the pipeline makes to it."""

    @property
    def info(self) -> ProviderInfo: ...
    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        """The provider's job id."""
    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        """The provider job submitted with our `reference`, where the provider can tell."""
    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]: ...
    async def cancel(self, secret: str, provider_job_id: str) -> None:
        """Best effort; never raises for a job that is already over."""
    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]: ...
    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        """The output's bytes; raises OutputUnavailable when they cannot be had."""


@runtime_checkable
class WebhookVerifier(Protocol):
    """Implemented by provider clients whose provider sends signed callbacks."""

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime
                       ) -> Result[WebhookEvent, DomainError]:
        """The event, or UNAUTHENTICATED for a missing/invalid signature or a timestamp
        outside the provider's tolerance (5 minutes unless it documents less)."""


class ProviderRegistry(Protocol):
    def get(self, provider_id: str) -> ProviderClient | None: ...
    def all(self) -> list[ProviderInfo]: ...



class CircuitStates(Protocol):
    """Which providers' circuit breakers refuse calls right now, as this process sees them
    (each process keeps its own breakers: adapters/providers/guarded.py)."""

    def is_open(self, provider_id: str) -> bool: ...


class WebhookSender(Protocol):
    """POSTs one signed delivery; refuses targets it may not reach (never raises for them)."""

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult: ...


class WorkSignal(Protocol):
    """Wakes idle workers when work arrives; polling covers any signal that is lost."""

    async def notify(self) -> None: ...
    async def wait(self, seconds: float) -> bool:
        """True when woken, False on timeout."""


__all__ = ["InputRef"]
