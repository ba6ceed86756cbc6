"""The README's examples, run, so that the README cannot drift from what the tool does.

Every fenced ``sh`` or ``console`` block of README.md, and the demo's sample output, carries a
tag on the line before it saying how this test treats it:

- ``<!-- readme-test: run -->``: each command runs (``miner``/``.venv/bin/...`` as written)
  in a clone-like copy of the demo's directory (its warehouse, plans and saved queries), in
  order, and must exit 0; in a ``console`` block the lines after a ``$`` command are its
  expected output, each of which must appear in what the command printed (spacing and table
  borders aside);
- ``<!-- readme-test: skip REASON -->``: not run (credentials, a server that runs until
  Ctrl-C, placeholder ids, minutes of work); the reason says why and where it is tested;
- ``<!-- readme-test: demo-output -->``: the sample output of ``make demo``, compared line by
  line (run ids and seconds aside) with a real demo run (the session fixture ``demo_run``).

A failure names the README line and the command that drifted.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT, project_env

README = ROOT / "README.md"
TAG = re.compile(r"^<!--\s*readme-test:\s*(run|skip|demo-output)\b\s*(.*?)\s*-->\s*$")
CHECKED = ("sh", "console")


@dataclass
class Command:
    line: int  # README line of its first line
    text: str
    expected: list[tuple[int, str]] = field(default_factory=list)  # (README line, output line)


@dataclass
class Block:
    line: int  # README line of the opening fence
    lang: str
    tag: str | None
    reason: str
    lines: list[tuple[int, str]]

    def commands(self) -> list[Command]:
        """Logical commands: ``\\`` continuations and unclosed quotes joined, comments dropped."""
        out: list[Command] = []
        pending: Command | None = None
        for n, raw in self.lines:
            if pending is None:
                if self.lang == "console":
                    if not raw.startswith("$ "):
                        if out and raw.strip():
                            out[-1].expected.append((n, raw))
                        continue
                    raw = raw[2:]
                if not raw.strip() or raw.lstrip().startswith("#"):
                    continue
                pending = Command(n, raw)
            else:
                pending.text += "\n" + raw
            if pending.text.endswith("\\") or not _complete(pending.text):
                continue
            pending.text = _strip_comment(pending.text.replace("\\\n", " "))
            out.append(pending)
            pending = None
        return out


def _complete(cmd: str) -> bool:
    try:
        shlex.split(cmd, comments=True)
    except ValueError:  # "No closing quotation": the command goes on on the next line
        return False
    return True


def _strip_comment(cmd: str) -> str:
    # keep the original spelling (quotes, redirections); cut at the first unquoted "  #"
    in_quote = None
    for i, ch in enumerate(cmd):
        if in_quote:
            in_quote = None if ch == in_quote else in_quote
        elif ch in "'\"":
            in_quote = ch
        elif ch == "#" and (i == 0 or cmd[i - 1].isspace()):
            return cmd[:i].rstrip()
    return cmd.rstrip()


def parse_readme(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i + 1, m.group(1)
        prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        tag = TAG.match(prev.strip())
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append((i + 1, lines[i]))
            i += 1
        blocks.append(Block(start, lang, tag.group(1) if tag else None, tag.group(2) if tag else "", body))
        i += 1
    return blocks


BLOCKS = parse_readme(README.read_text(encoding="utf-8"))
RUN = [b for b in BLOCKS if b.tag == "run"]


def test_every_shell_block_says_how_it_is_tested():
    untagged = [f"README.md:{b.line}: a ```{b.lang} block without a '<!-- readme-test: run|skip REASON -->' line"
                for b in BLOCKS if b.lang in CHECKED and b.tag is None]
    unreasoned = [f"README.md:{b.line}: 'readme-test: skip' needs a reason" for b in BLOCKS
                  if b.tag == "skip" and not b.reason]
    assert not untagged + unreasoned, "\n".join(untagged + unreasoned)
    assert [b.tag for b in BLOCKS].count("demo-output") == 1, "README.md: tag the demo's sample output once"


def _cells(line: str) -> str:
    """A table row or message without borders, run ids, timings or spacing."""
    line = re.sub(r"[│┃┏┓┗┛┡┩└┘┳┻┴┬╇━─]", " ", line)
    line = re.sub(r"run_\d{8}T\d{6}_\w+", "RUN", line)
    line = re.sub(r"^(\s*[\w-]+\s+)\d+\.\d+(\s)", r"\1S\2", line)  # a process stage's seconds
    return " ".join(line.split())


def _demo_lines(text: str) -> list[str]:
    keep = []
    for raw in text.splitlines():
        c = _cells(raw)
        if c and not c.startswith(("miner sql", "stage seconds", "source stage n", "Process", "Funnel",
                                   "Loading weights", "Warehouse:", "See https")) \
                and not re.match(r"^\d\d:\d\d:\d\d\.\d+ \|", raw):
            keep.append(c)
    return keep


def test_the_demo_output_in_the_readme_is_what_make_demo_prints(demo_run):
    block = next(b for b in BLOCKS if b.tag == "demo-output")
    _, out = demo_run
    actual = _demo_lines(out)
    readme = [(n, _cells(line)) for n, line in block.lines if _demo_lines(line)]
    problems = [f"README.md:{n}: '{c}' is not what the demo prints" for n, c in readme if c not in actual]
    shown = {c for _, c in readme}
    problems += [f"README.md:{block.line}: the demo prints '{c}', which the README's sample output lacks"
                 for c in actual if c not in shown]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("block", RUN, ids=[f"README.md:{b.line}" for b in RUN])
def test_readme_commands_do_what_it_says(block, demo_run, tmp_path):
    demo_dir, _ = demo_run
    here = tmp_path / "clone"
    shutil.copytree(demo_dir, here, symlinks=True, ignore=shutil.ignore_patterns("*.lock", "*.wal"))
    for cmd in block.commands():
        done = subprocess.run(["bash", "-c", cmd.text], cwd=here, env=project_env(), capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, (f"README.md:{cmd.line}: `{cmd.text}` exited {done.returncode}:\n"
                                      f"{(done.stdout + done.stderr)[-1500:]}")
        printed = {_cells(line) for line in done.stdout.splitlines()}
        for n, want in cmd.expected:
            assert _cells(want) in printed, (f"README.md:{n}: `{cmd.text}` (line {cmd.line}) no longer prints "
                                             f"'{want.strip()}'; it printed:\n{done.stdout[-1500:]}")
