"""The `sapa` command as an operator uses it."""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from argon2 import PasswordHasher

from chat_server import cli


def sapa(db: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args, "--db", str(db)],
        input=stdin,
        capture_output=True,
        text=True,
    )


def test_site_agent_faq_and_crm_imports(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    site = json.loads(
        sapa(db, "site", "create", "Toko Uji", "--domain", "uji.test", "--json").stdout
    )
    assert set(site) == {"site_id", "site_key", "identity_secret", "api_token"}
    agent = sapa(
        db,
        "agent",
        "create",
        "--site",
        site["site_id"],
        "--email",
        "a@uji.test",
        "--name",
        "A",
        "--role",
        "owner",
        "--password-stdin",
        "--json",
        stdin="sandi-yang-panjang\n",
    )
    assert "agent_id" in json.loads(agent.stdout)
    short = sapa(
        db,
        "agent",
        "create",
        "--site",
        site["site_id"],
        "--email",
        "b@uji.test",
        "--name",
        "B",
        "--password-stdin",
        stdin="pendek\n",
    )
    assert short.returncode == 2 and "at least 10" in short.stderr

    faq_csv = tmp_path / "faq.csv"
    faq_csv.write_text(
        "question,answer,category,tags,lang\nBisa COD?,Bisa.,Bayar,cod,id\n", encoding="utf-8"
    )
    assert sapa(db, "faq", "import", "--site", site["site_id"], str(faq_csv)).returncode == 0
    broken = tmp_path / "broken.csv"
    broken.write_text("question,answer\nTanpa jawaban,\n", encoding="utf-8")
    refused = sapa(db, "faq", "import", "--site", site["site_id"], str(broken))
    assert refused.returncode == 2 and "line 2" in refused.stderr
    exported = json.loads(sapa(db, "faq", "export", "--site", site["site_id"]).stdout)
    assert [e["question"] for e in exported] == ["Bisa COD?"]

    customers = tmp_path / "customers.csv"
    customers.write_text(
        "external_id,name,email,city\nc1,Ani,ani@uji.test,Medan\nc2,Budi,bukan-email,Solo\n",
        encoding="utf-8",
    )
    result = sapa(db, "import", "customers", str(customers), "--site", site["site_id"])
    assert (
        result.returncode == 1
        and "line 3" in result.stderr
        and "imported 1 customers" in result.stderr
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "external_id,order_id,total,currency,placed_at\nc1,o1,150000,IDR,2026-11-01T10:00:00Z\nc1,o2,abc,IDR,\nc1,o1,150000,IDR,\n",
        encoding="utf-8",
    )
    result = sapa(db, "import", "orders", str(orders), "--site", site["site_id"])
    # Lines 2 and 4 are one order (the same order_id): it is imported once.
    assert (
        "imported 1 orders, 0 unchanged, 1 skipped" in result.stderr and "line 3" in result.stderr
    )
    again = sapa(db, "import", "orders", str(orders), "--site", site["site_id"])
    assert "imported 0 orders, 1 unchanged, 1 skipped" in again.stderr
    bad_encoding = tmp_path / "latin.csv"
    bad_encoding.write_bytes("external_id,name\nc9,Jos\xe9\n".encode("latin-1"))
    fatal = sapa(db, "import", "customers", str(bad_encoding), "--site", site["site_id"])
    assert fatal.returncode == 2 and "line 2" in fatal.stderr

    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM customers ORDER BY name")]
        segment = conn.execute("SELECT segment FROM customer_stats").fetchall()
    finally:
        conn.close()
    assert names == ["Ani"] and len(segment) == 1


def test_agents_are_listed_deactivated_and_given_new_passwords(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    site = json.loads(sapa(db, "site", "create", "Toko", "--domain", "toko.test", "--json").stdout)
    site_id = site["site_id"]
    made = sapa(
        db,
        "agent",
        "create",
        "--site",
        site_id,
        "--email",
        "rina@toko.test",
        "--name",
        "Rina",
        "--password-stdin",
        stdin="sandi-yang-panjang\n",
    )
    assert made.returncode == 0, made.stderr
    gone = sapa(db, "agent", "deactivate", "Rina@Toko.test")
    assert gone.returncode == 0 and "deactivated rina@toko.test" in gone.stdout
    rows = json.loads(sapa(db, "agent", "list", "--site", site_id, "--json").stdout)
    assert [(r["email"], r["role"], r["active"], r["last_seen_at"]) for r in rows] == [
        ("rina@toko.test", "agent", False, None)
    ]
    text = sapa(db, "agent", "list", "--site", site_id).stdout
    assert "rina@toko.test\tagent\tdeactivated\tlast seen never" in text

    short = sapa(
        db, "agent", "set-password", "rina@toko.test", "--password-stdin", stdin="pendek\n"
    )
    assert short.returncode == 2 and "at least 10" in short.stderr
    done = sapa(
        db, "agent", "set-password", "rina@toko.test", "--password-stdin", stdin="sandi-baru-rina\n"
    )
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(db)
    try:
        stored = conn.execute("SELECT password_hash FROM agents").fetchone()[0]
    finally:
        conn.close()
    assert PasswordHasher().verify(stored, "sandi-baru-rina")

    unknown = sapa(db, "agent", "activate", "nobody@toko.test")
    assert unknown.returncode == 2 and "agent not found" in unknown.stderr
    no_site = sapa(db, "agent", "list", "--site", "site_nope")
    assert no_site.returncode == 2 and "site not found" in no_site.stderr


def test_import_help_shows_the_formats_and_the_sample_files_import_cleanly(
    tmp_path: Path,
) -> None:
    from chat_server.services import crm_import

    db = tmp_path / "samples.db"
    site = json.loads(sapa(db, "site", "create", "Toko", "--domain", "t.test", "--json").stdout)
    data = Path(crm_import.__file__).parent.parent / "data"
    for kind, count in (("customers", 8), ("orders", 16)):
        shown = sapa(db, "import", kind, "--help").stdout
        assert "external_id" in shown and f"sample_{kind}.csv" in shown
        result = sapa(
            db, "import", kind, str(data / f"sample_{kind}.csv"), "--site", site["site_id"]
        )
        assert result.returncode == 0, result.stderr
        assert f"imported {count} {kind}, 0 unchanged, 0 skipped" in result.stderr
    # Both examples of the orders help, copied as they are shown, import too.
    shown = sapa(db, "import", "orders", "--help").stdout
    blocks = [b for b in shown.split("Example")[1:]]
    assert len(blocks) == 2
    for n, block in enumerate(blocks):
        lines = [line.strip() for line in block.splitlines()[1:] if line.startswith("  ")]
        example = tmp_path / f"example{n}.csv"
        example.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = sapa(db, "import", "orders", str(example), "--site", site["site_id"])
        assert result.returncode == 0 and "0 skipped" in result.stderr, result.stderr

    conn = sqlite3.connect(db)
    try:
        items = conn.execute(
            "SELECT total, items FROM orders WHERE order_id = 'INV-24001'"
        ).fetchall()
        methods = {r[0] for r in conn.execute("SELECT rfm_method FROM customer_stats")}
    finally:
        conn.close()
    # Two item lines, one order; its total is the sum of quantity × price.
    assert [(total, [i["sku"] for i in json.loads(raw)]) for total, raw in items] == [
        (290000.0, ["KAOS-HTM-L", ""])
    ]
    assert methods == {"fixed"}


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield path
        return
    for name, child in subcommands[0].choices.items():
        yield from ((*path, *leaf) for leaf in _leaves(child, (name,)))


def test_every_subcommand_takes_a_database_url() -> None:
    """Each command touches the database, so each one names it the same backend-neutral way."""
    parser = cli._parser()
    leaves = list(_leaves(parser))
    assert len(leaves) >= 12
    for leaf in leaves:
        if leaf[0] == "db":
            continue  # `sapa db ...` moves data between two databases, named by its own options
        command = parser
        for name in leaf:
            sub = next(a for a in command._actions if isinstance(a, argparse._SubParsersAction))
            command = sub.choices[name]
        db = next((a for a in command._actions if "--db" in a.option_strings), None)
        assert db is not None, leaf
        assert (
            db.help == "database: SQLite file or postgresql:// URL (default: $SAPA_DB or sapa.db)"
        )
