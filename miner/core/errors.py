"""Errors a user can act on. The CLI prints their message on one line and exits 2."""

from __future__ import annotations

from pathlib import Path


class MinerError(Exception):
    """A problem with the user's input or setup: bad plan, missing credentials, bad SQL."""


class FileProblem(MinerError):
    """A user's file cannot be read as text; ``problem`` is the message without the path."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def read_text(path: str | Path, what: str = "") -> str:
    """A file the user gave us (plan, labels, SQL, narrative), decoded as UTF-8.

    Why not ``Path.read_text``: its UnicodeDecodeError names neither the file nor the line,
    and comes out as a traceback. ``what`` names the file in the message ("cannot read labels").
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FileProblem(path, f"cannot read{' ' + what if what else ''}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # saved as UTF-16 or Latin-1, say
        line = raw.count(b"\n", 0, exc.start) + 1
        raise FileProblem(path, f"not UTF-8 text (byte {exc.start}, line {line}); save it as UTF-8") from None
