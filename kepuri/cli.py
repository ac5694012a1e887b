"""The `kepuri` command: serve, worker, migrate, seed-demo, create-admin, certificates, report,
export-schema, register-operations."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from infra import storage
from infra.errors import ServiceError
from infra.settings import Settings, SettingsError, load_settings
from kepuri.progress import advance_to, progress


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from kepuri.app import create_app

    if args.no_worker:
        settings = settings.with_overrides(run_worker_in_process=False)
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        proxy_headers=True,
        log_config=None,
        ws="websockets-sansio",
        # asyncio's own loop, not uvloop: with the process saturated by short requests, uvloop
        # let some connections wait about a second (bench.engagement, `me`: p99 970-1,108 ms
        # against 97-116 ms on asyncio, at equal or higher throughput).
        loop="asyncio",
    )
    return 0


async def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from kepuri.db import database
    from kepuri.queue import open_queue
    from kepuri.redis import ensure_redis
    from workers.main import build_worker

    embedded = ensure_redis(settings)
    try:
        async with database(settings):
            # a burst worker runs no cron jobs (the next run is always queued: it would never end)
            worker = build_worker(
                settings,
                await open_queue(settings),
                burst=args.burst,
                with_cron=not args.burst,
                handle_signals=True,
            )
            try:
                await worker.async_run()
            except asyncio.CancelledError:
                # arq answers SIGTERM/SIGINT by cancelling its main task (its own `run()` swallows
                # that too): a requested stop, not a crash
                pass
            finally:
                await worker.close()
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from kepuri.db import database, migrate
    from services.organizations import sync_reference_organizations
    from services.regions import sync_regions

    await migrate(settings.db_url)
    await asyncio.to_thread(storage.backend().prepare)  # the bucket, if it is missing
    async with database(settings):
        with progress("行政区划", 0, "条") as bar:
            regions = await sync_regions(lambda done, total: advance_to(bar, done, total))
        organizations = await sync_reference_organizations()
    print(f"migrated; reference data: {regions} regions and {organizations} organizations written")
    return 0


@contextlib.asynccontextmanager
async def _telling_api_processes(settings: Settings) -> AsyncIterator[None]:
    """For commands that change people's accounts: the API processes keep the sessions they
    have read and hear of such changes on Redis (services/sessions.py)."""
    from infra import bus
    from kepuri.redis import ensure_redis, redis_client

    embedded = ensure_redis(settings)
    redis = redis_client(settings)
    bus.configure(redis)
    try:
        yield
    finally:
        bus.configure(None)
        await redis.aclose()
        if embedded is not None:
            embedded.stop()


async def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from kepuri.db import database
    from kepuri.demo import DEMO_PASSWORD, seed_demo

    async with _telling_api_processes(settings), database(settings):
        with progress("演示数据", 0, "步") as bar:
            accounts = await seed_demo(lambda done, total: advance_to(bar, done, total))
    print(f"demo accounts (password {DEMO_PASSWORD}):")
    for account in accounts:
        print(f"  {account.phone}  {account.name}  {account.role}")
    return 0


def _refused(exc: ServiceError) -> int:
    for error in exc.errors:
        print(f"{error.field}: {error.message}", file=sys.stderr)
    return 2


async def _certificates(settings: Settings, args: argparse.Namespace) -> int:
    """Every certificate of a year's final commendations, rendered here (in a pool of processes)
    as the document job does: each one saved for its holder, and the ZIP written to a file."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from kepuri.db import database
    from models import Commendation
    from models.enums import CommendationStatus
    from services import certificates
    from services.campaigns import campaign_for

    async with database(settings):
        try:
            campaign = await campaign_for(args.year)
        except ServiceError as exc:
            return _refused(exc)
        final = Commendation.filter(campaign_id=campaign.id, status=CommendationStatus.FINAL)
        if not await final.exists():
            print(f"year: {args.year}年尚无确定的表扬名单", file=sys.stderr)
            return 2
        with (
            progress("荣誉证书", 0, "张") as bar,
            ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn")) as pool,
        ):

            async def rendered(done: int, total: int) -> None:
                advance_to(bar, done, total)

            result = await certificates.render_all(
                campaign.id, settings.public_base_url, pool, rendered
            )
    output = Path(args.output or f"荣誉证书-{args.year}.zip")
    await asyncio.to_thread(output.write_bytes, result.data)
    print(f"{result.count} certificates written to {output}")
    return 0


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    """A summary report (the nation's, or a province's or city's) written to a PDF file."""
    from infra import pdf, sql
    from kepuri.db import database
    from services import reports
    from services.documents import report_scope

    async with database(settings):
        with progress("总结报告", 3, "步") as bar:
            try:
                scope = await report_scope(
                    year=args.year,
                    organization_id=None,
                    region_code=args.region,
                    national=not args.region,
                )
            except ServiceError as exc:
                return _refused(exc)
            place = scope.region.code if scope.region else None
            with sql.reads_from(sql.REPLICA):  # aggregates of public work: the replica, if any
                figures = await reports.summary(reports.Scope(year=args.year, region_code=place))
            bar.update()
            html = pdf.render_html("summary_report.html", figures)
            bar.update()
            data = await asyncio.to_thread(pdf.render_pdf, html)
            bar.update()
    output = Path(args.output or f"总结报告-{scope.name}-{args.year}.pdf")
    await asyncio.to_thread(output.write_bytes, data)
    print(f"report written to {output}")
    return 0


async def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from kepuri.db import database
    from services.organizations import create_national_admin

    # a reset password ends the person's sessions, in the API processes too
    async with _telling_api_processes(settings), database(settings):
        try:
            user = await create_national_admin(args.phone, args.password, args.name)
        except ServiceError as exc:
            return _refused(exc)
    print(f"national admin {user.phone} ({user.name}) is ready")
    return 0


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema import sdl

    text = sdl()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def _register_operations(settings: Settings, args: argparse.Namespace) -> Any:
    from graphql import parse, validate

    from schema import build_schema
    from schema.persisted import split_operations

    schema = build_schema()._schema
    operations = []
    for path in args.files:
        for name, text in split_operations(Path(path).read_text(encoding="utf-8")):
            if errors := validate(schema, parse(text)):
                print(f"{path}: {name}: {errors[0].message}", file=sys.stderr)
                return 2
            operations.append((name, text))
    return _register(settings, operations, args.manifest)


async def _register(settings: Settings, operations: list[tuple[str, str]], output: str) -> int:
    import json

    from kepuri.db import database
    from schema.persisted import register

    async with database(settings):
        manifest = await register(operations)
    text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if output == "-":
        sys.stdout.write(text)
    else:
        await asyncio.to_thread(Path(output).write_text, text, encoding="utf-8")
    print(f"{len(manifest)} operations registered", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kepuri", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API (and, by default, a worker beside it)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-worker", action="store_true", help="run no worker in this process")
    worker = commands.add_parser("worker", help="run the background worker")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    commands.add_parser("migrate", help="apply migrations and load reference data")
    commands.add_parser("seed-demo", help="load demo accounts and units")
    admin = commands.add_parser("create-admin", help="create a national admin")
    admin.add_argument("--phone", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", required=True)
    bulk = commands.add_parser(
        "certificates", help="render every certificate of a year's final commendations to a ZIP"
    )
    bulk.add_argument("year", type=int)
    bulk.add_argument("--output", help="the ZIP to write (default: 荣誉证书-YEAR.zip)")
    report = commands.add_parser("report", help="write a summary report (PDF) of a year")
    report.add_argument("year", type=int)
    report.add_argument("--region", help="a province's or city's code (default: the nation)")
    report.add_argument("--output", help="the PDF to write (default: 总结报告-PLACE-YEAR.pdf)")
    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql")
    persist = commands.add_parser(
        "register-operations",
        help="register the operations of .graphql files, so that clients may send them by id",
    )
    persist.add_argument("files", nargs="+", help="e.g. ../shared/client-operations.graphql")
    persist.add_argument(
        "--manifest", default="-", help="where to write each operation's id (default: stdout)"
    )
    return parser


Handler = Callable[[Settings, argparse.Namespace], "int | Coroutine[Any, Any, int]"]
HANDLERS: dict[str, Handler] = {
    "serve": _serve,
    "worker": _worker,
    "migrate": _migrate,
    "seed-demo": _seed_demo,
    "create-admin": _create_admin,
    "certificates": _certificates,
    "report": _report,
    "export-schema": _export_schema,
    "register-operations": _register_operations,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"kepuri: {exc}", file=sys.stderr)
        return 2
    from kepuri.app import configure_process

    configure_process(settings)
    result = HANDLERS[args.command](settings, args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
