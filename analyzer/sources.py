"""Inputs: files, directories, globs, stdin → chunks of whole lines, with coverage stats.

Opening and sniffing one input (compression, encoding, line ends, binaries) is analyzer.streams.
"""

from __future__ import annotations

import glob
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from queue import Empty, Full, Queue
from threading import Event, Thread
from typing import TypeVar

import polars as pl

from analyzer.errors import InputError
from analyzer.options import DEFAULT_MAX_LINE_BYTES as DEFAULT_MAX_LINE_BYTES  # re-exported
from analyzer.streams import DecompressError, Opened, Stream, open_input

T = TypeVar("T")
# Bytes read at a time. On a 1 GB log, 8 MiB ran as fast as 16 MiB (within run-to-run noise)
# with a peak about 60 MB lower (430-445 MB against 491-500 MB): fewer lines in flight.
CHUNK_BYTES = 8 << 20
STDIN = "-"
WAIT_STEP = 0.05  # seconds the main thread waits for the reader before it looks at signals


@dataclass
class Coverage:
    """What was read and what could not be: every skip is counted and explained."""

    files: int = 0
    lines: int = 0
    bytes: int = 0
    skipped_lines: int = 0  # lines dropped or cut: over --max-line-bytes, unreadable tails
    repaired_lines: int = 0  # lines with invalid UTF-8, decoded lossily (events kept)
    warnings: list[str] = field(default_factory=list)
    resumed: int = 0  # files continued from where an earlier run (--state) stopped
    unreadable: int = 0  # inputs not read, or not to their end: the report is incomplete
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # name: (bytes, lines) read
    first_ts: datetime | None = None  # earliest time on any line read (sampled per batch)
    last_ts: datetime | None = None  # latest time on any line read (sampled per batch)

    def saw_times(self, first: datetime | None, last: datetime | None) -> None:
        """Widen the log's time span with a batch's earliest and latest line times."""
        if first is not None:
            self.first_ts = first if self.first_ts is None else min(self.first_ts, first)
        if last is not None:
            self.last_ts = last if self.last_ts is None else max(self.last_ts, last)

    def warn(self, message: str) -> None:
        """Record a non-fatal problem; the CLI prints these on stderr and the report counts them."""
        self.warnings.append(printable(message))

    def skip(self, message: str) -> None:
        """Record an input that could not be read (or not to its end), with the reason."""
        self.unreadable += 1
        self.warn(message)


def printable(text: str) -> str:
    """`text` safe to print and to store in polars: a file name's bytes that are not UTF-8 (which
    Python carries as lone surrogates) shown as \\xNN escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Source:
    """One input to read: a path on disk, or stdin."""

    name: str  # as shown in evidence lines
    start: int = 0  # bytes of the (decompressed) stream already analysed by an earlier run
    first_line: int = 1  # the number of the first line read (after `start`)
    hold_partial: bool = False  # leave an unfinished last line for the next run (--state)
    opener: str | None = None  # opened instead of `name` (--state pins a file: /proc/self/fd/N)

    def open(self) -> Stream:
        """Open for binary reading: decompressed, transcoded to UTF-8, CR line ends as LF."""
        return self.opened().stream

    def opened(self) -> Opened:
        """The stream, and what sniffing its start found (notes, whether it is binary)."""
        return open_input(self.opener or self.name, stdin=self.name == STDIN)


Identity = tuple[int, int] | str  # (device, inode), or a name when there is none


def expand(paths: list[str], coverage: Coverage) -> list[Source]:
    """Turn user-named paths (files, directories, globs, '-') into sorted, de-duplicated sources.

    A file reached twice (named again, a hard link, a symlink, named and inside a named
    directory) is read once, where it was first reached. A path the user named that does not
    exist or cannot be read (a file) or listed (a directory) is an InputError; a problem with a
    file found inside a directory or by a glob (unreadable, a symlink loop, a FIFO) is a warning
    and the file is skipped. A FIFO, device or /dev/fd/N named directly is read.
    """
    found: list[Source] = []
    seen: set[Identity] = set()

    def add(name: str, identity: Identity) -> None:
        if identity not in seen:
            seen.add(identity)
            found.append(Source(name))

    for raw in paths:
        if raw == STDIN:
            add(STDIN, _stdin_identity())
            continue
        if any(ch in raw for ch in "*?[") and not os.path.lexists(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                raise InputError(f"{printable(raw)}: no file matches this pattern")
            for match in matches:
                if os.path.isdir(match):
                    _walk(match, add, coverage)
                else:
                    _add_found(match, add, coverage)
            continue
        try:
            info = os.stat(raw)
        except FileNotFoundError:
            raise InputError(f"{printable(raw)}: no such file or directory") from None
        except OSError as exc:
            raise InputError(f"{printable(raw)}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            _walk(raw, add, coverage)
        elif not os.access(raw, os.R_OK):
            raise InputError(f"{printable(raw)}: permission denied")
        else:
            add(raw, (info.st_dev, info.st_ino))
    return found


def _stdin_identity() -> Identity:
    """What stdin is (so `- /dev/stdin` or `- bot.log < bot.log` read it once)."""
    if sys.stdin is None:
        raise InputError("-: stdin is closed (nothing to read)")
    try:
        info = os.fstat(0)
    except OSError:
        return STDIN  # replaced in-process (tests): nothing to compare with
    return (info.st_dev, info.st_ino)


def _add_found(path: str, add: Callable[[str, Identity], None], coverage: Coverage) -> None:
    """Add a file found in a directory or by a glob: only a readable regular file; else warn."""
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        coverage.skip(f"{path}: not a regular file (broken link?), skipped")
    elif not os.access(path, os.R_OK):
        coverage.skip(f"{path}: permission denied, skipped")
    else:
        add(path, (info.st_dev, info.st_ino))


def _walk(top: str, add: Callable[[str, Identity], None], coverage: Coverage) -> None:
    """Add every readable regular file below `top` in sorted order; warn about the rest.

    Hidden files and directories (.git, .venv) and Markdown files are passed over. A symlink
    is followed only when it points inside the tree (`top`, resolved). `top` itself must be
    listable (InputError); a subdirectory that is not is warned about and skipped.
    Depth first, a directory's files before its subdirectories (os.walk's order), but with a
    stack: os.walk recurses in Python 3.11, and a directory nested 1,000 deep would overflow it.
    """
    root = os.path.realpath(top)
    visited: set[tuple[int, int]] = set()  # (device, inode): realpath costs O(depth) per call
    stack = [top]
    named = True  # the first directory listed is `top`, named by the user
    while stack:
        dirpath = stack.pop()
        named, is_top = False, named
        try:
            info = os.stat(dirpath)
            if (info.st_dev, info.st_ino) in visited:
                coverage.warn(f"{dirpath}: symlink loop, not followed")
                continue
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(dirpath) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            if is_top:
                raise InputError(
                    f"{printable(top)}: cannot list this directory ({exc.strerror or exc})"
                ) from None
            coverage.skip(f"{dirpath}: cannot list ({exc.strerror or exc}), skipped")
            continue
        subdirs: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and not _inside(root, entry.path):
                coverage.warn(f"{entry.path}: symlink out of {top}, not followed")
                continue
            try:
                is_dir = entry.is_dir()  # an inside link to a directory is followed
            except OSError:  # a link to itself (ELOOP): not a directory, warned about below
                is_dir = False
            if is_dir:
                subdirs.append(entry.path)
            elif not entry.name.endswith(".md"):
                _add_found(entry.path, add, coverage)
        stack.extend(reversed(subdirs))


def _inside(root: str, path: str) -> bool:
    """`path` resolves to `root` or below it."""
    target = os.path.realpath(path)
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def read_chunks(
    source: Source,
    coverage: Coverage,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    max_line_bytes: int | None = None,
) -> Iterator[bytes]:
    """Yield the source as chunks of complete lines (each ending in b"\\n" except maybe the last).

    The source is read `chunk_bytes` at a time. A truncated or corrupt compressed stream yields
    what was read and records a warning. A line that is still unfinished after more than
    `max_line_bytes` (default: the chunk size) is cut there and the rest of it skipped; it is
    truncated further, and counted, when lines are made. So a line is never cut silently: the
    limit the user chose decides, not the chunk size. A source that is not text (an archive,
    an image, random bytes) is skipped with a warning that names it.
    """
    limit = chunk_bytes if max_line_bytes is None else max(chunk_bytes, max_line_bytes + 1)
    try:
        opened = source.opened()
    except OSError as exc:
        coverage.skip(f"{source.name}: cannot open ({exc.strerror or exc}), skipped")
        return
    for note in opened.notes:
        coverage.warn(f"{source.name}: {note}")
    stream = opened.stream
    if opened.binary is not None:
        stream.close()
        coverage.skip(f"{source.name}: not a text log ({opened.binary}), skipped")
        return
    coverage.files += 1
    carry = bytearray()  # the unfinished last line (appended to in place: no quadratic copies)
    first = source.start == 0
    hole = False  # still in NUL bytes at the start of the stream
    nuls = 0
    broken = False
    bom = False
    read_before = coverage.bytes
    lines = 0
    if source.start and not stream.skip(source.start):
        coverage.warn(f"{source.name}: shorter than at the last run; read from the start")
        stream.close()
        stream = source.open()
        first = True
        source = Source(source.name, hold_partial=source.hold_partial, opener=source.opener)
    try:
        while True:
            # The first read takes at least 3 bytes, so that a BOM is seen whole.
            size = max(chunk_bytes, 3) if first else chunk_bytes
            block, problem = (b"", None) if broken else _read_block(stream, size)
            if problem:
                broken = True
                coverage.skip(f"{source.name}: {problem}; analysed what could be read")
            if first:
                first = False
                hole = source.start == 0
                if block.startswith(b"\xef\xbb\xbf"):
                    block, bom = block[3:], True
            if hole and block:
                # NULs at the very start: the hole log rotation by copytruncate leaves when the
                # bot keeps writing at its old offset. Passed over (and counted as read), so
                # that the first line after them is seen as it was written.
                body = block.lstrip(b"\x00")
                coverage.bytes += len(block) - len(body)
                nuls += len(block) - len(body)
                if not body:
                    continue
                block, hole = body, False
                if nuls:
                    coverage.warn(f"{source.name}: starts with {nuls} NUL bytes, passed over")
            coverage.bytes += len(block)
            if not block:
                if hole and nuls:
                    coverage.warn(f"{source.name}: holds only {nuls} NUL bytes")
                if carry and not source.hold_partial:
                    yield bytes(carry)
                    lines += 1
                    carry = bytearray()
                read = coverage.bytes - read_before + (3 if bom else 0)
                coverage.positions[source.name] = (
                    source.start + read - len(carry),
                    source.first_line - 1 + lines,
                )
                return
            cut = block.rfind(b"\n")
            if cut < 0:
                carry += block
                if len(carry) > limit:
                    # One line longer than the limit: emit its head, drop the rest of it.
                    yield bytes(carry[:limit]) + b"\n"
                    lines += 1
                    carry = bytearray(_skip_to_newline(stream, coverage))
                continue
            piece = bytes(carry) + block[: cut + 1]
            lines += piece.count(b"\n")
            yield piece
            carry = bytearray(block[cut + 1 :])
    finally:
        stream.close()


def _read_block(stream: Stream, size: int) -> tuple[bytes, str | None]:
    """Up to `size` bytes, and what went wrong if the stream failed (what came before the
    failure was returned by the previous read)."""
    try:
        return stream.read(size), None
    except DecompressError as exc:
        return b"", f"compressed data is corrupt or truncated ({exc})"
    except OSError as exc:
        return b"", f"read error ({exc.strerror or exc})"


def prefetch(chunks: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Produce the next item (read, decompress, split into lines) in a background thread while
    this one is analysed.

    At most `depth` chunks wait in the queue, so memory stays bounded. polars releases the GIL
    while it works, so reading and analysing overlap on two cores. This thread waits in short
    steps: a signal may be delivered to any thread, and only this one (the main thread) runs
    Python's handlers, so Ctrl-C stops a run whose reader is blocked on a FIFO or a device.
    When the consumer stops early, the reader stops at its next item.
    """
    done = object()
    queue: Queue[object] = Queue(maxsize=depth)
    failure: list[BaseException] = []
    stopping = Event()

    def put(item: object) -> None:
        while not stopping.is_set():
            try:
                queue.put(item, timeout=WAIT_STEP)
                return
            except Full:
                continue

    def pump() -> None:
        try:
            for chunk in chunks:
                put(chunk)
                if stopping.is_set():
                    return
        except BaseException as exc:  # re-raised in the consumer thread below
            failure.append(exc)
        finally:
            put(done)

    thread = Thread(target=pump, name="bnlog-reader", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = queue.get(timeout=WAIT_STEP)
            except Empty:
                continue
            if item is done:
                break
            yield item  # type: ignore[misc]
    finally:
        stopping.set()
    thread.join()
    if failure:
        raise failure[0]


def _skip_to_newline(stream: Stream, coverage: Coverage) -> bytes:
    """Discard the rest of an over-long line; return what follows its newline."""
    while True:
        try:
            block = stream.read(CHUNK_BYTES)
        except (DecompressError, OSError):
            return b""
        coverage.bytes += len(block)
        if not block:
            return b""
        cut = block.find(b"\n")
        if cut >= 0:
            return block[cut + 1 :]


def _read_lines(data: bytes) -> pl.Series:
    """pl.read_lines without its guess that bytes starting like gzip, zlib or zstd are compressed:
    a chunk whose first line begins "x^" or "x\\x9c" (zlib's magic) would be "decompressed" —
    an error, or lines silently gone. A newline in front defeats the guess; its line is dropped.
    (Only done when the first bytes could be taken for such a header: it copies the chunk.)"""
    if data[:1] not in _COMPRESSED_FIRST_BYTES:
        return pl.read_lines(data)["line"]
    return pl.read_lines(b"\n" + data)["line"].slice(1)


# First bytes of the headers polars' readers sniff for: gzip 1f, zlib 78, zstd 28, bzip2 42,
# xz fd, lz4 04 (a superset is harmless: those chunks just take the slower, copying path).
_COMPRESSED_FIRST_BYTES = frozenset(bytes([b]) for b in (0x1F, 0x78, 0x28, 0x42, 0xFD, 0x04))


def to_lines(data: bytes, coverage: Coverage, max_line_bytes: int) -> pl.Series:
    """Split a chunk of complete lines into a string Series (CRLF stripped, lossy UTF-8)."""
    try:
        lines = _read_lines(data)
    except pl.exceptions.ComputeError:
        text = data.decode("utf-8", errors="replace")
        lines = _read_lines(text.encode("utf-8"))
        coverage.repaired_lines += int(lines.str.contains("\ufffd", literal=True).sum())
    # len_bytes is a UInt32: a larger limit (--max-line-bytes 100000000000) means "no limit"
    too_long = lines.str.len_bytes() > min(max_line_bytes, 0xFFFF_FFFF)
    n_long = int(too_long.sum())
    if n_long:
        coverage.skipped_lines += n_long
        lines = pl.select(
            pl.when(too_long)
            .then(lines.str.slice(0, max_line_bytes // 4))
            .otherwise(lines)
            .alias("line")
        ).to_series()
    return lines
