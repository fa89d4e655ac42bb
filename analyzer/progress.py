"""A progress line on stderr for long runs on a terminal: bytes read, MB/s and, when the
inputs' sizes say it, the share done and the time left. Never on a pipe, in CI or in a dumb
terminal (unless asked for with --progress), and only once a run has taken a second."""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from analyzer.sources import Coverage, Source

MB = 1 << 20
DELAY_S = 1.0  # a run shorter than this shows nothing
EVERY_S = 0.5


def wanted(choice: bool | None, stream: TextIO | None = None) -> bool:
    """--progress / --no-progress, or by default: stderr is a terminal, not dumb, not CI."""
    if choice is not None:
        return choice
    stream = stream if stream is not None else sys.stderr
    try:
        terminal = stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        terminal = False
    return terminal and os.environ.get("TERM") != "dumb" and not os.environ.get("CI")


def total_bytes(sources: list[Source]) -> int | None:
    """What there is to read: the regular files' sizes past where a --state run resumes; None
    when an input is a stream (its size is unknown)."""
    total = 0
    for source in sources:
        if source.name == "-":
            return None
        try:
            info = os.stat(source.name)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        total += max(info.st_size - source.start, 0)
    return total


def line(read: int, total: int | None, seconds: float) -> str:
    """`312 MB of 1024 MB (30%) · 142 MB/s · 5 s left` (share and time left when known)."""
    rate = read / MB / seconds if seconds > 0 else 0.0
    if total and read == total:  # read ahead of the analysis: what is left is the analysis
        return f"bnlog: read {read / MB:,.0f} MB (100%) · analysing the events"
    parts = [f"bnlog: read {read / MB:,.0f} MB"]
    # Compressed files give more bytes than their size: then the share is unknown.
    if total and read <= total:
        parts[0] += f" of {total / MB:,.0f} MB ({100 * read // total}%)"
    parts.append(f"{rate:,.0f} MB/s")
    if total and read <= total and rate > 0:
        parts.append(f"{(total - read) / MB / rate:,.0f} s left")
    return " · ".join(parts)


@contextmanager
def shown(
    coverage: Coverage, total: int | None, enabled: bool, stream: TextIO | None = None
) -> Iterator[None]:
    """Show the progress of reading into `coverage` while the block runs; clear it after."""
    if not enabled:
        yield
        return
    out = stream if stream is not None else sys.stderr
    stop = threading.Event()
    start = time.monotonic()
    width = [0]

    def show() -> None:
        if stop.wait(DELAY_S):
            return
        while True:
            text = line(coverage.bytes, total, time.monotonic() - start)
            out.write("\r" + text.ljust(width[0]))
            out.flush()
            width[0] = len(text)
            if stop.wait(EVERY_S):
                return

    thread = threading.Thread(target=show, name="bnlog-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if width[0]:
            out.write("\r" + " " * width[0] + "\r")
            out.flush()
