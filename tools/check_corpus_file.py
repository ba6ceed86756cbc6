"""Check one hand-written replay corpus file and its truth file (see miner/replay/corpus/FORMAT.md).

Usage: python tools/check_corpus_file.py miner/replay/corpus/reddit/NAME.toml
"""
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

PII = re.compile(r"\{\{(\w+):([^{}]+)\}\}")
PII_TYPES = {"name", "email", "phone", "city", "handle", "age", "date", "employer", "school", "url"}
FORMS = {"hard_refusal", "soft_redirect", "resource_referral", "content_flag", "persona_change", "stopped_responding"}
CONTEXTS = {"psychotherapy", "companionship", "coaching", "interpersonal_advice", "crisis"}
REASONS = {"human_refusal", "ai_refusal_outside_support", "no_refusal", "not_first_hand", "off_topic", "duplicate"}

path = Path(sys.argv[1])
data = tomllib.loads(path.read_text())
truth_path = path.parent.parent.parent / "truth" / path.name
truth = tomllib.loads(truth_path.read_text()) if truth_path.exists() else {}
keys, problems, texts = [], [], []
for t in data.get("thread", []):
    keys.append(t["key"])
    for f in ("subreddit", "date", "title", "body"):
        if f not in t:
            problems.append(f"{t['key']}: missing {f}")
    texts += [t.get("title", ""), t.get("body", "")]
    ck = set()
    for c in t.get("comments", []):
        keys.append(c["key"]); ck.add(c["key"])
        texts.append(c.get("body", ""))
        if c.get("reply_to") and c["reply_to"] not in ck:
            problems.append(f"{c['key']}: reply_to {c['reply_to']} is not an earlier comment of the thread")
for a in data.get("article", []):
    keys.append(a["key"])
    for f in ("outlet", "published", "url", "title", "description", "body"):
        if f not in a:
            problems.append(f"{a['key']}: missing {f}")
    texts += [a.get("title", ""), a.get("description", ""), a.get("body", "")]
dup = [k for k, n in Counter(keys).items() if n > 1]
if dup:
    problems.append(f"duplicate keys: {dup}")
pii = Counter()
for text in texts:
    for m in PII.finditer(text):
        if m.group(1) not in PII_TYPES:
            problems.append(f"unknown PII type {m.group(1)!r}")
        pii[m.group(1)] += 1
    if "{{" in PII.sub("", text) or "}}" in PII.sub("", text):
        problems.append(f"unbalanced PII markup near: {text[:60]!r}")
labels = Counter()
incidents = set()
for k, v in truth.items():
    if k not in keys:
        problems.append(f"truth key {k} has no item")
    labels[v.get("label")] += 1
    if v.get("label") == "incident":
        incidents.add(v.get("incident"))
        if v.get("context") not in CONTEXTS:
            problems.append(f"{k}: context {v.get('context')!r}")
        if not v.get("form") or set(v["form"]) - FORMS:
            problems.append(f"{k}: form {v.get('form')!r}")
    elif v.get("label") == "not" and v.get("reason") not in REASONS:
        problems.append(f"{k}: reason {v.get('reason')!r}")
words = sum(len(t.split()) for t in texts)
print(f"{path}: {len(keys)} items, {words} words, labels {dict(labels)}, "
      f"{len(incidents)} distinct incidents, PII {dict(pii)}")
for p in problems:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
