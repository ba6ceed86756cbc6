"""Deletions at the source purge every derived row at once (issue 19, item 3).

`miner refresh-deletions` says "text purged": from then on the text of a deleted or removed
document must be nowhere (tables, public views, `export tables` output), without waiting for
the next `miner process`, and that process must not bring it back.
"""

from __future__ import annotations

import re
import shutil

import pytest
from click.testing import CliRunner

from miner.cli import main
from miner.collect.deletions import check_deletions
from miner.core.config import Endpoints
from miner.core.db import Warehouse
from miner.pipeline import ProcessOptions, forget_derived, process
from tests.helpers import all_text

# Where a tombstoned document's rows must be gone (doc_id columns of derived tables).
DERIVED = {"clean_texts": "doc_id", "dedup_signatures": "doc_id", "dup_members": "doc_id", "evidence": "doc_id",
           "evidence_state": "doc_id", "scores": "doc_id", "care_flags": "doc_id", "cluster_members": "doc_id"}
PLAIN = re.compile(r"^[A-Za-z0-9 ,.']+$")  # no characters JSON or CSV would escape


def _flat(text: str) -> str:
    return " ".join(text.split())


def views_text(wh: Warehouse) -> str:
    """Every value of every public view, as one string."""
    parts = []
    for view in wh.view_names("v_"):
        cols = wh.column_names(view)
        expr = " || '\x1f' || ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in cols)
        parts += [r[0] for r in wh.rows(f'SELECT {expr} FROM "{view}"')]
    return "\n".join(parts)


def everywhere(wh: Warehouse) -> str:
    return _flat(all_text(wh) + "\n" + views_text(wh))


def pick_victims(wh: Warehouse, n: int = 6) -> dict[str, tuple[str, str]]:
    """Reddit documents with a phrase (8 words of their text) no other document has: doc_id ->
    (fullname, phrase). Documents in a cluster, with evidence and with a score come first."""
    rows = wh.rows(
        "SELECT c.doc_id, d.native_id, c.text, m.cluster_id IS NOT NULL, "
        "  c.doc_id IN (SELECT doc_id FROM evidence), c.doc_id IN (SELECT doc_id FROM scores) "
        "FROM clean_texts c JOIN documents d USING (doc_id) LEFT JOIN cluster_members m USING (doc_id) "
        "WHERE d.source = 'reddit' AND d.state = 'ok' AND c.state = 'ok' AND c.n_words >= 30 "
        "ORDER BY 4 DESC, 5 DESC, 6 DESC, c.doc_id")
    others = {d: _flat(f"{t or ''} {b or ''} {c or ''}") for d, t, b, c in wh.rows(
        "SELECT doc_id, d.title, d.body, c.text FROM documents d LEFT JOIN clean_texts c USING (doc_id)")}
    out: dict[str, tuple[str, str]] = {}
    for doc_id, native_id, text, *_ in rows:
        words = text.split()
        phrase = " ".join(words[len(words) // 2:len(words) // 2 + 8])
        if PLAIN.match(phrase) and not any(phrase in t for d, t in others.items() if d != doc_id):
            out[doc_id] = (native_id, phrase)
        if len(out) == n:
            break
    return out


@pytest.mark.slow
def test_refresh_deletions_purges_text_everywhere_at_once_and_process_does_not_bring_it_back(
        demo_run, fresh_replay, tmp_path):
    demo_dir, _ = demo_run
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_dir / "data" / "warehouse.duckdb", path)  # the demo's processed warehouse, ours to change
    with Warehouse.open(path) as wh:
        victims = pick_victims(wh)
        ids = list(victims)
        clustered = [d for (d,) in wh.rows("SELECT doc_id FROM cluster_members WHERE cluster_id IS NOT NULL "
                                           "AND doc_id IN (SELECT unnest(?))", [ids])]
        assert len(victims) == 6 and clustered, "the demo warehouse should have clustered documents to delete"
        for table, col in DERIVED.items():
            if table in ("clean_texts", "evidence_state", "scores"):
                assert wh.scalar(f"SELECT count(*) FROM {table} WHERE {col} IN (SELECT unnest(?))", [ids]), table
        before = everywhere(wh)
        assert all(phrase in before for _, phrase in victims.values())  # the check can see the text
        hits = wh.scalar("SELECT count(*) FROM hits WHERE doc_id IN (SELECT unnest(?))", [ids])
        checks = wh.scalar("SELECT count(*) FROM deletion_checks")
    names = [name for name, _ in victims.values()]
    fresh_replay.delete(names[:4], "deleted")
    fresh_replay.delete(names[4:], "removed")

    # A crash while purging leaves nothing half done: no tombstone without its purge.
    def crash(wh):
        forget_derived(wh)
        raise RuntimeError("killed while purging")

    with pytest.raises(RuntimeError, match="killed while purging"):
        check_deletions(str(path), Endpoints(fresh_replay.url), force=True, requests_per_minute=None, forget=crash)
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM documents WHERE doc_id IN (SELECT unnest(?)) AND state = 'ok'",
                         [ids]) == 6
        assert wh.scalar("SELECT count(*) FROM clean_texts WHERE doc_id IN (SELECT unnest(?))", [ids]) == 6
        assert wh.scalar("SELECT count(*) FROM deletion_checks") == checks

    res = CliRunner().invoke(main, ["refresh-deletions", "--reddit-url", fresh_replay.url, "--force",
                                    "--warehouse", str(path)])
    assert res.exit_code == 0, res.output
    assert "6 deleted or removed at the source, text purged" in _flat(res.output)
    with Warehouse.open(path, read_only=True) as wh:
        text = everywhere(wh)
        for doc_id, (_, phrase) in victims.items():
            assert phrase not in text, f"{doc_id}: {phrase!r} is still in the warehouse"
        for table, col in DERIVED.items():
            assert not wh.scalar(f"SELECT count(*) FROM {table} WHERE {col} IN (SELECT unnest(?))", [ids]), table
        assert not wh.scalar("SELECT count(*) FROM dup_links WHERE doc_a IN (SELECT unnest(?)) "
                             "OR doc_b IN (SELECT unnest(?))", [ids, ids])
        assert not wh.scalar("SELECT count(*) FROM clusters WHERE len(list_intersect(exemplars, ?)) > 0", [ids])
        assert not wh.scalar("SELECT count(*) FROM documents WHERE doc_id IN (SELECT unnest(?)) AND "
                             "regexp_matches(permalink, '/comments/[0-9a-z]+/[^_/]')", [ids])  # no title slug
        # what stays: the tombstones themselves, and their lineage
        states = dict(wh.rows("SELECT native_id, state FROM documents WHERE doc_id IN (SELECT unnest(?))", [ids]))
        assert sorted(states[n] for n in names) == ["deleted"] * 4 + ["removed"] * 2
        assert wh.scalar("SELECT count(*) FROM hits WHERE doc_id IN (SELECT unnest(?))", [ids]) == hits
        shown = dict(wh.rows("SELECT doc_id, state FROM v_canonical_documents WHERE doc_id IN (SELECT unnest(?))",
                             [ids]))
        assert set(shown.values()) <= {"deleted", "removed"} and len(shown) == 6

    out = tmp_path / "export"
    exported = CliRunner().invoke(main, ["export", "tables", "--format", "csv", "--out", str(out),
                                         "--warehouse", str(path)])
    assert exported.exit_code == 0, exported.output
    files = " ".join(_flat(f.read_text()) for f in out.glob("*.csv"))
    assert files and not any(phrase in files for _, phrase in victims.values())

    process(path, options=ProcessOptions(progress=False))  # a later run brings nothing back
    with Warehouse.open(path, read_only=True) as wh:
        text = everywhere(wh)
        assert not any(phrase in text for _, phrase in victims.values())
        for table, col in DERIVED.items():
            assert not wh.scalar(f"SELECT count(*) FROM {table} WHERE {col} IN (SELECT unnest(?))", [ids]), table
