"""Dump files (Pushshift monthly dumps, Arctic Shift exports) read as a stream of lines.

A dump is NDJSON, one Reddit object a line, usually zstandard-compressed and often tens of
gigabytes, so nothing here holds more than a few chunks in memory. Three things make an
import resumable and fast:

* **Identity.** A file is known by a fingerprint of its size and its first and last MiB,
  not by its path: a dump moved or re-downloaded is still the same file, and a checkpoint
  follows it.
* **Offsets.** Lines come in blocks that end on a newline, each with the byte offset (in the
  decompressed stream) just after its last line. A checkpoint stores that offset; resuming
  seeks there (plain files) or decompresses up to it and discards (zstd cannot seek, but
  decompressing is ~20x faster than parsing, so this costs little).
* **Two cores.** Decompression and file reads run in a background thread (zstandard and
  file reads release the GIL) while the caller parses, so the second core is not idle.

Pushshift dumps use zstd's long window (up to 2 GiB), which the decompressor must allow.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

import orjson
import zstandard

from miner.core.errors import MinerError

SUFFIXES = {".zst": "zstd", ".ndjson": "plain", ".jsonl": "plain"}
FINGERPRINT_SPAN = 1 << 20  # bytes read from each end of the file
CHUNK = 4 << 20  # decompressed bytes per read
MAX_LINE = 16 << 20  # a line longer than this is no Reddit object: kept as its head, quarantined as too long
HEAD = 64 << 10  # bytes kept of such a line (enough for its quarantine excerpt)
ZSTD_MAX_WINDOW = 1 << 31  # Pushshift dumps are written with --long=31


class DumpError(MinerError):
    """The file cannot be read as a dump (missing, wrong kind, corrupt compression)."""


@dataclass(frozen=True)
class DumpFile:
    path: Path
    size: int
    compression: str  # zstd | plain
    file_id: str  # f_ + sha256(size, first MiB, last MiB)[:16]

    @property
    def name(self) -> str:
        return self.path.name


def open_dump(path: str | Path) -> DumpFile:
    """Check that ``path`` is a readable dump and fingerprint it."""
    path = Path(path)
    compression = SUFFIXES.get(path.suffix.lower())
    if compression is None:
        raise DumpError(f"{path}: not a dump file (expected .zst, .ndjson or .jsonl)")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            h = hashlib.sha256(str(size).encode())
            h.update(fh.read(FINGERPRINT_SPAN))
            if size > FINGERPRINT_SPAN:
                fh.seek(max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN))
                h.update(fh.read(FINGERPRINT_SPAN))
    except FileNotFoundError:
        raise DumpError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DumpError(f"{path}: is a directory, not a dump file") from None
    except OSError as exc:
        raise DumpError(f"{path}: cannot read: {exc.strerror}") from None
    return DumpFile(path, size, compression, "f_" + h.hexdigest()[:16])


@dataclass
class Block:
    """Complete lines (without their newline) and where they sit in the decompressed stream."""

    lines: list[bytes]
    first_line_no: int  # 1-based number of lines[0] in the file
    start_offset: int  # offset of lines[0]
    end_offset: int  # offset just after the last line's newline: where a resume starts
    read_bytes: int  # bytes of the file itself (compressed) read so far, for progress
    index: int = 0  # the block's number in this read (0-based)
    # lines[i] -> length in bytes of the whole line, for lines longer than ``max_line``:
    # those are only their first HEAD (at most max_line) bytes here (a dump line is never that long; holding
    # a runaway one would cost memory for nothing but its quarantine excerpt).
    cut: dict[int, int] = field(default_factory=dict)

    @property
    def last_line_no(self) -> int:
        return self.first_line_no + len(self.lines) - 1

    def offset(self, i: int) -> int:
        """Decompressed byte offset of lines[i] (cut lines count at their full length)."""
        return self.start_offset + sum(self.length(j) + 1 for j in range(i))

    def length(self, i: int) -> int:
        """Bytes of lines[i] in the file (more than ``len(lines[i])`` if the line was cut)."""
        return self.cut.get(i, len(self.lines[i]))


def read_blocks(dump: DumpFile, *, start_offset: int = 0, start_line: int = 0, chunk_size: int = CHUNK,
                every: int = 1, phase: int = 0, max_line: int = MAX_LINE) -> Iterator[Block]:
    """Blocks of complete lines from ``start_offset`` (a previous block's ``end_offset``) on.

    ``start_line`` is the number of lines before that offset, so line numbers continue.
    With ``every=n, phase=k`` only blocks whose index is k modulo n are split and yielded
    (the others are only counted): n readers of one file share its lines between them, each
    block exactly once, with the same boundaries as a single reader.
    A line longer than ``max_line`` bytes stays one line, kept only as its head (see
    :attr:`Block.cut`): its rest is read and dropped up to its newline, so line numbers and
    offsets after it stay right.
    Raises :class:`DumpError` naming the file and offset if the compressed data is corrupt.
    """
    chunks: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    reader = threading.Thread(target=_produce, args=(dump, start_offset, chunk_size, chunks, stop),
                              name=f"dump-reader {dump.name}", daemon=True)
    reader.start()
    head = min(HEAD, max_line)
    carry = b""  # the start of a line that goes on in a later chunk
    cut = 0  # if the carried line is over max_line: its length so far (carry holds its head)
    buf_start = start_offset  # decompressed offset of carry[0]
    line_no = start_line
    read_bytes = 0
    index = 0
    try:
        while True:
            item = chunks.get()
            if isinstance(item, BaseException):
                raise DumpError(f"{dump.path}: cannot read past decompressed byte {buf_start + (cut or len(carry))}: "
                                f"{item}") from None
            if item is None:
                break
            data, read_bytes = item
            carried = cut or len(carry)
            mine = index % every == phase
            if mine:
                lines = data.split(b"\n")  # the one copy: no concatenating or slicing of chunks
                tail = lines.pop()  # after the chunk's last newline: the start of a later line
                count = len(lines)
            else:
                count = data.count(b"\n")
                tail = data[data.rfind(b"\n") + 1:] if count else data
            if not count:  # no newline in this chunk
                if cut:
                    cut += len(data)
                else:
                    carry += tail
                    if len(carry) > max_line:  # a runaway line: keep its head, count the rest
                        cut, carry = len(carry), carry[:head]
                continue
            end = buf_start + carried + len(data) - len(tail)
            if mine:
                marks: dict[int, int] = {}
                if cut:
                    marks[0] = cut + len(lines[0])
                    lines[0] = carry
                elif carry:
                    lines[0] = carry + lines[0]
                if carried + len(data) > max_line:  # only then can a line here be too long
                    _cut_long(lines, marks, max_line, head)
                yield Block(lines, line_no + 1, buf_start, end, read_bytes, index, marks)
            line_no += count
            buf_start, carry, cut, index = end, tail, 0, index + 1
        if (carry or cut) and index % every == phase:  # the last line has no newline
            marks = {0: cut} if cut else {}
            lines = [carry]
            _cut_long(lines, marks, max_line, head)
            yield Block(lines, line_no + 1, buf_start, buf_start + (cut or len(carry)), read_bytes, index, marks)
    finally:
        stop.set()
        while reader.is_alive():  # unblock a producer waiting on a full queue
            try:
                chunks.get(timeout=0.05)
            except queue.Empty:
                pass


def _cut_long(lines: list[bytes], marks: dict[int, int], max_line: int, head: int) -> None:
    """Replace every line over ``max_line`` bytes by its first ``head`` bytes, noting its
    length in ``marks``."""
    for i, line in enumerate(lines):
        if len(line) > max_line and i not in marks:
            marks[i] = len(line)
            lines[i] = line[:head]


def _produce(dump: DumpFile, start_offset: int, chunk_size: int, out: queue.Queue, stop: threading.Event) -> None:
    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        with dump.path.open("rb") as raw:
            if dump.compression == "zstd":
                chunks = _zstd_chunks(raw, chunk_size)
                skip = start_offset  # zstd cannot seek: decompress up to the checkpoint
            else:
                raw.seek(start_offset)
                chunks = iter(lambda: raw.read(chunk_size), b"")
                skip = 0
            for data in chunks:
                if skip:
                    if len(data) <= skip:
                        skip -= len(data)
                        continue
                    data, skip = data[skip:], 0
                if stop.is_set() or not put((data, raw.tell())):
                    return
        put(None)
    except BaseException as exc:  # handed to the consumer, which raises it with the file's name
        put(exc)


def _zstd_chunks(raw: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    """Decompressed chunks of every frame in turn; raises if the data ends inside a frame.

    (python-zstandard's ``stream_reader`` treats a truncated frame as the end of the data,
    which would make a half-downloaded dump look complete.)
    """
    dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    dobj = dctx.decompressobj()
    in_frame = False
    read_size = max(1, min(chunk_size, 1 << 18))  # compressed bytes per step: bounds each output
    while data := raw.read(read_size):
        while data:
            in_frame = True
            piece = dobj.decompress(data)
            if piece:
                yield piece
            if not dobj.eof:
                break
            data, dobj, in_frame = dobj.unused_data, dctx.decompressobj(), False  # the next frame
    if in_frame:
        raise zstandard.ZstdError("the compressed data ends inside a frame (truncated download?)")


def write_dump(path: str | Path, items: Iterable[dict | bytes | str]) -> Path:
    """Write items as NDJSON (zstd-compressed for ``.zst``): dicts as JSON, bytes/str as given.

    For tests, benches and fixtures: a line given as text is written verbatim, which is how
    a malformed line gets into a test dump.
    """
    path = Path(path)
    with path.open("wb") as raw:
        writer: Any = raw
        closing: Any = contextlib.nullcontext()
        if path.suffix.lower() == ".zst":
            writer = closing = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        with closing:
            for item in items:
                if isinstance(item, dict):
                    line = orjson.dumps(item)
                else:
                    line = item.encode() if isinstance(item, str) else item
                writer.write(line + b"\n")
    return path
