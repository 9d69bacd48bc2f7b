"""The `sapa` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from chat_server.config import Settings
from chat_server.domain.access import Viewer
from chat_server.errors import ErrorCode, SapaError
from chat_server.services import (
    admin,
    audit,
    console_auth,
    crm_import,
    db_copy,
    demo,
    faq_cli,
    file_copy,
    public_rooms,
    sites,
    storage,
)
from chat_server.services.team import Team

# Who the audit log names for changes made from a shell (as `sapa agent invite` does).
CLI_ACTOR = audit.Actor(None, "sapa CLI")
DB_HELP = "database: SQLite file or postgresql:// URL (default: $SAPA_DB or sapa.db)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sapa", description="Sapa live chat server")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", default=None, help=DB_HELP)
        return p

    serve = with_db(commands.add_parser("serve", help="run the server"))
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.add_argument("--redis", default=None, help="Redis URL, to scale out across processes")
    serve.add_argument("--demo", action="store_true", help="create and serve a demo shop")

    site = commands.add_parser("site", help="manage sites").add_subparsers(
        dest="action", required=True
    )
    create_site = with_db(site.add_parser("create", help="create a site"))
    create_site.add_argument("name")
    create_site.add_argument("--domain", action="append", required=True)
    create_site.add_argument("--locale", choices=["id", "en"], default="id")
    create_site.add_argument("--json", action="store_true")

    list_sites = with_db(site.add_parser("list", help="list sites: id, name, key, domains"))
    list_sites.add_argument("--json", action="store_true")

    agent = commands.add_parser("agent", help="manage agents").add_subparsers(
        dest="action", required=True
    )
    create_agent = with_db(agent.add_parser("create", help="create an agent or owner"))
    create_agent.add_argument("--site", required=True)
    create_agent.add_argument("--email", required=True)
    create_agent.add_argument("--name", required=True)
    create_agent.add_argument("--role", choices=["agent", "owner"], default="agent")
    create_agent.add_argument("--password-stdin", action="store_true", required=True)
    create_agent.add_argument("--json", action="store_true")
    deactivate = with_db(
        agent.add_parser("deactivate", help="lock an agent out: sessions end, sockets close")
    )
    deactivate.add_argument("email")
    activate = with_db(agent.add_parser("activate", help="let a deactivated agent log in again"))
    activate.add_argument("email")
    set_password = with_db(
        agent.add_parser("set-password", help="set a new password; the agent's sessions end")
    )
    set_password.add_argument("email")
    set_password.add_argument("--password-stdin", action="store_true", required=True)
    invite = with_db(agent.add_parser("invite", help="make an invitation link (valid 7 days)"))
    invite.add_argument("--site", required=True)
    invite.add_argument("--email", required=True)
    invite.add_argument("--role", choices=["agent", "owner"], default="agent")
    invite.add_argument("--base-url", default=None, help="the console's address (SAPA_PUBLIC_URL)")
    list_agents = with_db(agent.add_parser("list", help="a site's agents"))
    list_agents.add_argument("--site", required=True)
    list_agents.add_argument("--json", action="store_true")
    imports = commands.add_parser(
        "import", help="import customers or orders from CSV"
    ).add_subparsers(dest="kind", required=True)
    for kind, epilog in (
        ("customers", crm_import.CUSTOMERS_FORMAT),
        ("orders", crm_import.ORDERS_FORMAT),
    ):
        one = with_db(
            imports.add_parser(
                kind,
                help=f"import {kind} from a CSV file",
                description=f"Import {kind} from a CSV file into a site.",
                epilog=epilog,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
        one.add_argument("file")
        one.add_argument("--site", required=True)

    faq = commands.add_parser("faq", help="import or export a site's FAQ").add_subparsers(
        dest="action", required=True
    )
    faq_import = with_db(faq.add_parser("import", help="import entries (JSON array or CSV)"))
    faq_import.add_argument("--site", required=True)
    faq_import.add_argument("file")
    faq_import.add_argument("--format", choices=["csv", "json"], default=None)
    faq_export = with_db(faq.add_parser("export", help="export entries"))
    faq_export.add_argument("--site", required=True)
    faq_export.add_argument("--format", choices=["csv", "json"], default="json")
    faq_export.add_argument("file", nargs="?", default="-")
    room = commands.add_parser("room", help="manage public rooms").add_subparsers(
        dest="action", required=True
    )
    create_room = with_db(room.add_parser("create", help="create a public room"))
    create_room.add_argument("--site", required=True)
    create_room.add_argument("name")
    create_room.add_argument("--json", action="store_true")
    database = commands.add_parser("db", help="move an installation").add_subparsers(
        dest="action", required=True
    )
    copy = database.add_parser(
        "copy", help="copy everything into a new, empty database, then verify it"
    )
    copy.add_argument("--from", dest="source", required=True, help="SQLite file or database URL")
    copy.add_argument("--to", dest="target", required=True, help="SQLite file or database URL")
    copy.add_argument("--files-from", help="then copy the files too: from this directory or s3://")
    copy.add_argument("--files-to", help="... to this directory or s3:// URL")
    files = commands.add_parser("files", help="move an installation's files").add_subparsers(
        dest="action", required=True
    )
    files_copy = with_db(
        files.add_parser(
            "copy", help="copy every file the database names to other storage, checking each"
        )
    )
    files_copy.add_argument(
        "--from", dest="source", required=True, help="files directory or s3://bucket/prefix?..."
    )
    files_copy.add_argument(
        "--to", dest="target", required=True, help="files directory or s3://bucket/prefix?..."
    )
    return parser


async def _with_db(url: str, work: Callable[[storage.Store], Awaitable[Any]]) -> Any:
    db = await storage.open_store(url)
    try:
        return await work(db)
    finally:
        await db.close()


def _site_create(args: argparse.Namespace, settings: Settings) -> int:
    creds = asyncio.run(
        _with_db(
            settings.db_path,
            lambda db: admin.create_site(db, args.name, args.domain, locale=args.locale),
        )
    )
    out = {
        "site_id": creds.site_id,
        "site_key": creds.site_key,
        "identity_secret": creds.identity_secret,
        "api_token": creds.api_token,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
    return 0


def _site_list(args: argparse.Namespace, settings: Settings) -> int:
    every = asyncio.run(_with_db(settings.db_path, sites.list_all))
    rows = [
        {"site_id": s.id, "name": s.name, "site_key": s.site_key, "domains": list(s.domains)}
        for s in every
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            domains = ", ".join(row["domains"])
            print(f"{row['site_id']}  {row['site_key']}  {row['name']}  ({domains})")
    return 0


def _agent_create(args: argparse.Namespace, settings: Settings) -> int:
    password = sys.stdin.readline().rstrip("\n")
    agent_id = asyncio.run(
        _with_db(
            settings.db_path,
            lambda db: admin.create_agent(
                db, args.site, args.email, args.name, args.role, password
            ),
        )
    )
    print(json.dumps({"agent_id": agent_id}) if args.json else f"agent_id: {agent_id}")
    return 0


def _agent(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "create":
        return _agent_create(args, settings)
    if args.action == "list":
        return _agent_list(args, settings)
    if args.action == "invite":
        return _agent_invite(args, settings)
    password = sys.stdin.readline().rstrip("\n") if args.action == "set-password" else ""

    async def work(db: storage.Store) -> str:
        # No bus here: every server process picks the change up from the database.
        auth = console_auth.ConsoleAuth(db)
        agent = await console_auth.find_agent(db, args.email)
        if args.action == "deactivate":
            ended = await auth.deactivate(agent, by=CLI_ACTOR)
            return f"deactivated {agent.email}; {ended} session(s) ended"
        if args.action == "activate":
            await auth.activate(agent, by=CLI_ACTOR)
            return f"activated {agent.email}"
        ended = await auth.set_password(
            agent,
            password,
            also=lambda conn: audit.record(
                conn, agent.site_id, CLI_ACTOR, "password_changed", agent.id
            ),
        )
        return f"password set for {agent.email}; {ended} session(s) ended"

    print(asyncio.run(_with_db(settings.db_path, work)))
    return 0


def _agent_invite(args: argparse.Namespace, settings: Settings) -> int:
    base_url = args.base_url or settings.public_url
    if not base_url:
        raise SapaError(ErrorCode.BAD_REQUEST, "give --base-url or set SAPA_PUBLIC_URL")

    async def work(db: storage.Store) -> str:
        site = await sites.site_of(db, args.site)
        operator = Viewer(site.id, "agent", "", "sapa CLI", "owner")
        issued = await Team(db, console_auth.ConsoleAuth(db)).invite(
            operator, args.email, args.role
        )
        return f"expires {issued.link.expires_at}\n{issued.url(base_url)}"

    print(asyncio.run(_with_db(settings.db_path, work)))
    return 0


def _agent_list(args: argparse.Namespace, settings: Settings) -> int:
    members = asyncio.run(_with_db(settings.db_path, lambda db: console_auth.team(db, args.site)))
    rows = [
        {
            "id": m.agent.id,
            "email": m.agent.email,
            "name": m.agent.name,
            "role": m.agent.role,
            "active": m.agent.active,
            "last_seen_at": m.last_seen_at,
        }
        for m in members
    ]
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        state = "active" if row["active"] else "deactivated"
        seen = row["last_seen_at"] or "never"
        print(f"{row['email']}\t{row['role']}\t{state}\tlast seen {seen}\t{row['name']}")
    return 0


def _room_create(args: argparse.Namespace, settings: Settings) -> int:
    room = asyncio.run(
        _with_db(settings.db_path, lambda db: public_rooms.create_room(db, args.site, args.name))
    )
    out = {"room_id": room.id, "name": room.name, "position": room.position}
    print(json.dumps(out) if args.json else f"room_id: {room.id}")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    raw = Path(args.file).read_bytes()
    report = asyncio.run(
        _with_db(settings.db_path, lambda db: crm_import.run(db, args.site, args.kind, raw))
    )
    for line in report.errors:
        print(f"  skipped {line}", file=sys.stderr)
    print(
        f"imported {report.imported} {args.kind}, {report.unchanged} unchanged,"
        f" {len(report.errors)} skipped",
        file=sys.stderr,
    )
    return 1 if report.errors else 0


def _faq(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "import":
        fmt = args.format or ("csv" if args.file.lower().endswith(".csv") else "json")
        raw = Path(args.file).read_bytes()
        count = asyncio.run(
            _with_db(settings.db_path, lambda db: faq_cli.import_file(db, args.site, raw, fmt))
        )
        print(f"imported {count} entries", file=sys.stderr)
        return 0
    text = asyncio.run(
        _with_db(settings.db_path, lambda db: faq_cli.export_text(db, args.site, args.format))
    )
    if args.file == "-":
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
    return 0


def _files_copy(db_url: str, source: str, target: str) -> int:
    if not source.startswith("s3://") and not Path(source.removeprefix("file://")).is_dir():
        print(f"sapa: no files directory at {source}", file=sys.stderr)
        return 2

    def progress(seen: int, copied: int) -> None:
        print(f"copying files: {seen} looked at, {copied} copied", file=sys.stderr)

    report = asyncio.run(
        _with_db(db_url, lambda db: file_copy.copy_installation_files(db, source, target, progress))
    )
    for key in report.missing:
        print(f"  MISSING in {source}: {key}", file=sys.stderr)
    for key in report.corrupt:
        print(f"  CORRUPT in {source} (bytes do not match the key): {key}", file=sys.stderr)
    print(
        f"files: {report.copied} copied, {report.present} already there,"
        f" {len(report.missing)} missing, {len(report.corrupt)} corrupt",
        file=sys.stderr,
    )
    return 0 if report.ok else 1


def _db_copy(args: argparse.Namespace) -> int:
    if (args.files_from is None) != (args.files_to is None):
        print("sapa: give both --files-from and --files-to, or neither", file=sys.stderr)
        return 2

    def progress(phase: str, table: str, done: int, total: int) -> None:
        if phase == "verify":
            print(f"verifying {table}: {total} rows", file=sys.stderr)
        elif (done or not total) and (done == total or done % 50_000 == 0):
            print(f"copying {table}: {done}/{total}", file=sys.stderr)

    report = asyncio.run(db_copy.copy_installation(args.source, args.target, progress))
    bad = {m.source.table: m.target for m in report.mismatches}
    for t in report.tables:
        state = "ok" if t.table not in bad else f"MISMATCH: target has {bad[t.table].rows} rows"
        print(f"  {t.table}: {t.rows} rows, sha256 {t.sha256[:16]}  {state}", file=sys.stderr)
    if not report.ok:
        print(f"sapa: {len(bad)} table(s) differ after the copy", file=sys.stderr)
        return 1
    rows = sum(t.rows for t in report.tables)
    print(f"copied and verified {len(report.tables)} tables, {rows} rows", file=sys.stderr)
    if args.files_from is not None:
        return _files_copy(args.target, args.files_from, args.files_to)
    beside = Settings(db_path=args.source).files_root
    if not args.source.startswith(("postgresql://", "postgres://")) and os.path.isdir(beside):
        print(
            f"sapa: the files in {beside} were not copied: run `sapa files copy` too"
            " (or give --files-from and --files-to)",
            file=sys.stderr,
        )
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from chat_server.web.serving import uvicorn_options

    if settings.demo:
        accounts = asyncio.run(
            _with_db(settings.db_path, lambda db: demo.ensure_demo(db, settings.host))
        )
        base = f"http://{settings.host}:{settings.port}"
        print(
            f"\n  Sapa demo is ready.\n"
            f"  Shop page with the widget: {base}/demo\n"
            f"  Agent console:             {base}/console\n"
            f"  Owner login: {accounts.owner_email} / {accounts.password}\n"
            f"  Agent login: {accounts.agent_email} / {accounts.password}\n"
            f"  Site id:     {accounts.site_id}  (sapa site list shows its key and domains)\n",
            flush=True,
        )
    # Worker processes read their settings from the environment.
    os.environ.update(
        {
            "SAPA_DB": settings.db_path,
            "SAPA_DEMO": "1" if settings.demo else "",
            "SAPA_REDIS_URL": settings.redis_url or "",
            # Links in emails name this server when SAPA_PUBLIC_URL is unset.
            "SAPA_HOST": settings.host,
            "SAPA_PORT": str(settings.port),
        }
    )
    uvicorn.run(
        "chat_server.web.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # A class named by path: each worker imports it and reads its limits from SAPA_*.
        http="chat_server.web.serving:GuardedHttpProtocol",
        log_level="warning",
        # Sapa logs each request itself (chat_server/web/access_log.py).
        access_log=False,
        **uvicorn_options(settings),
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, object] = {"db_path": getattr(args, "db", None)}
    if args.command == "serve":
        overrides.update(
            host=args.host,
            port=args.port,
            workers=args.workers,
            redis_url=args.redis,
            demo=args.demo or None,
        )
    settings = Settings.from_env(**overrides)
    try:
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "site":
            return (
                _site_list(args, settings)
                if args.action == "list"
                else _site_create(args, settings)
            )
        if args.command == "faq":
            return _faq(args, settings)
        if args.command == "import":
            return _import(args, settings)
        if args.command == "room":
            return _room_create(args, settings)
        if args.command == "db":
            return _db_copy(args)
        if args.command == "files":
            return _files_copy(settings.db_path, args.source, args.target)
        return _agent(args, settings)
    except SapaError as exc:
        print(f"sapa: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
