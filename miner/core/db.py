"""The warehouse: the only module that talks to DuckDB.

Everything else hands this module rows (dataclasses or dicts) and SQL text, and gets rows
back; nobody else holds a connection. That keeps Prefect tasks picklable (they pass the
warehouse *path*), keeps the SQL surface in one place, and lets us change how we connect
(read-only opens, lock retries) without touching the pipeline.

Schema changes are ordered migrations in ``warehouse/migrations/NNN_name.sql``, applied
automatically on open and recorded in ``schema_version`` (applying twice is a no-op).
Views live in ``warehouse/views/*.sql`` and are re-created whenever their text changes,
because views are the public SQL surface and grow with every stage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from miner.core.clock import now_utc
from miner.core.errors import MinerError


def _resource_dir(name: str) -> Path:
    """Find ``warehouse/`` or ``queries/`` in a checkout, else inside an installed wheel."""
    package = Path(__file__).resolve().parent.parent  # miner/
    for candidate in (package.parent / name, package / f"_{name}"):
        if candidate.is_dir():
            return candidate
    raise MinerError(f"cannot find the {name}/ folder next to the miner package")


def migrations_dir() -> Path:
    return _resource_dir("warehouse") / "migrations"


def views_dir() -> Path:
    return _resource_dir("warehouse") / "views"


def saved_queries_dir() -> Path:
    """Analysts' saved SQL (``warehouse/queries/*.sql``), runnable with ``miner sql --file``."""
    return _resource_dir("warehouse") / "queries"


STORAGE_VERSION = "v1.5.0"
WRITE_CONFIG = {"storage_compatibility_version": STORAGE_VERSION}


def _is_duckdb_file(path: Path) -> bool:
    """True for a DuckDB database (or no file yet). Why check: DuckDB opens a CSV, Parquet or
    JSON file as an in-memory database with a view of it, so ``--warehouse labels.csv`` would
    run a whole harvest and keep nothing (or, read-only, fail with a puzzling catalog error)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:  # no file yet (DuckDB creates it), a folder, unreadable: DuckDB's error says which
        return True
    return len(head) < 12 or head[8:12] == b"DUCK"  # the magic after an 8-byte checksum; a file
    # shorter than a header may be one another process is creating right now


class WarehouseError(MinerError):
    """A query failed; the message is DuckDB's own, folded onto one line."""

    def __init__(self, exc: BaseException | str, prefix: str = "") -> None:
        lines = [ln.strip() for ln in str(exc).splitlines()]
        lines = [ln for ln in lines if ln and set(ln) != {"^"}]
        super().__init__(prefix + " | ".join(lines))


class Warehouse:
    """An open warehouse file. Use as a context manager, or call :meth:`close`.

    ``Warehouse.open(path)`` creates the file and its folder if needed and brings the
    schema up to date. ``read_only=True`` never writes (for analysts' ad-hoc SQL while a
    harvest holds the write lock, and for the report).
    """

    LOCK_WAIT_SECONDS = 30.0

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self._con = con
        self.path = path
        self.read_only = read_only
        self._tx_depth = 0  # > 0 inside transaction(): a nested one joins it

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, migrate: bool = True) -> "Warehouse":
        path = Path(path)
        if read_only and not path.exists():
            raise MinerError(f"{path}: no warehouse here (run a harvest first, or pass --warehouse)")
        if not _is_duckdb_file(path):
            raise MinerError(f"{path}: not a DuckDB file, so not a warehouse (left as it was)")
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = cls._connect_with_retry(path, read_only)
        wh = cls(con, path, read_only)
        if migrate and not read_only:
            wh.migrate()
        elif migrate and not wh.is_current():
            # An older warehouse opened by a newer miner: bring schema and views up to date
            # first, so `miner sql` and `miner report` see every view. Skipped (read-only as it
            # is) when another process holds the write lock; the next writer catches up.
            wh.close()
            try:
                cls(duckdb.connect(str(path), config=WRITE_CONFIG), path, False).migrate_and_close()
            except duckdb.IOException:
                pass
            wh = cls(cls._connect_with_retry(path, True), path, True)
        return wh

    def migrate_and_close(self) -> None:
        try:
            self.migrate()
        finally:
            self.close()

    def is_current(self) -> bool:
        """Are every migration and the current view files applied?"""
        if not self.relation_exists("schema_version") or not self.relation_exists("meta"):
            return False
        done = {v for (v,) in self._con.execute("SELECT version FROM schema_version").fetchall()}
        if any(int(f.name.split("_", 1)[0]) not in done for f in migrations_dir().glob("*.sql")):
            return False
        rows = self._con.execute("SELECT value FROM meta WHERE key = 'views_sha256'").fetchall()
        return bool(rows) and rows[0][0] == self._views_digest()

    @classmethod
    def _connect_with_retry(cls, path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Another process (a harvest, the web app) may hold DuckDB's file lock briefly."""
        deadline = time.monotonic() + cls.LOCK_WAIT_SECONDS
        delay = 0.05
        while True:
            try:
                # A new file is written in a format the DuckDB shell of the previous release
                # still reads (the PyPI duckdb-cli lags the Python package by a release).
                # Every writing connection passes the same setting: DuckDB refuses a second
                # connection to a file with a different configuration in one process.
                con = duckdb.connect(str(path), read_only=read_only, config={} if read_only else WRITE_CONFIG)
                # no progress bar: DuckDB draws one on stdout for queries over 2 s, which would
                # land in the middle of `miner report`'s or `miner sql --format csv`'s output
                con.execute("SET enable_progress_bar = false")
                return con
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise MinerError(f"{path}: cannot open the warehouse: {exc}") from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    # -- schema ----------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply pending migrations in order, then refresh changed views. Returns names applied."""
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {v for (v,) in self._con.execute("SELECT version FROM schema_version").fetchall()}
        applied: list[str] = []
        for path in sorted(migrations_dir().glob("*.sql")):
            version = int(path.name.split("_", 1)[0])
            if version in done:
                continue
            with self.transaction():
                self._con.execute(path.read_text())
                self._con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)", [version, path.stem, now_utc()]
                )
            applied.append(path.stem)
        self.refresh_views()
        return applied

    def refresh_views(self, force: bool = False) -> None:
        """Re-create every view when the view files (or the applied migrations) changed.

        A view file may start with ``-- requires: name, table(col, col), ...``: the tables or
        views (and columns) it reads that another stage creates. When one is missing, the file
        is skipped and the reason recorded (``skipped_views()``), so a warehouse without that
        stage still opens and every other view works. A file without such a header that fails
        is a bug and raises. The applied migrations are part of the digest, so a skipped file
        is retried as soon as a migration adds what it needs.
        """
        files = sorted(views_dir().glob("*.sql"))
        digest = self._views_digest()
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        # fetchall, not fetchone: DuckDB refuses register() while a result is left unfinished.
        rows = self._con.execute("SELECT value FROM meta WHERE key = 'views_sha256'").fetchall()
        if rows and rows[0][0] == digest and not force:
            return
        skipped: dict[str, str] = {}
        with self.transaction():
            for f in files:
                text = f.read_text()
                missing = self._missing_requirements(view_requirements(text))
                if missing:
                    skipped[f.name] = "needs " + ", ".join(missing)
                    continue
                self._con.execute(text)
            self._con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('views_sha256', ?), ('views_skipped', ?)",
                [digest, json.dumps(skipped)],
            )

    def _views_digest(self) -> str:
        files = sorted(views_dir().glob("*.sql"))
        versions = self._con.execute("SELECT string_agg(name, ',' ORDER BY version) FROM schema_version").fetchone()
        return hashlib.sha256(
            b"".join(f.name.encode() + f.read_bytes() for f in files) + str(versions[0]).encode()
        ).hexdigest()

    def _missing_requirements(self, required: dict[str, list[str]]) -> list[str]:
        """What of ``{relation: [columns]}`` this warehouse lacks, as readable phrases."""
        missing = []
        for name, cols in required.items():
            have = {r[0] for r in self._con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]).fetchall()}
            if not have:
                missing.append(name)
            elif absent := [c for c in cols if c not in have]:
                missing.append(f"{name}({', '.join(absent)})")
        return missing

    def skipped_views(self) -> dict[str, str]:
        """View files not applied in this warehouse, with what they need (see ``-- requires:``)."""
        value = self.scalar("SELECT value FROM meta WHERE key = 'views_skipped'") if self.relation_exists("meta") else None
        return json.loads(value) if value else {}

    def relation_exists(self, name: str, columns: Sequence[str] = ()) -> bool:
        """Whether a table or view (with these columns) exists: readers of other stages' output
        ask before they query, and say "no data yet" instead of failing."""
        have = set(self.column_names(name))
        return bool(have) and all(c in have for c in columns)

    def view_names(self, prefix: str = "v_") -> list[str]:
        """The public views (``v_*``), sorted."""
        return [r[0] for r in self.rows(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND starts_with(view_name, ?) "
            "ORDER BY view_name", [prefix])]

    def schema_versions(self) -> list[tuple[int, str]]:
        return self.rows("SELECT version, name FROM schema_version ORDER BY version")

    # -- reading ---------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> None:
        """Run a statement for its effect. Its result is drained: DuckDB refuses new work on a
        connection while a result is unfinished."""
        try:
            self._con.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(exc) from None

    def rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[tuple]:
        try:
            return self._con.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(exc) from None

    def dicts(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[dict]:
        try:
            cur = self._con.execute(sql, params)
        except duckdb.Error as exc:
            raise WarehouseError(exc) from None
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        row = self.rows(sql, params)
        return row[0][0] if row else None

    def query(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Column names and rows, for the CLI's table printer and CSV output."""
        try:
            cur = self._con.execute(sql, params)
        except duckdb.Error as exc:
            raise WarehouseError(exc) from None
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """A query's result as an Arrow table (bulk reads: vectors, signatures)."""
        try:
            # duckdb 2.0 dropped fetch_arrow_table(); sql() avoids the DB-API result's extra copy
            # but refuses to run while a result of execute() is still open, so finish that first.
            self._con.complete()
            return self._con.sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise WarehouseError(exc) from None

    def column_names(self, table: str) -> list[str]:
        return [r[0] for r in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table])]

    # -- writing ---------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator["Warehouse"]:
        """All-or-nothing: a crash inside leaves no half-written rows.

        A transaction opened inside another joins it (DuckDB has no nested transactions), so
        a step that is atomic on its own stays atomic as part of a larger one: a tombstone
        commits together with everything purged because of it, or not at all. An error
        inside rolls back the outermost transaction, so do not catch it in between.
        """
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield self
            finally:
                self._tx_depth -= 1
            return
        self._con.execute("BEGIN TRANSACTION")
        self._tx_depth = 1
        try:
            yield self
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")
        finally:
            self._tx_depth = 0

    def insert(
        self,
        table: str,
        rows: Iterable[Any] | pa.Table,
        *,
        on_conflict: str | None = None,
    ) -> int:
        """Bulk-insert rows (dataclasses, dicts or an Arrow table) by column name.

        ``on_conflict`` is DuckDB's clause after ``ON CONFLICT``, e.g. ``"DO NOTHING"`` or
        ``"(doc_id) DO UPDATE SET title = excluded.title"``. Rows go in as one Arrow batch,
        never one statement per row.
        """
        tbl = rows if isinstance(rows, pa.Table) else _to_arrow(rows)
        if tbl.num_rows == 0:
            return 0
        cols = ", ".join(f'"{c}"' for c in tbl.column_names)
        view = f"_batch_{table}"
        self._con.register(view, tbl)
        try:
            sql = f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM {view}'
            if on_conflict:
                sql += f" ON CONFLICT {on_conflict}"
            self._con.execute(sql)
        except duckdb.Error as exc:
            raise WarehouseError(exc, f"insert into {table}: ") from None
        finally:
            self._con.unregister(view)
        return tbl.num_rows


_REQUIRES = re.compile(r"^--\s*requires:\s*(.+)$", re.MULTILINE | re.IGNORECASE)
_RELATION = re.compile(r"(\w+)\s*(?:\(([^)]*)\))?")


def view_requirements(sql_text: str) -> dict[str, list[str]]:
    """Parse ``-- requires: a, b(col1, col2)`` header lines into ``{"a": [], "b": ["col1", "col2"]}``."""
    out: dict[str, list[str]] = {}
    for line in _REQUIRES.findall(sql_text):
        for name, cols in _RELATION.findall(line):
            out.setdefault(name, []).extend(c.strip() for c in cols.split(",") if c.strip())
    return out


def _to_arrow(rows: Iterable[Any]) -> pa.Table:
    dict_rows = [dataclasses.asdict(r) if dataclasses.is_dataclass(r) else dict(r) for r in rows]
    if not dict_rows:
        return pa.table({})
    return pa.Table.from_pylist(dict_rows)
