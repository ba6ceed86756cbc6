"""The triage queue on a slice of the replay corpus (every item the ground truth talks about
plus some background), processed with the real model: cold start, learning from labels,
clusters, cluster labels and undo, agreement, the queue's contract and the CLI."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from miner.cli import main as cli
from miner.collect.pseudonyms import Pseudonymizer
from miner.collect.store import save_documents
from miner.core.clock import now_utc
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.pipeline import process, stage_names
from miner.replay.load import corpus_documents
from miner.replay.truth import load_truth
from miner.triage import care
from miner.triage.annotations import (adjudicate, cohen_kappa, krippendorff_alpha, label, label_cluster,
                                      label_many, undo_batch)
from miner.triage.clusters import ClusterOptions, cluster_candidates
from miner.triage.codebook import Label
from miner.triage.score import ScoreOptions, score_all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory, corpus):
    truth = load_truth()
    path = tmp_path_factory.mktemp("triage") / "warehouse.duckdb"
    with Warehouse.open(path) as wh:
        docs = list(corpus_documents(corpus, Pseudonymizer(installation_secret(path))))
        background = [d for d in docs if d.doc_id not in truth.labels][::25]
        keep = [d for d in docs if d.doc_id in truth.labels] + background
        with wh.transaction():
            save_documents(wh, keep, "run_test")
    process(path)
    return path


@pytest.fixture
def whp(base, tmp_path):
    """A copy of the processed warehouse a test may change."""
    path = tmp_path / "w.duckdb"
    shutil.copy(base, path)
    return path


def queue_ids(wh, view="v_queue_all"):
    return [d for (d,) in wh.rows(f"SELECT doc_id FROM {view} ORDER BY position")]


def auc(order: list[str], positives: set[str]) -> float:
    """Probability that a random incident sits above a random non-incident in ``order``."""
    pos_ranks = [i for i, d in enumerate(order) if d in positives]
    n_pos, n_neg = len(pos_ranks), len(order) - len(pos_ranks)
    above = sum(n_neg - (r - k) for k, r in enumerate(pos_ranks))
    return above / (n_pos * n_neg)


def incident_docs(wh) -> set[str]:
    truth = load_truth()
    return {c for d, c in wh.rows("SELECT doc_id, canonical_id FROM v_document_groups") if truth.is_incident(d)}


def test_the_pipeline_runs_the_triage_stages_after_embedding():
    names = stage_names()
    assert names.index("embed") < names.index("evidence") < names.index("score") < names.index("cluster")


def test_cold_start_puts_incidents_first(base):
    with Warehouse.open(base, read_only=True) as wh:
        order = queue_ids(wh)
        scorer = wh.dicts("SELECT * FROM v_current_scorer")[0]
        positives = incident_docs(wh)
        evidence = wh.scalar("SELECT count(*) FROM v_queue_all WHERE len(evidence) > 0")
    assert scorer["kind"] == "cold" and scorer["n_labels"] == 0
    assert auc(order, positives) >= 0.85
    # Among as many items as there are incidents, at least twice the share a random order gives
    # (this slice is mostly the corpus's hard negatives, so the base rate is high already).
    base_rate = len(positives) / len(order)
    head = order[:len(positives)]
    assert len(positives & set(head)) / len(head) >= min(0.9, 2 * base_rate)
    assert evidence >= 0.8 * len(order)


def test_learning_moves_the_queue_in_the_expected_direction(whp):
    with Warehouse.open(whp) as wh:
        positives = incident_docs(wh)
        before = queue_ids(wh)
        head = before[:40]
        label_many(wh, [(d, Label("incident" if d in positives else "not")) for d in head], "ann")
        rest = [d for d in before if d not in set(head)]
        cold_auc = auc(rest, positives)
        report = score_all(wh, ScoreOptions(explore_share=0.1))
        after = queue_ids(wh)
        lanes = dict(wh.rows("SELECT lane, count(*) FROM v_queue_all GROUP BY lane"))
        stored = wh.scalar("SELECT count(DISTINCT scorer_version) FROM scores")
        first_explore = wh.scalar("SELECT min(position) FROM v_queue_all WHERE lane = 'explore'")
    assert report.kind == "learned" and report.n_labels == 40 and report.scorer_version.startswith("lr-v1:")
    assert set(after) == set(rest)  # labelled items left the queue
    assert auc(after, positives) > cold_auc  # the model ranks what is left better than the cold start did
    assert stored == 2  # the cold scores stay, under their own version
    assert lanes.get("explore", 0) == pytest.approx(len(after) / 10, abs=2) and first_explore == 10


def test_tombstoned_and_unhit_documents_stay_out_of_the_default_queue(whp):
    with Warehouse.open(whp) as wh:
        some = queue_ids(wh)[:3]
        assert wh.scalar("SELECT count(*) FROM v_queue") == 0  # this slice was loaded, not searched: no hits
        wh.insert("hits", [{"plan_id": "p", "query_id": "q", "doc_id": d, "source": "reddit", "via": "search",
                            "run_id": "run_test", "rank": i, "fetched_at": now_utc(), "payload_id": None,
                            "last_run_id": "run_test", "last_seen_at": now_utc()} for i, d in enumerate(some)])
        assert queue_ids(wh, "v_queue") == some
        wh.execute("UPDATE documents SET state = 'deleted' WHERE doc_id = ?", [some[0]])
        assert queue_ids(wh, "v_queue") == some[1:]
        assert some[0] not in queue_ids(wh)
        funnel = {r[2]: r[3] for r in wh.rows("SELECT * FROM v_funnel WHERE step BETWEEN 6 AND 8")}
    assert funnel["candidates"] == 2


def test_clusters_are_deterministic_and_keep_their_ids(base, tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    shutil.copy(base, a)
    shutil.copy(base, b)
    members = []
    for p in (a, b):
        with Warehouse.open(p) as wh:
            wh.execute("DELETE FROM cluster_members; DELETE FROM clusters; DELETE FROM cluster_runs")
            cluster_candidates(wh)
            members.append(wh.rows("SELECT doc_id, cluster_id FROM cluster_members ORDER BY doc_id"))
    assert members[0] == members[1]
    with Warehouse.open(a) as wh:
        biggest = wh.scalar("SELECT cluster_id FROM clusters ORDER BY size DESC, cluster_id LIMIT 1")
        hidden = [d for (d,) in wh.rows("SELECT doc_id FROM cluster_members WHERE cluster_id = ?", [biggest])]
        # Pretend the biggest cluster's members arrive in a later run: forget their vectors and clusters.
        saved = wh.arrow("SELECT * FROM embeddings WHERE text_hash IN (SELECT text_hash FROM clean_texts "
                         "WHERE doc_id IN (SELECT unnest(?)))", [hidden])
        wh.execute("DELETE FROM embeddings WHERE text_hash IN (SELECT text_hash FROM clean_texts "
                   "WHERE doc_id IN (SELECT unnest(?)))", [hidden])
        wh.execute("DELETE FROM cluster_members; DELETE FROM clusters; DELETE FROM cluster_runs")
        cluster_candidates(wh)
        first = dict(wh.rows("SELECT doc_id, cluster_id FROM cluster_members"))
        first_ids = {k for k in first.values() if k}
        assert cluster_candidates(wh).run_id == ""  # nothing new: nothing changes
        wh.insert("embeddings", saved)
        # a high bar for joining an existing cluster, so the returning group has to form its own
        report = cluster_candidates(wh, ClusterOptions(join_similarity=0.99))
        second = dict(wh.rows("SELECT doc_id, cluster_id FROM cluster_members"))
        new = {k for (k,) in wh.rows("SELECT cluster_id FROM v_clusters WHERE is_new")}
        kw = wh.rows("SELECT keywords, exemplars FROM clusters WHERE cluster_id IN (SELECT unnest(?))", [list(new)])
    assert all(second[d] == k for d, k in first.items() if k)  # old members keep their cluster
    assert report.new_clusters >= 1
    assert new and not (new & first_ids)  # new clusters get new ids and the flag
    assert {second[d] for d in hidden} & new
    assert all(k and 1 <= len(e) <= 3 for k, e in kw)


def test_labelling_a_cluster_and_undoing_it(whp):
    with Warehouse.open(whp) as wh:
        cid = wh.scalar("SELECT cluster_id FROM clusters WHERE size >= 3 ORDER BY size DESC, cluster_id LIMIT 1")
        members = [d for (d,) in wh.rows("SELECT doc_id FROM cluster_members WHERE cluster_id = ? ORDER BY doc_id",
                                         [cid])]
        label(wh, members[0], "ann", Label("incident"))
        res = label_cluster(wh, cid, "ann", Label("not", reason="human_refusal"))
        assert res.written == len(members) - 1 and res.skipped == [members[0]]
        decisions = dict(wh.rows("SELECT doc_id, decision FROM v_decisions"))
        assert decisions[members[0]] == "incident" and all(decisions[d] == "not" for d in members[1:])
        assert not set(members) & set(queue_ids(wh))
        undo_batch(wh, res.batch_id, "ann")
        decisions = dict(wh.rows("SELECT doc_id, decision FROM v_decisions"))
        assert decisions == {members[0]: "incident"}
        assert set(members[1:]) <= set(queue_ids(wh))
        assert wh.scalar("SELECT count(*) FROM annotations") == len(members)  # append-only: nothing deleted


def test_agreement_on_known_examples(wh):
    # Cohen's kappa, the textbook 2x2 table: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> 0.4
    a = ["incident"] * 25 + ["not"] * 25
    b = ["incident"] * 20 + ["not"] * 5 + ["incident"] * 10 + ["not"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    # Krippendorff's own nominal example (4 coders, 12 units, missing values): alpha = 0.743
    coders = ["1 2 3 3 2 1 4 1 2 . . .", "1 2 3 3 2 2 4 1 2 5 . 3", ". 3 3 3 2 3 4 2 2 5 1 .",
              "1 2 3 3 2 4 4 1 2 5 1 ."]
    units = {u: [c.split()[u] for c in coders if c.split()[u] != "."] for u in range(12)}
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=0.001)
    # The view computes the same numbers from annotations.
    from tests.helpers import add_documents, doc

    add_documents(wh, *(doc(f"reddit:t3_a{i}", f"title {i}", "body") for i in range(50)))
    rows = []
    for i, (x, y) in enumerate(zip(a, b)):
        rows += [{"doc_id": f"reddit:t3_a{i}", "annotator": "ann", "decision": x, "created_at": now_utc()},
                 {"doc_id": f"reddit:t3_a{i}", "annotator": "bob", "decision": y, "created_at": now_utc()}]
    rng = np.random.default_rng(0)
    third = rng.choice(["incident", "not", "unsure"], 30)
    rows += [{"doc_id": f"reddit:t3_a{i}", "annotator": "cy", "decision": str(v), "created_at": now_utc()}
             for i, v in enumerate(third)]
    wh.insert("annotations", rows)
    got = {(r["measure"], r["annotator_a"], r["annotator_b"]): r["value"] for r in wh.dicts("SELECT * FROM v_agreement")}
    assert got[("cohen_kappa", "ann", "bob")] == pytest.approx(0.4)
    assert got[("cohen_kappa", "ann", "cy")] == pytest.approx(cohen_kappa(a[:30], list(third)))
    units3 = {i: [a[i], b[i]] + ([str(third[i])] if i < 30 else []) for i in range(50)}
    assert got[("krippendorff_alpha", None, None)] == pytest.approx(krippendorff_alpha(units3))
    # Disputed items wait for an adjudicator, whose decision is final.
    disputed = wh.scalar("SELECT doc_id FROM v_decisions WHERE status = 'disputed' ORDER BY doc_id LIMIT 1")
    assert wh.scalar("SELECT decision FROM v_decisions WHERE doc_id = ?", [disputed]) is None
    adjudicate(wh, disputed, "lead", Label("not", reason="no_refusal"))
    assert wh.rows("SELECT decision, status FROM v_decisions WHERE doc_id = ?", [disputed]) == [("not", "adjudicated")]


def test_cli_next_label_cluster_stats(whp):
    run = CliRunner().invoke
    w = ["--warehouse", str(whp)]
    out = run(cli, ["triage", "next", "--all-documents", "--annotator", "ann", *w])
    assert out.exit_code == 0, out.output
    with Warehouse.open(whp, read_only=True) as wh:
        head = queue_ids(wh)[0]
        cid = wh.scalar("SELECT cluster_id FROM clusters WHERE size >= 3 ORDER BY cluster_id LIMIT 1")
        head_text = wh.scalar("SELECT concat_ws(chr(10), title, text) FROM v_canonical_documents WHERE doc_id = ?",
                              [head])
    assert head in out.output and "refusal" in out.output
    # the same content warning the web app shows, before the text, when the item needs one
    assert ("Content warning:" in out.output) == bool(care.categories(head_text))
    out = run(cli, ["triage", "label", head, "--decision", "incident", "--product", "ChatGPT", "--form",
                    "resource_referral", "--context", "crisis", "--annotator", "ann", *w])
    assert out.exit_code == 0, out.output
    bad = run(cli, ["triage", "label", head, "--decision", "incident", "--reason", "human_refusal", *w])
    assert bad.exit_code == 2 and "reason" in bad.output
    typo = run(cli, ["triage", "label", head, "--decision", "incident", "--product", "FooBot", *w])
    assert typo.exit_code == 2 and "--product FooBot: not a product" in typo.output and "ChatGPT" in typo.output
    alias = run(cli, ["triage", "label", head, "--decision", "unsure", "--product", "gpt-4", "--annotator", "zed", *w])
    assert alias.exit_code == 0, alias.output
    missing = run(cli, ["triage", "label", "reddit:t3_nope", "--decision", "not", *w])
    assert missing.exit_code == 2 and "no such document" in missing.output
    out = run(cli, ["triage", "cluster", cid, "--decision", "not", "--reason", "human_refusal", "--annotator", "ann", *w])
    assert out.exit_code == 0 and "--undo b_" in out.output
    batch = out.output.split("--undo ")[1].split()[0]
    out = run(cli, ["triage", "cluster", "--undo", batch, *w])
    assert out.exit_code == 0 and "undone" in out.output
    out = run(cli, ["triage", "stats", *w])
    assert out.exit_code == 0 and "annotator: ann" in out.output
    with Warehouse.open(whp, read_only=True) as wh:
        row = wh.dicts("SELECT * FROM v_annotations_current WHERE doc_id = ? AND annotator = 'ann'", [head])[0]
        assert wh.scalar("SELECT product FROM v_annotations_current WHERE doc_id = ? AND annotator = 'zed'",
                         [head]) == "ChatGPT"  # the alias, stored as the product it names
        assert head not in queue_ids(wh)
    assert (row["decision"], row["product"], row["form"], row["context"]) == ("incident", "ChatGPT",
                                                                             ["resource_referral"], "crisis")


def test_shipped_cold_weights_match_the_code():
    """The weights the package ships were fitted for today's features and descriptions; a change
    to either without a refit would silently mis-score every document."""
    from miner.triage.score import FEATURES, cold_weights, descriptions_digest

    w = cold_weights()
    assert w.digest == descriptions_digest()
    assert set(w.features) <= set(FEATURES) and w.fitted_on


def test_stale_cold_weights_are_refused_naming_the_file_and_the_fix(tmp_path):
    import json

    from miner.core.errors import MinerError
    from miner.triage.score import WEIGHTS_FILE, cold_weights

    stale = json.loads(WEIGHTS_FILE.read_text())
    stale["digest"] = "000000000000"
    path = tmp_path / "cold_weights.json"
    path.write_text(json.dumps(stale))
    with pytest.raises(MinerError, match=r"cold_weights\.json: fitted for other .*refit with bench/fit_cold\.py --write"):
        cold_weights(path)
    path.write_text("{not json")
    with pytest.raises(MinerError, match=r"cold_weights\.json: cannot read"):
        cold_weights(path)


def test_the_next_item_is_the_queue_views_next_and_skips_what_changed_since_scoring(whp):
    """The materialized order hands out exactly what v_queue says, in its order, and at read time
    skips what was decided or deleted at the source after scoring ran."""
    from miner.triage import worklist
    from miner.triage.annotators import Annotator
    from miner.triage.queue import next_item

    with Warehouse.open(whp) as wh:
        view = queue_ids(wh)  # this slice has no hits: the all-documents queue
        first = next_item(wh, all_documents=True)
        assert first.doc_id == view[0] and first.position == 1 and first.remaining == len(view)
        label(wh, view[0], "maria", Label(decision="not", reason="no_refusal"))
        wh.execute("UPDATE documents SET state = 'deleted' WHERE doc_id = ?", [view[1]])  # seen by a harvest
        who = Annotator("sam")
        assert worklist.next_for(wh, who, all_documents=True) == view[2]
        assert worklist.left(wh, all_documents=True) == len(queue_ids(wh)) == len(view) - 2
        # a care opt-out holds flagged items back for that annotator only
        wh.execute("DELETE FROM web_claims")
        flagged = wh.rows("SELECT q.doc_id FROM queue_order q WHERE len(q.care) > 0 AND q.doc_id NOT IN (?, ?) "
                          "ORDER BY q.priority LIMIT 1", view[:2])
        assert flagged, "the slice has items with a content warning"
        cats = wh.scalar("SELECT care FROM queue_order WHERE doc_id = ?", [flagged[0][0]])
        wh.execute("UPDATE queue_order SET priority = -1 WHERE doc_id = ?", [flagged[0][0]])  # first in line
        assert worklist.next_for(wh, Annotator("kim", opt_out=list(cats)), all_documents=True) != flagged[0][0]
        assert worklist.next_for(wh, Annotator("lee"), all_documents=True) == flagged[0][0]


def test_a_warehouse_scored_before_the_materialized_order_has_its_queue_at_once(whp):
    """Upgrading: the migration that adds queue_order fills it from the scores already there,
    so the queue is not empty until the next `miner process`."""
    import duckdb

    from miner.triage.queue import next_item

    with Warehouse.open(whp) as wh:
        view = queue_ids(wh)
    con = duckdb.connect(str(whp))  # the warehouse as the release before the migration left it
    con.execute("DROP TABLE queue_order")
    con.execute("DELETE FROM schema_version WHERE version = 11")
    con.close()
    with Warehouse.open(whp) as wh:
        item = next_item(wh, all_documents=True)
        assert item.doc_id == view[0] and item.remaining == len(view)
