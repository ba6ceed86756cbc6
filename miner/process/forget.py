"""Forget what was derived from documents deleted or removed at the source.

A tombstone (``documents.state`` no longer ``'ok'``: the harvest saw ``[deleted]``, or the
deletion check found the item gone) drops the document's text, but cleaned text, dedup
signatures, duplicate links and vectors were made from that text before. Reddit's terms
and our privacy rules say the text is gone everywhere, so this removes every derived row:
clean text, signature, links and group membership, and any vector whose text no document
holds any more. The id, hits and counts stay, so the funnel still adds up.

``clean_pending`` runs it first, before anything reads cleaned text, and it does not
depend on ``content_hash``: a tombstone may keep the hash of the text it replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

from miner.collect.store import gone_documents
from miner.core.db import Warehouse
from miner.process.dedup import regroup

# Documents that are gone but still have a derived row somewhere.
_GONE_WITH_DERIVED = f"""
SELECT doc_id FROM ({gone_documents()}) WHERE (
    doc_id IN (SELECT doc_id FROM clean_texts)
    OR doc_id IN (SELECT doc_id FROM dedup_signatures)
    OR doc_id IN (SELECT doc_id FROM dup_members)
    OR doc_id IN (SELECT doc_a FROM dup_links UNION ALL SELECT doc_b FROM dup_links))
ORDER BY doc_id
"""


@dataclass
class ForgetReport:
    documents: int = 0  # tombstoned documents whose derived rows were removed
    vectors: int = 0  # vectors removed because no document holds their text any more


def forget_gone(wh: Warehouse) -> ForgetReport:
    """Remove derived rows of documents whose state is not 'ok'; regroup what is left.

    Idempotent and cheap when there is nothing to forget (one query over ids). Vectors are
    keyed by text, not document: a vector stays while another live document has the same
    text, and any vector whose text no cleaned document holds (a deleted or edited text)
    goes.
    """
    ids = [r[0] for r in wh.rows(_GONE_WITH_DERIVED)]
    report = ForgetReport(documents=len(ids))
    with wh.transaction():
        if ids:
            for table in ("clean_texts", "dedup_signatures", "dup_members"):
                wh.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT unnest(?))", [ids])
            wh.execute("DELETE FROM dup_links WHERE doc_a IN (SELECT unnest(?)) OR doc_b IN (SELECT unnest(?))",
                       [ids, ids])
        before = wh.scalar("SELECT count(*) FROM embeddings")
        if before:
            wh.execute("DELETE FROM embeddings e WHERE NOT EXISTS "
                       "(SELECT 1 FROM clean_texts c WHERE c.text_hash = e.text_hash)")
            report.vectors = before - wh.scalar("SELECT count(*) FROM embeddings")
    if ids:
        regroup(wh)  # the groups the gone documents were in shrink or dissolve
    return report
