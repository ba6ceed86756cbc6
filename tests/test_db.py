"""The warehouse file: migrations once, views, the SQL command, where the file is found."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from miner.core.config import resolve_warehouse
from miner.core.db import Warehouse, migrations_dir


def test_migrations_apply_once_and_record_their_versions(wh_path):
    with Warehouse.open(wh_path, migrate=False) as wh:
        applied = wh.migrate()
        assert applied == [p.stem for p in sorted(migrations_dir().glob("*.sql"))]
        assert wh.migrate() == []  # second time: nothing to do
        versions = wh.schema_versions()
    with Warehouse.open(wh_path) as wh:
        assert wh.schema_versions() == versions


def test_the_file_opens_in_plain_duckdb_with_views(wh_path):
    Warehouse.open(wh_path).close()
    con = duckdb.connect(str(wh_path), read_only=True)
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert "v_funnel" in views
    assert con.execute("SELECT count(*) FROM v_funnel").fetchone()[0] == 0
    con.close()


def test_the_duckdb_shell_reads_the_warehouse_and_every_view(wh, wh_path):
    """The `duckdb` command (PyPI duckdb-cli, a release behind the Python package) opens it."""
    from pathlib import Path

    from tests.helpers import add_documents, doc

    add_documents(wh, doc("reddit:t3_a", "A title", "A body"))
    views = wh.view_names()
    wh.close()
    shell = Path(sys.executable).parent / "duckdb"
    sql = "; ".join(f"SELECT count(*) FROM {v}" for v in views) + "; SELECT count(*) AS docs FROM documents"
    out = subprocess.run([str(shell), "-readonly", "-csv", str(wh_path), "-c", sql], capture_output=True, text=True)
    assert out.returncode == 0 and "Error" not in out.stderr, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "1"


def test_a_failed_write_leaves_nothing_behind(wh):
    with pytest.raises(RuntimeError):
        with wh.transaction():
            wh.execute("INSERT INTO harvest_runs (run_id, plan_id, started_at, status, endpoint) "
                       "VALUES ('r1', 'p', now(), 'running', 'replay')")
            raise RuntimeError("crash")
    assert wh.scalar("SELECT count(*) FROM harvest_runs") == 0


def miner(*args, env=None):
    return subprocess.run([sys.executable, "-m", "miner", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_sql_command_prints_tables_csv_and_duckdb_errors(wh_path):
    Warehouse.open(wh_path).close()
    ok = miner("sql", "SELECT 1 AS one, 'x' AS two", "--format", "csv", "--warehouse", str(wh_path))
    assert ok.returncode == 0 and ok.stdout.splitlines() == ["one,two", "1,x"]
    bad = miner("sql", "SELECT * FROM no_such_table", "--warehouse", str(wh_path))
    assert bad.returncode == 2
    assert "no_such_table" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) <= 3


def test_sql_refuses_to_write(wh_path):
    Warehouse.open(wh_path).close()
    res = miner("sql", "DELETE FROM documents", "--warehouse", str(wh_path))
    assert res.returncode == 2 and "read-only" in res.stderr.lower()


def test_warehouse_location_flag_then_env_then_default(tmp_path, monkeypatch):
    monkeypatch.delenv("MINER_WAREHOUSE", raising=False)
    assert str(resolve_warehouse(None)) == "data/warehouse.duckdb"
    monkeypatch.setenv("MINER_WAREHOUSE", str(tmp_path / "env.duckdb"))
    assert resolve_warehouse(None) == tmp_path / "env.duckdb"
    assert resolve_warehouse(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"
    # and the CLI honours the environment variable
    Warehouse.open(tmp_path / "env.duckdb").close()
    res = miner("sql", "SELECT count(*) AS n FROM v_funnel", "--format", "csv",
                env={"MINER_WAREHOUSE": str(tmp_path / "env.duckdb")})
    assert res.returncode == 0 and res.stdout.splitlines() == ["n", "0"]


def test_sql_on_a_missing_warehouse_says_so(tmp_path):
    res = miner("sql", "SELECT 1", "--warehouse", str(tmp_path / "nope.duckdb"))
    assert res.returncode == 2 and "no warehouse here" in res.stderr


def test_an_older_warehouse_opened_read_only_is_brought_up_to_date_first(wh_path):
    """An analyst's `miner sql` / `miner report` on a warehouse written by an older version
    sees today's views (not "no data yet")."""
    with Warehouse.open(wh_path) as wh:
        wh.execute("DROP VIEW v_query_yield")
        wh.execute("UPDATE meta SET value = 'older' WHERE key = 'views_sha256'")
        assert not wh.is_current()
    with Warehouse.open(wh_path, read_only=True) as wh:
        assert wh.read_only and wh.is_current() and wh.relation_exists("v_query_yield")
