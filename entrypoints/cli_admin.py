"""Operator commands that work on the configured database directly (no server needed)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import punq
from returns.result import Failure, Result

from application.accounts.admin import CreateAccount, ListAccounts
from application.auth.register import RegisterUser
from application.bootstrap_admin import EnsureAdmin
from application.users.admin import GrantCredits, UpdateUser
from application.users.lookup import FindUserByEmail
from domain.errors import DomainError
from domain.quotas import QuotaPatch
from entrypoints.bootstrap import build_container
from entrypoints.runtime import open_runtime

T = TypeVar("T")


@dataclass(frozen=True)
class Operator:
    """The person at the terminal: an admin, recorded in the audit log as `cli`."""

    user_id: str = "cli"
    is_admin: bool = True


OPERATOR = Operator()


@asynccontextmanager
async def container() -> AsyncIterator[punq.Container]:
    from entrypoints.cli import settings_or_exit

    settings = settings_or_exit()
    async with open_runtime(settings, run_migrations=settings.embedded) as runtime:
        yield build_container(runtime.ports, runtime.policies)


def unwrap(result: Result[T, DomainError]) -> T:
    if isinstance(result, Failure):
        error = result.failure()
        print(f"pixrelay: {error.code}: {error.detail}", file=sys.stderr)
        raise SystemExit(1)
    return result.unwrap()


def add_admin_commands(commands: Any) -> None:
    admin = commands.add_parser("admin", help="Manage users: create, grant credits, set quotas.",
                                description="Manage users: create, grant credits, set quotas.")
    admin_cmds = admin.add_subparsers(title="admin commands", metavar="COMMAND")
    create = _sub(admin_cmds, "create-user", "Create a user (or, with --admin, an administrator).", _create_user)
    create.add_argument("--email", required=True)
    create.add_argument("--username", help="defaults to the part of the email before @")
    create.add_argument("--password", required=True)
    create.add_argument("--admin", action="store_true", help="create an administrator")
    grant = _sub(admin_cmds, "grant-credits", "Grant credits to a user.", _grant_credits)
    grant.add_argument("--email", required=True)
    grant.add_argument("--amount", type=int, required=True)
    grant.add_argument("--memo")
    quota = _sub(admin_cmds, "set-quota", "Change a user's quota; pass -1 for unlimited.", _set_quota)
    quota.add_argument("--email", required=True)
    for name in ("max-jobs-per-day", "max-concurrent-jobs", "max-storage-bytes", "max-private-accounts"):
        quota.add_argument(f"--{name}", type=int)

    accounts = commands.add_parser("accounts", help="Manage the shared provider account pool.",
                                   description="Manage the shared provider account pool.")
    account_cmds = accounts.add_subparsers(title="accounts commands", metavar="COMMAND")
    add = _sub(account_cmds, "add", "Add a shared provider account (API key) to the pool.", _add_account)
    add.add_argument("--provider", required=True, help="provider id, e.g. sim or replicate")
    add.add_argument("--label", required=True)
    secret = add.add_mutually_exclusive_group(required=True)
    secret.add_argument("--secret", help="the provider API key or token (stored, never shown)")
    secret.add_argument("--secret-field", action="append", metavar="NAME=VALUE",
                        help="one field of a key-pair secret, e.g. kling: --secret-field access_key=... "
                             "--secret-field secret_key=... (stored, never shown)")
    add.add_argument("--credits", type=int, default=0)
    add.add_argument("--max-concurrent-jobs", type=int, default=1)
    add.add_argument("--priority", type=int, default=0)
    listing = _sub(account_cmds, "list", "List provider accounts and their health.", _list_accounts)
    listing.add_argument("--provider")


def _sub(parent: Any, name: str, help_text: str, work: Callable[[argparse.Namespace], Any]) -> argparse.ArgumentParser:
    from entrypoints.cli import run_async

    parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=lambda args: run_async(work(args)) or 0)
    return parser


async def _create_user(args: argparse.Namespace) -> None:
    async with container() as c:
        if args.admin:
            user, created = unwrap(await c.resolve(EnsureAdmin)(args.email, args.password))
            print(f"admin {user.email} {'created' if created else 'already exists'} (id {user.id})")
            return
        username = args.username or args.email.split("@")[0]
        user = unwrap(await c.resolve(RegisterUser)(args.email, username, args.password))
        print(f"user {user.email} created (id {user.id})")


async def _grant_credits(args: argparse.Namespace) -> None:
    async with container() as c:
        user = unwrap(await c.resolve(FindUserByEmail)(OPERATOR, args.email))
        balance = unwrap(await c.resolve(GrantCredits)(OPERATOR, user.id, args.amount, args.memo))
        print(f"{user.email}: {balance.available} credits available")


async def _set_quota(args: argparse.Namespace) -> None:
    changes: dict[str, int | None] = {}
    for name in ("max_jobs_per_day", "max_concurrent_jobs", "max_storage_bytes", "max_private_accounts"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = None if value < 0 else value
    async with container() as c:
        user = unwrap(await c.resolve(FindUserByEmail)(OPERATOR, args.email))
        profile = unwrap(await c.resolve(UpdateUser)(OPERATOR, user.id, quota=QuotaPatch(**changes)))
        print(f"{profile.email}: {profile.quota}")


async def _add_account(args: argparse.Namespace) -> None:
    async with container() as c:
        view = unwrap(await c.resolve(CreateAccount)(
            OPERATOR, provider_id=args.provider, label=args.label, secret=_secret_of(args), credits=args.credits,
            max_concurrent_jobs=args.max_concurrent_jobs, priority=args.priority))
        print(f"account {view.label} added to {view.provider_id} (id {view.id})")


def _secret_of(args: argparse.Namespace) -> str | dict[str, str]:
    if args.secret is not None:
        return str(args.secret)
    return dict(field.partition("=")[::2] for field in args.secret_field)


async def _list_accounts(args: argparse.Namespace) -> None:
    async with container() as c:
        views = unwrap(await c.resolve(ListAccounts)(OPERATOR, args.provider))
    print(f"{'id':34} {'provider':10} {'label':20} {'status':13} {'credits':>10} {'jobs':>7}  cooldown_until")
    for v in views:
        print(f"{v.id:34} {v.provider_id:10} {v.label[:20]:20} {v.status!s:13} {v.credits:>10} "
              f"{v.current_jobs:>3}/{v.max_concurrent_jobs:<3}  {v.cooldown_until or '-'}")
