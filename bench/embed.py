"""The embedding step: pipeline throughput against a bare ``model.encode`` on the same texts.

    PYTHONPATH=. .venv/bin/python bench/embed.py               # the whole replay corpus (~1,400 texts)
    PYTHONPATH=. .venv/bin/python bench/embed.py --limit 300   # fewer texts
    PYTHONPATH=. .venv/bin/python bench/embed.py --warehouse data/warehouse.duckdb --limit 500

On a copy of a warehouse (default: the whole replay corpus loaded, cleaned and deduplicated),
with the model loaded and warmed up first, in one run:

1. the pipeline's embed step (``embed_pending``: read pending texts, cut long ones into
   windows, encode, pool, write FLOAT[384] rows) -> documents/s;
2. a bare ``model.encode`` of exactly the windows the pipeline encoded, in one call -> documents/s,
   and the pipeline's overhead over it (target: under 10%);
3. a bare ``model.encode`` of the whole texts (which the model truncates at 256 word pieces):
   what the chunk-mean long-text policy costs over truncation;
4. the seconds for a rerun of the step (nothing to encode) and of ``miner process``;
5. on the replay corpus, what the long-text policy buys: ROC AUC of incidents against
   everything else, scored by cosine to three short descriptions of an incident, with
   chunk-mean vectors and with truncated ones;
6. with ``--backends``: the torch and onnx backends on the same windows (speed, and how
   close the onnx vectors are to the default ones). ``--backend onnx`` runs steps 1-4 with onnx.

Runs alternate with the bare encode first, so neither side always runs on a cold cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MINER_SECRET", "bench-secret")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from miner.core.db import Warehouse  # noqa: E402

INCIDENT = ["I was talking to an AI chatbot about my mental health and it refused to help me and gave me a hotline number",
            "My AI companion changed and went cold after a filter update when I needed support",
            "The chatbot said it can't help with that and told me to see a professional when I was struggling"]


def prepare(source: str | None, workdir: Path) -> Path:
    """A warehouse copy, cleaned and text-deduplicated, with no vectors yet."""
    from miner.process.clean import clean_pending
    from miner.process.dedup import dedup_text
    from miner.replay.load import load_corpus_into

    path = workdir / "bench.duckdb"
    if source:
        shutil.copy(source, path)
    with Warehouse.open(path) as wh:
        if not source:
            load_corpus_into(wh)
        clean_pending(wh)
        dedup_text(wh)
        wh.execute("DELETE FROM embeddings")
    return path


def limit_pending(path: Path, limit: int | None) -> list[tuple[str, str]]:
    """Keep only ``limit`` pending texts (a random sample, fixed seed) by giving the rest a vector."""
    from miner.process.embed import model_info, pending_texts

    info = model_info()
    with Warehouse.open(path) as wh:
        todo = pending_texts(wh, info.model_id)
        if limit and limit < len(todo):
            rng = np.random.default_rng(3)
            keep = set(rng.choice(len(todo), size=limit, replace=False).tolist())
            skip = [h for i, (h, _) in enumerate(todo) if i not in keep]
            # placeholder unit vectors (not zeros: later stages compare directions)
            wh.execute("INSERT INTO embeddings SELECT ?, unnest(?), list_resize([1.0], 384, 0.0)::FLOAT[384], "
                       "0, 0, now()", [info.model_id, skip])
            todo = pending_texts(wh, info.model_id)
    return todo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", help="copy this warehouse instead of loading the replay corpus")
    ap.add_argument("--limit", type=int, help="encode at most this many texts")
    ap.add_argument("--rounds", type=int, default=2, help="pipeline/bare rounds (median is printed)")
    ap.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    ap.add_argument("--backends", action="store_true", help="also compare the torch and onnx backends")
    args = ap.parse_args()

    import torch

    from miner.process.embed import chunk_texts, embed_pending, load_model, model_info
    from miner.pipeline import ProcessOptions, process

    t = time.perf_counter()
    model = load_model(args.backend)
    print(f"model {model_info().model_id} ({args.backend}) loaded in {time.perf_counter() - t:.1f} s; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    model.encode(["warm up the model"] * 64, batch_size=32)

    with tempfile.TemporaryDirectory() as tmp:
        base = prepare(args.warehouse, Path(tmp))
        todo = limit_pending(base, args.limit)
        texts = [t for _, t in todo]
        chunks = chunk_texts(texts, model.tokenizer)
        long_ = sum(n > 1 for n in chunks.n_chunks)
        print(f"{len(texts):,} texts to encode ({long_} longer than the window: {len(chunks.texts):,} windows)")
        pipeline, bare, whole = [], [], []
        for r in range(args.rounds):
            run = Path(tmp) / f"run{r}.duckdb"
            shutil.copy(base, run)
            t = time.perf_counter()
            model.encode(chunks.texts, batch_size=32, normalize_embeddings=True)
            bare.append(time.perf_counter() - t)
            with Warehouse.open(run) as wh:
                t = time.perf_counter()
                report = embed_pending(wh, progress=False, backend=args.backend)
                pipeline.append(time.perf_counter() - t)
                assert report.encoded == len(texts), report
            t = time.perf_counter()
            truncated = model.encode(texts, batch_size=32, normalize_embeddings=True)
            whole.append(time.perf_counter() - t)
        p, b, w = statistics.median(pipeline), statistics.median(bare), statistics.median(whole)
        n = len(texts)
        print(f"pipeline embed step:        {n / p:7.1f} docs/s ({p:.1f} s; rounds: {', '.join(f'{x:.1f}' for x in pipeline)})")
        print(f"bare model.encode, windows: {n / b:7.1f} docs/s ({b:.1f} s) -> pipeline overhead {100 * (p / b - 1):+.1f}%")
        print(f"bare model.encode, whole texts (truncated at 256): {n / w:.1f} docs/s ({w:.1f} s) -> "
              f"chunk-mean costs {100 * (b / w - 1):+.1f}% over truncation")
        with Warehouse.open(run) as wh:
            t = time.perf_counter()
            again = embed_pending(wh, progress=False, backend=args.backend)
            rerun = time.perf_counter() - t
            hashes = [h for h, _ in todo]
            got = wh.rows("SELECT text_hash, vector FROM embeddings WHERE text_hash IN (SELECT unnest(?)) "
                          "AND model_id = ?", [hashes, model_info().model_id])
        print(f"rerun of the embed step: {rerun:.2f} s ({again.encoded} encoded)")
        t = time.perf_counter()
        results = process(run, options=ProcessOptions(progress=False, backend=args.backend))
        print(f"rerun of miner process (every stage, nothing new): {time.perf_counter() - t:.2f} s "
              f"({sum(r.counts.get('encoded', 0) for r in results)} encoded)")

        if not args.warehouse:
            policy_figures(model, todo, dict(got), truncated, base)
        if args.backends:
            compare_backends(chunks.texts)


def compare_backends(windows: list[str]) -> None:
    """Same windows through both backends, interleaved; speed and agreement."""
    from miner.process.embed import load_model

    torch_model, onnx_model = load_model("torch"), load_model("onnx")
    onnx_model.encode(windows[:32])
    times: dict[str, list[float]] = {"torch": [], "onnx": []}
    for _ in range(2):
        for name, m in (("torch", torch_model), ("onnx", onnx_model)):
            t = time.perf_counter()
            vec = m.encode(windows, batch_size=32, normalize_embeddings=True)
            times[name].append(time.perf_counter() - t)
            if name == "torch":
                a = vec
            else:
                b = vec
    cos = (a * b).sum(1)
    sa, sb = a @ a.T, b @ b.T
    k = 10
    keep = np.mean([len(set(np.argsort(-sa[i])[1:k + 1]) & set(np.argsort(-sb[i])[1:k + 1])) / k
                    for i in range(len(a))])
    tt, to = statistics.median(times["torch"]), statistics.median(times["onnx"])
    print(f"backends on {len(windows):,} windows: torch {len(windows) / tt:.1f}/s, onnx {len(windows) / to:.1f}/s "
          f"({tt / to:.2f}x); cosine onnx vs torch: mean {cos.mean():.6f}, min {cos.min():.6f}; "
          f"top-{k} neighbours kept {keep:.3f}")


def policy_figures(model, todo, pooled_by_hash, truncated, path: Path) -> None:
    from sklearn.metrics import roc_auc_score

    from miner.replay.truth import load_truth

    truth = load_truth()
    with Warehouse.open(path, read_only=True) as wh:
        docs = wh.rows("SELECT c.doc_id, c.text_hash FROM clean_texts c JOIN v_document_groups g USING (doc_id) "
                       "WHERE g.is_canonical AND c.state = 'ok'")
    index = {h: i for i, (h, _) in enumerate(todo)}
    docs = [(d, h) for d, h in docs if h in index]
    q = model.encode(INCIDENT, normalize_embeddings=True)
    tokens = model.tokenizer([t for _, t in todo], add_special_tokens=False, verbose=False)["input_ids"]
    y = np.array([truth.is_incident(d) for d, _ in docs])
    long_ = np.array([len(tokens[index[h]]) > 254 for _, h in docs])
    print("long-text policy (similarity to incident descriptions ranks incidents first?):")
    for name, vec in (("chunk-mean", lambda h: np.asarray(pooled_by_hash[h])), ("truncate", lambda h: truncated[index[h]])):
        s = np.array([(q @ vec(h)).max() for _, h in docs])
        top = np.argsort(-s)[: len(s) // 10]
        print(f"  {name:10} ROC AUC all {roc_auc_score(y, s):.3f}, long documents {roc_auc_score(y[long_], s[long_]):.3f} "
              f"({long_.sum()} docs, {y[long_].sum()} incidents); incidents in the top 10%: {y[top].sum()}/{y.sum()}")


if __name__ == "__main__":
    main()
