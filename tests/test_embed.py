"""Embeddings with the real bundled model on small inputs: meaning, long texts, and no text
encoded twice."""

from __future__ import annotations

import numpy as np
import pytest

from miner.process.clean import clean_pending
from miner.process.dedup import dedup_text
from miner.process.embed import MAX_CHUNKS, WINDOW, chunk_texts, embed_pending, encode, load_model, model_info
from tests.helpers import add_documents, doc

pytestmark = pytest.mark.slow

REFUSAL = "I told the chatbot I was struggling and it refused to talk to me and just gave me a hotline number."


def test_paraphrases_are_closer_than_unrelated_texts():
    paraphrases = [REFUSAL,
                   "When I said I was having a hard time, the AI wouldn't discuss it and only pasted a crisis line.",
                   "I said I was struggling and the AI refused to talk about it, it only gave me a hotline number."]
    unrelated = ["My sourdough starter finally doubled overnight, so I'm baking bread this weekend.",
                 "The quarterly earnings of the chip maker beat analyst expectations."]
    v = encode(paraphrases + unrelated)
    assert v.shape == (5, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    sims = v @ v.T
    closest_unrelated = sims[:3, 3:].max()
    assert min(sims[0, 1], sims[0, 2], sims[1, 2]) > closest_unrelated + 0.1


def preamble(n: int) -> str:
    topics = ["my commute", "the garden", "my sister's wedding", "a new job", "the weather", "my old car"]
    return " ".join(f"Some background about {topics[i % 6]}, which took up most of week {i}." for i in range(n))


def test_long_texts_are_read_to_the_end_in_word_aligned_windows():
    long_post = preamble(40) + " " + REFUSAL
    chunks = chunk_texts([long_post, "short"], load_model().tokenizer)
    assert chunks.n_chunks[1] == 1 and 2 <= chunks.n_chunks[0] <= MAX_CHUNKS
    tok = load_model().tokenizer
    assert all(len(tok(c, add_special_tokens=False)["input_ids"]) <= WINDOW for c in chunks.texts)
    assert " ".join(chunks.texts[:-1]).split() == long_post.split()  # every word, in order, none split
    # The refusal told at the end still shapes the vector: truncation would have missed it.
    model = load_model()
    query, pooled = encode([REFUSAL, long_post])
    truncated = model.encode([long_post], normalize_embeddings=True)[0]
    assert pooled @ query > truncated @ query + 0.05
    huge = chunk_texts([preamble(400)], tok)
    assert huge.n_chunks == [MAX_CHUNKS] and huge.n_tokens[0] > MAX_CHUNKS * WINDOW


def test_each_text_is_encoded_once_per_model(wh):
    add_documents(wh,
                  doc("reddit:t3_a", "ChatGPT refused me", REFUSAL + " " + preamble(3)),
                  doc("reddit:t3_b", "ChatGPT refused me", REFUSAL + " " + preamble(3), created="2024-06-01"),
                  doc("reddit:t1_c", None, "Same here.", kind="comment"),
                  doc("reddit:t1_d", None, "Same here.", kind="comment"),
                  doc("reddit:t3_e", None, None, state="removed"))
    clean_pending(wh)
    dedup_text(wh)
    first = embed_pending(wh)
    # t3_b is t3_a's duplicate (its canonical's vector serves it); the two comments share one text;
    # the removed post has none.
    assert first.encoded == 2 and first.total_vectors == 2
    info = model_info()
    row = wh.dicts("SELECT * FROM embedding_models")[0]
    assert row["model_id"] == info.model_id and row["package_version"] == "0.1.0" and len(row["weights_sha256"]) == 64
    assert info.model_id.startswith("all-MiniLM-L6-v2@0.1.0+")
    assert wh.scalar("SELECT typeof(vector) FROM embeddings LIMIT 1") == "FLOAT[384]"
    assert wh.scalar("SELECT count(DISTINCT doc_id) FROM v_document_vectors") == 4  # a, b, c, d
    assert embed_pending(wh).encoded == 0  # a rerun encodes nothing
    add_documents(wh, doc("reddit:t1_c", None, "Same here, honestly.", kind="comment"), run_id="run_2")
    clean_pending(wh)
    dedup_text(wh)
    again = embed_pending(wh)
    assert again.encoded == 1 and again.total_vectors == 3


def test_the_onnx_backend_gives_the_same_vectors(tmp_path, monkeypatch, wh):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("MINER_CACHE", str(tmp_path / "cache"))
    texts = [REFUSAL, "Same here.", preamble(40) + " " + REFUSAL]
    torch_vectors = encode(texts)
    onnx_vectors = encode(texts, backend="onnx")
    assert list((tmp_path / "cache").glob("*.onnx"))  # exported locally, once
    assert np.all((torch_vectors * onnx_vectors).sum(1) > 0.9999)
    # Same vectors, same model id: switching backends re-encodes nothing.
    add_documents(wh, doc("reddit:t3_a", "ChatGPT refused me", REFUSAL))
    clean_pending(wh)
    dedup_text(wh)
    assert embed_pending(wh, backend="onnx").encoded == 1
    assert embed_pending(wh, backend="torch").encoded == 0
