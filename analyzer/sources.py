"""Inputs: files, directories, globs, stdin and .gz/.bz2/.xz → chunks of whole lines, with coverage stats."""

from __future__ import annotations

import bz2
import glob
import gzip
import lzma
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from queue import Queue
from threading import Thread
from typing import BinaryIO, TypeVar

import polars as pl

from analyzer.errors import InputError

T = TypeVar("T")
CHUNK_BYTES = 16 << 20
DEFAULT_MAX_LINE_BYTES = 64 << 10
STDIN = "-"

_MAGIC = (
    (b"\x1f\x8b", gzip.open),
    (b"BZh", bz2.open),
    (b"\xfd7zXZ\x00", lzma.open),
)
_DECOMPRESS_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


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

    def open(self) -> BinaryIO:
        """Open for binary reading, transparently decompressing by magic bytes."""
        if self.name == STDIN:
            return sys.stdin.buffer
        raw = open(self.name, "rb")  # noqa: SIM115 - closed by the caller
        head = raw.read(6)
        raw.seek(0)
        for magic, opener in _MAGIC:
            if head.startswith(magic):
                return opener(raw)  # type: ignore[return-value]
        return raw


def expand(paths: list[str], coverage: Coverage) -> list[Source]:
    """Turn user-named paths (files, directories, globs, '-') into sorted, de-duplicated sources.

    A path the user named that does not exist or cannot be read is an InputError; a problem
    with a file found inside a directory (unreadable, symlink loop) is a warning and is skipped.
    """
    found: list[Source] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        key = name if name == STDIN else os.path.realpath(name)
        if key not in seen:
            seen.add(key)
            found.append(Source(name))

    for raw in paths:
        if raw == STDIN:
            add(STDIN)
            continue
        if any(ch in raw for ch in "*?[") and not os.path.exists(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                raise InputError(f"{printable(raw)}: no file matches this pattern")
            for match in matches:
                if os.path.isdir(match):
                    _walk(match, add, coverage)
                else:
                    add(match)
            continue
        if not os.path.exists(raw):
            raise InputError(f"{printable(raw)}: no such file or directory")
        if os.path.isdir(raw):
            _walk(raw, add, coverage)
        elif not os.access(raw, os.R_OK):
            raise InputError(f"{printable(raw)}: permission denied")
        else:
            add(raw)
    return found


def _walk(top: str, add, coverage: Coverage) -> None:
    """Add every readable regular file below `top` in sorted order; warn about the rest.

    Depth first, a directory's files before its subdirectories (os.walk's order), but with a
    stack: os.walk recurses in Python 3.11, and a directory nested 1,000 deep would overflow it.
    """
    visited: set[tuple[int, int]] = set()  # (device, inode): realpath costs O(depth) per call
    stack = [top]
    while stack:
        dirpath = stack.pop()
        try:
            info = os.stat(dirpath)
            if (info.st_dev, info.st_ino) in visited:
                coverage.warn(f"{dirpath}: symlink loop, not followed")
                continue
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(dirpath) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            coverage.warn(f"{dirpath}: cannot list ({exc.strerror or exc}), skipped")
            continue
        subdirs: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows symlinks, like os.walk(followlinks=True)
            except OSError:  # a link to itself (ELOOP): not a directory, warned about below
                is_dir = False
            if is_dir:
                subdirs.append(entry.path)
                continue
            if entry.name.startswith(".") or entry.name.endswith(".md"):
                continue
            path = entry.path
            if not os.path.isfile(path):
                coverage.warn(f"{path}: not a regular file (broken link?), skipped")
            elif not os.access(path, os.R_OK):
                coverage.warn(f"{path}: permission denied, skipped")
            else:
                add(path)
        stack.extend(reversed(subdirs))


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
    limit the user chose decides, not the chunk size.
    """
    limit = chunk_bytes if max_line_bytes is None else max(chunk_bytes, max_line_bytes + 1)
    try:
        stream = source.open()
    except OSError as exc:
        coverage.warn(f"{source.name}: cannot open ({exc.strerror or exc}), skipped")
        return
    coverage.files += 1
    carry = bytearray()  # the unfinished last line (appended to in place: no quadratic copies)
    first = source.start == 0
    broken = False
    bom = False
    read_before = coverage.bytes
    lines = 0
    if source.start and not _skip(stream, source.start):
        coverage.warn(f"{source.name}: shorter than at the last run; read from the start")
        stream.close()
        stream = source.open()
        first, source = True, Source(source.name, hold_partial=source.hold_partial)
    try:
        while True:
            # The first read takes at least 3 bytes, so that a BOM is seen whole.
            size = max(chunk_bytes, 3) if first else chunk_bytes
            block, problem = (b"", None) if broken else _read_block(stream, size)
            if problem:
                broken = True
                coverage.warn(
                    f"{source.name}: compressed data is corrupt or truncated ({problem}); "
                    "analysed what could be read"
                )
            if first:
                first = False
                if block.startswith(b"\xef\xbb\xbf"):
                    block, bom = block[3:], True
            coverage.bytes += len(block)
            if not block:
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
                    carry = bytearray(_skip_to_newline(stream, coverage, source.name))
                continue
            piece = bytes(carry) + block[: cut + 1]
            lines += piece.count(b"\n")
            yield piece
            carry = bytearray(block[cut + 1 :])
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _skip(stream: BinaryIO, count: int) -> bool:
    """Move past the first `count` bytes of the stream; False if it is shorter than that."""
    if not isinstance(stream, gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile):
        try:
            return stream.seek(count) == count and stream.read(0) == b"" and _size(stream) >= count
        except OSError:
            return False
    left = count
    while left:
        block, problem = _read_block(stream, min(left, CHUNK_BYTES))
        if problem or not block:
            return False
        left -= len(block)
    return True


def _size(stream: BinaryIO) -> int:
    return os.fstat(stream.fileno()).st_size


def _read_block(stream: BinaryIO, size: int) -> tuple[bytes, str | None]:
    """Up to `size` bytes. A decompressor is read in small steps, so that when the stream
    turns out corrupt, everything decompressed before the damage is still returned."""
    if isinstance(stream, gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile):
        parts: list[bytes] = []
        got = 0
        while got < size:
            try:
                part = stream.read1(min(size - got, 1 << 16))
            except _DECOMPRESS_ERRORS as exc:
                return b"".join(parts), str(exc) or type(exc).__name__
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts), None
    return stream.read(size), None


def prefetch(chunks: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Produce the next item (read, decompress, split into lines) in a background thread while
    this one is analysed.

    At most `depth` chunks wait in the queue, so memory stays bounded. polars releases the GIL
    while it works, so reading and analysing overlap on two cores.
    """
    done = object()
    queue: Queue[object] = Queue(maxsize=depth)
    failure: list[BaseException] = []

    def pump() -> None:
        try:
            for chunk in chunks:
                queue.put(chunk)
        except BaseException as exc:  # re-raised in the consumer thread below
            failure.append(exc)
        finally:
            queue.put(done)

    thread = Thread(target=pump, name="bnlog-reader", daemon=True)
    thread.start()
    while (item := queue.get()) is not done:
        yield item  # type: ignore[misc]
    thread.join()
    if failure:
        raise failure[0]


def _skip_to_newline(stream: BinaryIO, coverage: Coverage, name: str) -> bytes:
    """Discard the rest of an over-long line; return what follows its newline."""
    while True:
        try:
            block = stream.read(CHUNK_BYTES)
        except _DECOMPRESS_ERRORS:
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
