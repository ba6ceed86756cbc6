"""Scanning one dump file on several cores.

Parsing and matching lines is CPU-bound Python, so one process tops out around one core.
Here n forked worker processes each read the whole file (decompressing is cheap next to
scanning, and cheaper than shipping gigabytes of lines through pipes) and scan every n-th
block of it (:func:`miner.collect.dumps.read_blocks` with ``every``/``phase``); the parent takes
their results back in block order and does all the writing, so checkpoints, transactions
and results are exactly those of a single-process import, and DuckDB's writes overlap with
the scanning.

Each worker decompresses the whole file, so this pays only where scanning costs more than
decompressing: files mostly in the plan's subreddits (the importer decides from the first
block; see ``ArchiveImporter._scanned``).

Workers are forked (they inherit the compiled plan, the Hyperscan database and the
pseudonymization key without pickling) and only ever touch the file, never the warehouse.
Where ``fork`` is unavailable the import runs in one process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from typing import Any, Iterator

from miner.collect.dumps import DumpError, DumpFile, read_blocks

MIN_BYTES = 32 << 20  # smaller files are scanned in-process: forking is not worth it


def default_workers(dump: DumpFile) -> int:
    """Worker processes ``dump`` may use: one per available core (at most 4) for big files."""
    if "fork" not in mp.get_all_start_methods() or dump.size < MIN_BYTES:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 4))


def scan_in_workers(importer: Any, dump: DumpFile, offset: int, line_no: int, workers: int,
                    chunk_size: int) -> Iterator[tuple[int, int, int, Any]]:
    """``(last line, end offset, bytes read, scanned batch)`` per block, in file order.

    ``importer`` has ``new_batch()`` and ``scan(dump, block, batch)``; raises
    :class:`~miner.collect.dumps.DumpError` where the file cannot be read on, after every block
    before that point.
    """
    ctx = mp.get_context("fork")
    queues = [ctx.Queue(maxsize=4) for _ in range(workers)]
    procs = [ctx.Process(target=_work, name=f"scan {dump.name} {k + 1}/{workers}", daemon=True,
                         args=(importer, dump, offset, line_no, chunk_size, workers, k, queues[k], os.getpid()))
             for k in range(workers)]
    for p in procs:
        p.start()
    try:
        i = 0
        while True:
            k = i % workers
            item = _get(queues[k], procs[k])
            if item[0] == "end":
                return
            if item[0] == "error":
                raise DumpError(item[1])
            yield item[1:]
            i += 1
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)
        for q in queues:
            q.cancel_join_thread()
            q.close()


def _get(q: Any, proc: Any) -> tuple:
    while True:
        try:
            return q.get(timeout=1.0)
        except queue.Empty:
            if not proc.is_alive():
                try:
                    return q.get(timeout=1.0)
                except queue.Empty:
                    raise DumpError(f"{proc.name}: the scanning process stopped (exit code {proc.exitcode})") \
                        from None


def _work(importer: Any, dump: DumpFile, offset: int, line_no: int, chunk_size: int, every: int, phase: int,
          out: Any, parent: int) -> None:
    def put(item: tuple) -> None:
        while True:
            try:
                out.put(item, timeout=1.0)
                return
            except queue.Full:
                if os.getppid() != parent:  # the import was killed: do not linger
                    os._exit(0)

    try:
        for block in read_blocks(dump, start_offset=offset, start_line=line_no, chunk_size=chunk_size,
                                 every=every, phase=phase):
            batch = importer.new_batch()
            importer.scan(dump, block, batch)
            put(("block", block.last_line_no, block.end_offset, block.read_bytes, batch))
        put(("end",))
    except DumpError as exc:
        put(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the file
        put(("error", f"{dump.path}: {type(exc).__name__}: {exc}"))
