"""`pixrelay`: run the server, the worker, migrations, admin chores, and a client."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from entrypoints.settings import Settings, SettingsError, load_settings

EXIT_SETTINGS = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixrelay",
        description="pixrelay: a self-hosted gateway for generative media. Configuration comes "
                    "from PIXRELAY_* environment variables (or a .env file); see the README.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command("serve", "Run the API and a worker in one process (the embedded default: no configuration needed).",
            lambda a: _server(api=True, worker=True, migrate=True))
    command("api", "Run the HTTP API only (scale-out: run as many as you like; run `migrate` first).",
            lambda a: _server(api=True, worker=False, migrate=False))
    command("worker", "Run a worker only: claims due jobs and drives them through the providers.",
            lambda a: _server(api=False, worker=True, migrate=False))
    command("migrate", "Apply database migrations (create or upgrade the schema) and exit.", _migrate)

    from entrypoints.cli_admin import add_admin_commands
    from entrypoints.cli_client import add_client_commands

    add_admin_commands(commands)
    add_client_commands(commands)
    return parser


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        print(f"pixrelay: configuration error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_SETTINGS) from None


def run_async(work: Awaitable[Any]) -> Any:
    try:
        return asyncio.run(work)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        return None
    except SettingsError as error:  # found at start: the data dir or the database cannot be used
        print(f"pixrelay: cannot start: {error}", file=sys.stderr)
        raise SystemExit(EXIT_SETTINGS) from None


def _server(*, api: bool, worker: bool, migrate: bool) -> int:
    settings = settings_or_exit()
    from entrypoints.logs import configure
    from entrypoints.serve import run

    configure(settings.log_level, settings.log_json)
    run_async(run(settings, api=api, worker=worker, migrate=migrate or settings.embedded))
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    run_async(migrate_database(settings))
    print("migrations applied")
    return 0


async def migrate_database(settings: Settings) -> None:
    from adapters.sql.engine import create_engine
    from adapters.sql.migrate import migrate
    from entrypoints.private_files import private_database
    from entrypoints.startup import database_errors, reachable_database, usable_data_dir

    usable_data_dir(settings.data_dir)
    url = settings.effective_database_url
    async with database_errors(url):
        private_database(url)
    engine = create_engine(url)
    try:
        await reachable_database(engine, url)
    finally:
        await engine.dispose()
    async with database_errors(url):
        await migrate(url)
        private_database(url)


if __name__ == "__main__":
    sys.exit(main())
