"""Archive backfill speed: import a generated 1,000,000-line zstd dump and compare with zstd.

    PYTHONPATH=. .venv/bin/python bench/backfill.py [--lines 1000000] [--in-scope 1.0] [--profile]

Generates (once, cached in bench/out/) a dump of Reddit submission lines in the full API
field set the replay server writes (~100 fields, ~2.5 KB a line, like Pushshift and Arctic
Shift lines), with generated text: words drawn by frequency from the replay corpus's own
vocabulary (which we wrote), product names and refusal words planted at set rates, 35% link
posts without text, 8% deleted or removed, a few truncated lines. ``--in-scope`` is the
share of lines in the paper plan's five subreddits: 1.0 is a per-subreddit export (Arctic
Shift), the hardest case because every line must be parsed; a monthly all-of-Reddit dump is
about 0.001.

Then, in the same run: ``zstd -dc FILE | wc -l`` (the floor: just decompressing and
counting lines; python-zstandard if the CLI is missing, said so), and the import of the file
with queries/paper.toml into a fresh warehouse, in a child process whose peak RSS is
measured. Prints lines/s, peak memory and the ratio to zstd. ``--profile`` prints where
the import's time goes (cProfile, top functions).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
PLAN = ROOT / "queries" / "paper.toml"
IN_SCOPE = ["CPTSD", "mentalhealth", "depression", "Anxiety", "bipolar"]
OTHER = ["AskReddit", "gaming", "pics", "news", "relationships", "personalfinance", "cooking", "running",
         "books", "movies", "Parenting", "college", "jobs", "lonely", "offmychest", "TrueOffMyChest",
         "ADHD", "socialanxiety", "selfimprovement", "therapy", "ChatGPT", "OpenAI", "technology", "Futurology",
         "ArtificialInteligence", "LocalLLaMA", "replika", "CharacterAI", "singularity", "productivity"]
PRODUCTS = ["ChatGPT", "chatgpt", "Claude", "Gemini", "Grok", "Copilot", "Bard", "GPT-4", "GPT-3", "OpenAI",
            "Anthropic", "Google AI", "Microsoft AI", "Perplexity", "Character.AI", "character ai", "Replika"]
REFUSALS = ["refused", "refuses", "denied", "rejected", "guardrails", "stopped working", "won't answer",
            "declined", "said it can't help"]
PRODUCT_RATE = 0.04  # posts mentioning a product
REFUSAL_RATE = 0.25  # of those, posts that also use a refusal word
GENERATOR_VERSION = 2


# -- generating ------------------------------------------------------------------------------
def _vocabulary() -> tuple[list[str], list[float]]:
    """Words of the replay corpus (ours) by frequency, without product names."""
    from collections import Counter

    from miner.plan.query import tokens
    from miner.replay.corpus import load_corpus

    banned = {t for p in PRODUCTS for t in tokens(p)} | {"gpt", "ai", "llm", "bot", "chatbot", "pi"}
    counts: Counter = Counter()
    corpus = load_corpus()
    for s in corpus.submissions:
        counts.update(tokens(f"{s.title} {s.selftext}"))
        for c in s.comments:
            counts.update(tokens(c.body))
    words = [w for w in counts if w not in banned and not w.isdigit()]
    return words, [counts[w] for w in words]


def generate(path: Path, lines: int, in_scope: float, seed: int = 4) -> None:
    import orjson
    import zstandard

    from miner.replay import wire
    from miner.replay.corpus import Submission, id36, username

    rng = random.Random(seed)
    words, weights = _vocabulary()

    def sentence(lo: int, hi: int) -> str:
        ws = rng.choices(words, weights, k=rng.randint(lo, hi))
        return " ".join(ws).capitalize() + rng.choice([".", ".", ".", "?", "!", "..."])

    titles = [sentence(4, 14).rstrip(".") for _ in range(40_000)]
    paragraphs = [" ".join(sentence(6, 22) for _ in range(rng.randint(1, 5))) for _ in range(30_000)]
    authors = [username(f"bench{i}") for i in range(50_000)]
    proto = Submission(key="proto", id36="0", subreddit="depression", title="t", selftext="", url="",
                       author="a", created_utc=1.6e9, score=1, upvote_ratio=0.9, subscribers=1000)
    created = 1_672_531_200.0  # 2023-01-01
    cctx = zstandard.ZstdCompressor(level=3, threads=2)
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as raw, cctx.stream_writer(raw) as out:
        for n in range(lines):
            if n and n % 997 == 0 and rng.random() < 0.05:  # a truncated line, now and then
                out.write(b'{"id":"' + id36(f"b{n}", "t3").encode() + b'","subreddit":"depression","title":"cut\n')
                continue
            sub = rng.choice(IN_SCOPE) if rng.random() < in_scope else rng.choice(OTHER)
            title = rng.choice(titles)
            body = "" if rng.random() < 0.35 else "\n\n".join(rng.sample(paragraphs, rng.randint(1, 4)))
            if rng.random() < PRODUCT_RATE:
                mention = f"{rng.choice(PRODUCTS)} " + (rng.choice(REFUSALS) if rng.random() < REFUSAL_RATE else "")
                if body and rng.random() < 0.7:
                    cut = rng.randint(0, len(body))
                    body = f"{body[:cut]} {mention} {body[cut:]}"
                else:
                    title = f"{title} {mention}"
            roll = rng.random()
            state = "deleted" if roll < 0.05 else "removed" if roll < 0.08 else "ok"
            created += rng.random() * 5
            proto.id36, proto.subreddit, proto.title, proto.selftext = id36(f"b{n}", "t3"), sub, title, body
            proto.author, proto.created_utc, proto.score, proto.state = rng.choice(authors), created, rng.randint(0, 500), state
            data = wire.t3(proto)
            data["retrieved_on"] = int(created) + 86_400
            out.write(orjson.dumps(data) + b"\n")
    tmp.rename(path)


# -- measuring -------------------------------------------------------------------------------
def baseline(path: Path) -> tuple[float, str]:
    """Seconds to decompress and count lines: the zstd CLI if present, else python-zstandard."""
    if shutil.which("zstd"):
        t = time.perf_counter()
        out = subprocess.run(["sh", "-c", f"zstd -dc '{path}' | wc -l"], check=True, capture_output=True, text=True)
        return time.perf_counter() - t, f"zstd -dc | wc -l ({out.stdout.strip()} lines)"
    import zstandard
    t = time.perf_counter()
    n = 0
    with path.open("rb") as fh:
        reader = zstandard.ZstdDecompressor(max_window_size=1 << 31).stream_reader(fh, read_across_frames=True)
        while chunk := reader.read(1 << 22):
            n += chunk.count(b"\n")
    return time.perf_counter() - t, f"python-zstandard decompress + count ({n} lines; zstd CLI not installed)"


def child(path: str, warehouse: str, profile: bool, workers: int | None, keep_all: bool) -> None:
    """Runs in a fresh process: the import alone, its time and its peak memory."""
    os.environ.setdefault("MINER_SECRET", "bench-secret")
    from miner.collect.archive import backfill
    from miner.plan.plan import load_plan

    plan = load_plan(PLAN)
    t = time.perf_counter()
    if profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        summary = prof.runcall(backfill, warehouse, plan, [path], workers=workers, keep_all=keep_all)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    else:
        summary = backfill(warehouse, plan, [path], workers=workers, keep_all=keep_all)
    seconds = time.perf_counter() - t
    tot = summary.totals
    print(json.dumps({"seconds": seconds, "lines": tot.lines, "matched": tot.matched, "hits": tot.hits,
                      "in_scope": tot.submissions + tot.comments, "quarantined": tot.quarantined,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "cpu_seconds": sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
                                         for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--in-scope", type=float, default=1.0)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--workers", type=int, default=None, help="scanning processes (default: the import's own choice)")
    ap.add_argument("--all", dest="keep_all", action="store_true", help="import with --all (keep every item)")
    ap.add_argument("--child", nargs=2, metavar=("DUMP", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, args.profile, args.workers, args.keep_all)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    dump = OUT / f"RS_bench_{args.lines}_{args.in_scope:g}_v{GENERATOR_VERSION}.zst"
    if not dump.exists():
        t = time.perf_counter()
        generate(dump, args.lines, args.in_scope)
        print(f"generated {dump.name} ({dump.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t:,.0f} s")
    floor, how = baseline(dump)
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, __file__, "--child", str(dump), f"{tmp}/bench.duckdb"]
                             + (["--profile"] if args.profile else [])
                             + (["--workers", str(args.workers)] if args.workers else [])
                             + (["--all"] if args.keep_all else []),
                             check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if args.profile:
        print(res.stderr)
    r = json.loads(res.stdout.strip().splitlines()[-1])
    rate = r["lines"] / r["seconds"]
    print(f"dump: {dump.name}, {r['lines']:,} lines, {r['in_scope']:,} in the plan's subreddits, "
          f"{r['matched']:,} matched ({r['hits']:,} hits), {r['quarantined']} quarantined")
    workers = f", each scanning worker {r['worker_peak_rss_mb']:,.0f} MiB (forked, shares pages with it)" \
        if r["worker_peak_rss_mb"] else ""
    print(f"import: {r['seconds']:.2f} s, {rate:,.0f} lines/s, peak RSS {r['peak_rss_mb']:,.0f} MiB{workers}")
    print(f"cpu:    {r['cpu_seconds']:.2f} s user+system, {r['lines'] / r['cpu_seconds']:,.0f} lines per CPU-second "
          f"(wall time includes waiting for a core on a shared machine)")
    print(f"floor:  {floor:.2f} s, {r['lines'] / floor:,.0f} lines/s [{how}]")
    print(f"ratio:  import / floor = {r['seconds'] / floor:.2f}x")


if __name__ == "__main__":
    main()
