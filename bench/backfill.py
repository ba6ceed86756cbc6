"""Archive backfill speed: whole-process `miner import reddit-dump` against `zstd -dc | wc -l`.

    PYTHONPATH=. .venv/bin/python bench/backfill.py [--lines 1000000] [--in-scope 1.0] [--runs 3]
                                                     [--workers N] [--all] [--profile]

Generates (once, cached in bench/out/) a dump of Reddit submission lines in the full API
field set the replay server writes (~100 fields, ~2.5 KB a line, like Pushshift and Arctic
Shift lines), with generated text: words drawn by frequency from the replay corpus's own
vocabulary (which we wrote), product names and refusal words planted at set rates, 35% link
posts without text, 8% deleted or removed, a few truncated lines. ``--in-scope`` is the
share of lines in the paper plan's five subreddits: 1.0 is a per-subreddit export (Arctic
Shift), the hardest case because every line must be parsed; a monthly all-of-Reddit dump is
about 0.001.

Then ``--runs`` rounds, each of two separate processes timed from outside, start-up
included: A, the CLI a user runs (``python -m miner import reddit-dump DUMP --plan
queries/paper.toml`` into a fresh warehouse), then B, the floor (``zstd -dc DUMP | wc -l``:
decompressing and counting lines; python-zstandard in a child process if the CLI is
missing, said so). Alternating A and B, and taking the ratio pair by pair, keeps the ratio
meaningful on a shared machine whose speed drifts. Prints, for both, the median (and range)
of wall seconds, lines/s, CPU seconds and peak RSS, and the median ratio A/B.
``--profile`` instead runs the import once in-process under cProfile and prints where its
time goes (top functions).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
@dataclass
class Run:
    wall: float  # seconds, from the process's start to its exit
    cpu: float  # user + system seconds of the process and everything it waited for
    peak_mb: float  # the largest resident set among them


def timed(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` as a process of its own and measure it from outside (os.wait4's rusage)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{err[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def floor_command(path: Path) -> tuple[list[str], str]:
    """``zstd -dc | wc -l`` if the zstd CLI is there, else python-zstandard in a child process."""
    if shutil.which("zstd"):
        return ["sh", "-c", f"zstd -dc '{path}' | wc -l"], "zstd -dc | wc -l"
    code = ("import sys, zstandard; n = 0; r = zstandard.ZstdDecompressor(max_window_size=1 << 31)"
            ".stream_reader(open(sys.argv[1], 'rb'), read_across_frames=True)\n"
            "while c := r.read(1 << 22): n += c.count(b'\\n')\nprint(n)")
    return [sys.executable, "-c", code, str(path)], "python-zstandard decompress + count (zstd CLI not installed)"


def import_command(path: Path, warehouse: Path, workers: int | None, keep_all: bool) -> list[str]:
    return ([sys.executable, "-m", "miner", "import", "reddit-dump", str(path), "--plan", str(PLAN),
             "--warehouse", str(warehouse)] + (["--workers", str(workers)] if workers else [])
            + (["--all"] if keep_all else []))


def imported(warehouse: Path) -> dict:
    """What the import did, from its warehouse (the CLI's own counters)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        lines, in_scope, matched, hits, quarantined = con.execute(
            "SELECT sum(lines), sum(submissions + comments), sum(matched), sum(hits), sum(quarantined) "
            "FROM archive_imports").fetchone()
    finally:
        con.close()
    return {"lines": lines, "in_scope": in_scope, "matched": matched, "hits": hits, "quarantined": quarantined}


def profile(path: Path, workers: int | None, keep_all: bool) -> None:
    """The import in this process under cProfile: where its time goes."""
    import cProfile
    import pstats

    os.environ.setdefault("MINER_SECRET", "bench-secret")
    from miner.collect.archive import backfill
    from miner.plan.plan import load_plan

    with tempfile.TemporaryDirectory() as tmp:
        prof = cProfile.Profile()
        prof.runcall(backfill, f"{tmp}/bench.duckdb", load_plan(PLAN), [path], workers=workers, keep_all=keep_all)
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def _spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} (range {format(min(values), fmt)}-{format(max(values), fmt)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--in-scope", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3, help="rounds of (import, zstd) in turn")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--workers", type=int, default=None, help="scanning processes (default: the import's own choice)")
    ap.add_argument("--all", dest="keep_all", action="store_true", help="import with --all (keep every item)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dump = OUT / f"RS_bench_{args.lines}_{args.in_scope:g}_v{GENERATOR_VERSION}.zst"
    if not dump.exists():
        t = time.perf_counter()
        generate(dump, args.lines, args.in_scope)
        print(f"generated {dump.name} ({dump.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t:,.0f} s")
    if args.profile:
        profile(dump, args.workers, args.keep_all)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINER_SECRET": os.environ.get("MINER_SECRET", "bench-secret")}
    floor_cmd, how = floor_command(dump)
    a: list[Run] = []
    b: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            warehouse = Path(tmp) / f"bench{i}.duckdb"
            a.append(timed(import_command(dump, warehouse, args.workers, args.keep_all), env))
            b.append(timed(floor_cmd))
        r = imported(warehouse)
    lines = r["lines"]
    print(f"dump: {dump.name}, {dump.stat().st_size / 2**20:,.0f} MiB, {lines:,} lines, {r['in_scope']:,} in the "
          f"plan's subreddits, {r['matched']:,} matched ({r['hits']:,} hits), {r['quarantined']} quarantined")
    print(f"{args.runs} rounds, each: A then B, separate processes, timed from start to exit; median (range)")
    for name, runs in ((f"A miner import reddit-dump{' --all' if args.keep_all else ''}"
                        f"{f' --workers {args.workers}' if args.workers else ''}", a), (f"B {how}", b)):
        print(f"{name}:")
        print(f"  wall {_spread([x.wall for x in runs], '.2f')} s, "
              f"{_spread([lines / x.wall for x in runs], ',.0f')} lines/s")
        print(f"  cpu  {_spread([x.cpu for x in runs], '.2f')} s user+system, peak RSS "
              f"{_spread([x.peak_mb for x in runs], ',.0f')} MiB")
    print(f"ratio A/B (wall, pair by pair): {_spread([x.wall / y.wall for x, y in zip(a, b)], '.2f')}x")


if __name__ == "__main__":
    main()
