"""Incremental runs (`--state FILE`): read only what is new since the last run, exactly, across
appends, rotation (rename, copy-truncate, compression) and run boundaries.

The state (`bnlog.state/2`, JSON) remembers for every file read its identity — device, inode,
size on disk, and sha256 fingerprints of its first bytes and of the bytes just before the
offset — and two offsets in its (decompressed, UTF-8) text: `offset`, up to where its events
were counted, and `context`, where the next run starts reading (a few records earlier, so that
a request echoed over the boundary is still merged into one event). The rules:

- **Same file**: a file at the remembered path with the remembered inode, not smaller than it
  was, whose fingerprints still match (the first min(4 KiB, offset) bytes and the
  min(4 KiB, offset) bytes before the offset), is the same file: read from where it stopped.
  A compressed file of unchanged size is not read again.
- **Rotated**: otherwise (another inode at the path, no file there, or the same inode
  truncated or rewritten: copy-truncate) the old file is looked for among its rotated siblings
  in the same directory (`bot.log.1`, `bot.log-20261130`, `bot.log.2.gz`, `.bz2`, `.xz`,
  `.zst`): first by inode (a rename), then by both fingerprints (a copy, or a compressed copy,
  decompressed). Found, it is read to its end from where it stopped. A file at the remembered
  path with another inode is never the old file, however alike its first bytes (two files of
  one bot start with the same banner); a file keeping its inode is the old one only if its
  bytes at both ends of the part already read are unchanged.
- **New**: any other file is read from its start. A remembered file found nowhere is a warning
  that names the bytes it still held unread and that what was written after the last run may
  be lost (not for an old rotated file that was read to its end and is no longer named).
- **Held back**: a file that may still grow keeps its last record (a log line and the
  traceback or body lines that follow it) and an unfinished last line for the next run, so a
  record a run boundary splits is one event, counted once. A file that did not grow since the
  last run, or was rotated, is read to its very end, unfinished last line included.
- **Locked**: a run holds `FILE.lock` (fcntl.flock) from reading the state until it is saved,
  so concurrent runs take turns (waiting up to LOCK_WAIT seconds); the state is replaced
  atomically, after the output, and never by a run older than the one that wrote it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analyzer.errors import UsageError
from analyzer.options import Options
from analyzer.output import write_output
from analyzer.sources import STDIN, Coverage, Source, expand, printable, to_lines
from analyzer.streams import open_input

SCHEMA_ID = "bnlog.state/2"
OLD_SCHEMA_ID = "bnlog.state/1"  # still read: its marks lack the tail fingerprint and size
HEAD_BYTES = 4096
MAX_STATE_BYTES = 256 << 20  # far more than any real state (about 400 bytes per file)
WINDOW_BYTES = 1 << 20  # the last record is looked for in this much of a file's end
CONTEXT_LINES = 8  # lines before the held record re-read for echo merging (>= WRAPPER_LINES)
LOCK_WAIT = 300.0  # seconds a run waits for another run holding the state
PIN_MAX = 256  # files kept open (read by descriptor) from matching to saving
RESET = "run once with --reset-state to start over"
_PROC_FD = "/proc/self/fd"
_COMPRESSED_SUFFIX = re.compile(r"\.(?:gz|bz2|xz|zst|zstd)$")
_ROTATION_SUFFIX = re.compile(r"(?:[.-]\d+)+$")
_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


@dataclass(frozen=True)
class Mark:
    """What the last run knew of one file: how to recognise it, and where it stopped."""

    path: str  # real path when it was read
    dev: int
    ino: int
    size: int  # bytes on disk when it was read
    compressed: bool
    offset: int  # bytes of its text whose events are counted (the start of a held record)
    lines: int  # lines before `offset`
    context: int  # where the next run starts reading (<= offset)
    context_lines: int  # lines before `context`
    head: str  # sha256 of the first head_len bytes of its text
    head_len: int
    tail: str  # sha256 of the tail_len bytes before `offset`
    tail_len: int


_FIELDS: dict[str, type] = {
    "path": str,
    "dev": int,
    "ino": int,
    "size": int,
    "compressed": bool,
    "offset": int,
    "lines": int,
    "context": int,
    "context_lines": int,
    "head": str,
    "head_len": int,
    "tail": str,
    "tail_len": int,
}
_OLD_FIELDS = ("path", "dev", "ino", "offset", "lines", "head", "head_len")


@dataclass
class State:
    """A state file's content: the run that wrote it, its marks, and that run's digest."""

    run: int = 0
    marks: list[Mark] = field(default_factory=list)
    digest: dict[str, Any] | None = None


# --- the state file -------------------------------------------------------------------------


def check_path(path: str, output: str | None) -> None:
    """Refuse a state path that cannot work, before any work: '-', or the output file."""
    if path in ("", "-"):
        raise UsageError(f"--state {path!r}: name a file (the state is not written to stdout)")
    if output and output != "-":
        same = os.path.realpath(output) == os.path.realpath(path)
        try:
            a, b = os.stat(output), os.stat(path)
            same = same or (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        except (OSError, ValueError):
            pass
        if same:
            raise UsageError(
                f"{output}: refusing to overwrite the --state file (choose another --output)"
            )


def _damaged(path: str, why: str) -> UsageError:
    return UsageError(f"--state {path}: {why}; {RESET}")


def load(path: str, reset: bool = False) -> State:
    """The last run's state; an empty one when the file does not exist yet (or --reset-state).

    The state file must be a regular file (a device, FIFO or directory is refused: reading
    /dev/zero would never end, and the file is replaced when the run is saved) and hold what
    this module writes: anything else is a UsageError naming --reset-state.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return State()
    except OSError as exc:
        raise UsageError(f"--state {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"--state {path}: not a regular file (name a file for the state)")
    if reset:
        return State(run=_run_of(path))
    if info.st_size > MAX_STATE_BYTES:
        raise _damaged(path, "too large to be a bnlog state file")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise UsageError(f"--state {path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested 100,000 deep
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise _damaged(path, f"cannot read it (not JSON: {why})") from None
    if not isinstance(data, dict) or data.get("schema") not in (SCHEMA_ID, OLD_SCHEMA_ID):
        raise _damaged(path, "not a bnlog state file")
    files = data.get("files")
    if not isinstance(files, list):
        raise _damaged(path, "damaged (no list of files)")
    old = data["schema"] == OLD_SCHEMA_ID
    marks = []
    for index, entry in enumerate(files):
        problem = _invalid(entry, old)
        if problem:
            raise _damaged(path, f"damaged (file {index + 1}: {problem})")
        marks.append(_upgraded(entry) if old else Mark(**entry))
    run = data.get("run", 0)
    digest = data.get("digest")
    if type(run) is not int or run < 0 or not (digest is None or isinstance(digest, dict)):
        raise _damaged(path, "damaged (run or digest)")
    return State(run=run, marks=marks, digest=digest)


def _run_of(path: str) -> int:
    """The run number a state file holds (0 if it cannot be read): states never go backwards."""
    try:
        with open(path, encoding="utf-8") as handle:
            run = json.load(handle).get("run", 0)
    except (OSError, ValueError, RecursionError, AttributeError):
        return 0
    return run if type(run) is int and run >= 0 else 0


def _invalid(entry: object, old: bool) -> str | None:
    """What is wrong with one file's mark as read from JSON (None: nothing)."""
    if not isinstance(entry, dict):
        return "not an object"
    names = _OLD_FIELDS if old else tuple(_FIELDS)
    missing = sorted(set(names) - set(entry))
    unknown = sorted(set(entry) - set(names))
    if missing or unknown:
        return f"missing {missing}" if missing else f"unknown field {unknown[0]!r}"
    for name in names:
        kind, value = _FIELDS[name], entry[name]
        if kind is int and (type(value) is not int or value < 0 or value > 1 << 63):
            return f"{name} is not a count"
        if kind is str and not isinstance(value, str):
            return f"{name} is not a string"
        if kind is bool and type(value) is not bool:
            return f"{name} is not true or false"
    if entry["head_len"] > HEAD_BYTES or entry["head_len"] > entry["offset"]:
        return "head_len is out of range"
    if not old and (
        entry["tail_len"] > min(HEAD_BYTES, entry["offset"])
        or entry["context"] > entry["offset"]
        or entry["context_lines"] > entry["lines"]
    ):
        return "offsets out of range"
    return None


def _upgraded(entry: dict[str, Any]) -> Mark:
    """A bnlog.state/1 mark: no tail fingerprint, size unknown (taken as the offset)."""
    return Mark(
        **{k: entry[k] for k in _OLD_FIELDS},
        size=entry["offset"],
        compressed=False,
        context=entry["offset"],
        context_lines=entry["lines"],
        tail="",
        tail_len=0,
    )


# --- the lock -------------------------------------------------------------------------------

_HELD: set[int] = set()  # lock descriptors this process holds (released by release_all)


def lock(path: str, wait: float | None = None) -> int:
    """Take FILE.lock (created, with its directory, when missing); wait for another run."""
    wait = LOCK_WAIT if wait is None else wait
    directory = os.path.dirname(path) or "."
    lock_path = path + ".lock"
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"--state {path}: cannot create {lock_path} ({why})") from None
    _HELD.add(fd)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                unlock(fd)
                raise UsageError(
                    f"--state {path}: another bnlog run is using it (waited {wait:g} s for "
                    f"{lock_path}); try again when it has finished"
                ) from None
            time.sleep(0.05)


def unlock(fd: int) -> None:
    """Release a lock taken by lock()."""
    if fd in _HELD:
        _HELD.discard(fd)
        os.close(fd)  # closing the descriptor releases the flock


def release_all() -> None:
    """Release every state lock this process holds (the CLI's error boundary calls this)."""
    for fd in list(_HELD):
        unlock(fd)


# --- files and their fingerprints -----------------------------------------------------------


@dataclass
class File:
    """A regular file as this run found it (kept open, and read by descriptor, when pinned)."""

    real: str
    dev: int
    ino: int
    size: int
    compressed: bool
    fd: int | None

    @property
    def opener(self) -> str:
        return f"{_PROC_FD}/{self.fd}" if self.fd is not None else self.real


class Files:
    """Files probed this run, by real path; the pinned ones are closed by close()."""

    def __init__(self) -> None:
        self.by_real: dict[str, File | None] = {}
        self.pinned = 0
        self.can_pin = os.path.isdir(_PROC_FD)

    def probe(self, path: str) -> File | None:
        real = os.path.realpath(path)
        if real in self.by_real:
            return self.by_real[real]
        found = None
        try:
            if not stat.S_ISREG(os.stat(real).st_mode):  # a FIFO is never opened twice
                raise OSError("not a regular file")
            fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except (OSError, ValueError):
            self.by_real[real] = None
            return None
        try:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode):
                magic = os.pread(fd, 6, 0)
                found = File(
                    real,
                    info.st_dev,
                    info.st_ino,
                    info.st_size,
                    magic.startswith(_MAGIC),
                    None,
                )
        except OSError:
            found = None
        if found is not None and self.can_pin and self.pinned < PIN_MAX:
            found.fd, self.pinned = fd, self.pinned + 1
        else:
            os.close(fd)
        self.by_real[real] = found
        return found

    def close(self) -> None:
        for file in self.by_real.values():
            if file is not None and file.fd is not None:
                os.close(file.fd)
                file.fd = None
        self.pinned = 0


def _digest(opener: str, start: int, length: int) -> str | None:
    """sha256 of `length` bytes of a file's text from `start` (None: it is shorter)."""
    try:
        with open_input(opener).stream as stream:
            if start and not stream.skip(start):
                return None
            data = stream.read(length)
    except (OSError, EOFError, ValueError):
        return None
    return hashlib.sha256(data).hexdigest() if len(data) == length else None


def _matches(mark: Mark, file: File) -> bool:
    """`file` holds the mark's text up to its offset (both fingerprints match)."""
    if mark.head_len and _digest(file.opener, 0, mark.head_len) != mark.head:
        return False
    if mark.tail_len:
        return _digest(file.opener, mark.offset - mark.tail_len, mark.tail_len) == mark.tail
    return True


def _same_place(mark: Mark, file: File) -> bool:
    """The file at the mark's path is the file it describes (see the module's rules)."""
    if (file.dev, file.ino) != (mark.dev, mark.ino):
        return False
    if file.compressed and mark.compressed and file.size == mark.size:
        return True  # a compressed file does not grow: unchanged
    return file.size >= mark.size and _matches(mark, file)


def stem(name: str) -> str:
    """The name a log's rotated siblings share: bot.log.2.gz, bot.log-20261130 → bot.log."""
    return _ROTATION_SUFFIX.sub("", _COMPRESSED_SUFFIX.sub("", name)) or name


def siblings(path: str) -> list[str]:
    """Real paths of the files beside `path` that rotation may have made of it."""
    directory, name = os.path.split(path)
    family = stem(name)
    try:
        names = sorted(os.listdir(directory or "."))
    except OSError:
        return []
    return [
        os.path.join(directory, n)
        for n in names
        if n != name and (n == family or n.startswith((family + ".", family + "-")))
    ]


# --- one run --------------------------------------------------------------------------------


@dataclass
class Entry:
    """One file this run reads: from where, what was counted before, and what to hold."""

    source: Source
    file: File
    mark: Mark | None
    hold: bool  # keep the last record (and an unfinished line) for the next run
    counted: int  # bytes of text already counted (events before are the last run's)
    counted_lines: int
    end: tuple[int, int, int, int] | None = None  # offset, lines, context, context_lines


@dataclass
class Plan:
    """What a --state run reads, under the state's lock; save() records it, release() not."""

    path: str
    state: State
    lock_fd: int | None
    files: Files
    entries: list[Entry]
    kept: list[Mark]  # marks of files not read this run but still followed
    inputs: list[str]  # every file expanded from the paths (an output must never be one)
    passthrough: list[Source]  # inputs that are no regular file (read whole, not remembered)
    options: Options
    digest: dict[str, Any] | None = None  # this run's findings and counts (summary)

    @property
    def sources(self) -> list[Source]:
        return [entry.source for entry in self.entries] + self.passthrough

    @property
    def resumed(self) -> int:
        return sum(1 for entry in self.entries if entry.mark is not None)

    def release(self) -> None:
        """Close the files and give the lock back (nothing saved)."""
        self.files.close()
        if self.lock_fd is not None:
            unlock(self.lock_fd)
            self.lock_fd = None

    def settle(self, events: pl.DataFrame, coverage: Coverage) -> pl.DataFrame:
        """After reading: find each held record, drop the events counted by the last run or
        held for the next, and take the re-read and held lines out of the counts."""
        bounds: list[tuple[str, int, int]] = []
        for entry in self.entries:
            position = coverage.positions.get(entry.source.name)
            if position is None:
                continue
            end, end_lines = position
            if entry.hold:
                entry.end = _held(entry, end, end_lines, self.options.max_line_bytes)
            else:
                entry.end = (end, end_lines, end, end_lines)
            offset, lines = entry.end[0], entry.end[1]
            reread = entry.counted_lines - (entry.source.first_line - 1)
            coverage.lines = max(0, coverage.lines - reread - (end_lines - lines))
            reread_bytes = entry.counted - entry.source.start
            coverage.bytes = max(0, coverage.bytes - reread_bytes - (end - offset))
            if reread or lines < end_lines:
                bounds.append((printable(entry.source.name), entry.counted_lines + 1, lines + 1))
        if not bounds or events.height == 0:
            return events
        limits = pl.DataFrame(
            bounds, schema={"path": pl.String, "_lo": pl.Int64, "_hi": pl.Int64}, orient="row"
        )
        joined = events.join(limits, on="path", how="left")
        inside = pl.col("_lo").is_null() | (
            (pl.col("line") >= pl.col("_lo")) & (pl.col("line") < pl.col("_hi"))
        )
        return joined.filter(inside.fill_null(True)).drop("_lo", "_hi")

    def save(self) -> None:
        """Write the new state atomically (the output was written), then release the lock."""
        try:
            marks = list(self.kept)
            for entry in self.entries:
                if entry.end is not None:
                    marks.append(_mark_of(entry))
            marks.sort(key=lambda m: (m.path, m.dev, m.ino))
            if _run_of(self.path) > self.state.run:
                return  # another run (started later, with --reset-state) saved meanwhile
            data = {
                "schema": SCHEMA_ID,
                "run": self.state.run + 1,
                "files": [m.__dict__ for m in marks],
                "digest": self.digest if self.digest is not None else self.state.digest,
            }
            write_output(json.dumps(data, indent=1) + "\n", self.path, self.inputs)
        finally:
            self.release()


def _mark_of(entry: Entry) -> Mark:
    assert entry.end is not None
    offset, lines, context, context_lines = entry.end
    file = entry.file
    head_len = min(HEAD_BYTES, offset)
    mark = entry.mark
    if mark is not None and mark.head_len == head_len:
        head = mark.head
    else:
        head = (_digest(file.opener, 0, head_len) or "") if head_len else ""
    tail_len = min(HEAD_BYTES, offset)
    tail = (_digest(file.opener, offset - tail_len, tail_len) or "") if tail_len else ""
    return Mark(
        path=file.real,
        dev=file.dev,
        ino=file.ino,
        size=file.size,
        compressed=file.compressed,
        offset=offset,
        lines=lines,
        context=context,
        context_lines=context_lines,
        head=head,
        head_len=head_len if head else 0,
        tail=tail,
        tail_len=tail_len if tail else 0,
    )


def _held(entry: Entry, end: int, end_lines: int, max_line_bytes: int) -> tuple[int, int, int, int]:
    """Where the last record of what was read starts (offset, lines before it), and where the
    next run starts reading (a few records earlier), found by marking records as extraction
    does over the last WINDOW_BYTES read. A record longer than that is not held."""
    from analyzer.extract import _strip_compose, _unwrap_docker, _unwrap_syslog
    from analyzer.extract.records import mark_records

    start = entry.source.start
    nothing = (end, end_lines, end, end_lines)
    lo = max(start, end - WINDOW_BYTES)
    try:
        with open_input(entry.file.opener).stream as stream:
            if lo and not stream.skip(lo):
                return nothing
            data = stream.read(end - lo)
    except (OSError, EOFError, ValueError):
        return nothing
    if len(data) != end - lo or not data:
        return nothing
    cut_first = lo > start
    base = lo
    if cut_first:  # the window starts inside a line: begin at the next one
        cut = data.find(b"\n")
        if cut < 0 or cut + 1 == len(data):
            return nothing
        base, data = lo + cut + 1, data[cut + 1 :]
    n = data.count(b"\n")
    if n == 0 or not data.endswith(b"\n"):
        return nothing
    first = end_lines - n + 1
    lines = to_lines(data, Coverage(), max_line_bytes)
    if lines.len() != n:
        return nothing
    frame = pl.DataFrame(
        {
            "src": pl.repeat(0, n, dtype=pl.Int64, eager=True),
            "text": lines,
            "line": pl.int_range(first, first + n, eager=True, dtype=pl.Int64),
        }
    )
    rids = mark_records(_unwrap_syslog(_strip_compose(_unwrap_docker(frame))))["rid"]
    if rids.len() != n:
        return nothing
    last = rids[-1]
    row = int(rids.search_sorted(last, side="left"))
    if row == 0 and cut_first:
        return nothing  # the record is longer than the window
    context_row = int(rids.search_sorted(rids[max(0, row - CONTEXT_LINES)], side="left"))
    starts = [0]
    at = data.find(b"\n")
    while at >= 0 and len(starts) < n:
        starts.append(at + 1)
        at = data.find(b"\n", at + 1)
    return (
        base + starts[row],
        first - 1 + row,
        base + starts[context_row],
        first - 1 + context_row,
    )


def plan(paths: list[str], options: Options, coverage: Coverage) -> Plan:
    """Take the state's lock, read the state, expand the paths and decide, for every file,
    where to start reading (see the module's rules). The lock is held until save() or
    release()."""
    assert options.state is not None
    path = options.state
    fd = lock(path)
    files = Files()
    try:
        state = load(path, reset=options.reset_state)
        return _plan(paths, options, coverage, state, fd, files)
    except BaseException:
        files.close()
        unlock(fd)
        raise


def _plan(
    paths: list[str],
    options: Options,
    coverage: Coverage,
    state: State,
    fd: int,
    files: Files,
) -> Plan:
    assert options.state is not None
    known = {m.path for m in state.marks}
    named_real: set[str] = set()
    present = []
    for raw in paths:
        literal = raw != STDIN and not any(ch in raw for ch in "*?[")
        if literal:
            named_real.add(os.path.realpath(raw))
        if literal and not os.path.lexists(raw) and os.path.realpath(raw) in known:
            continue  # gone since the last run: said below unless found rotated
        present.append(raw)
    sources = expand(present, coverage) if present else []
    excluded = _state_files(options.state)
    inputs: list[str] = []
    regular: list[tuple[Source, File]] = []
    passthrough: list[Source] = []
    shown_dirs: dict[str, str] = {}
    for raw in paths:
        if raw != STDIN and not any(ch in raw for ch in "*?["):
            shown_dirs.setdefault(os.path.dirname(os.path.realpath(raw)), os.path.dirname(raw))
    for source in sources:
        if source.name != STDIN and _is_state_file(source.name, excluded):
            continue
        inputs.append(source.name)
        file = files.probe(source.name) if source.name != STDIN else None
        if file is None:
            passthrough.append(source)
            continue
        regular.append((source, file))
        named_real.add(file.real)
        shown_dirs.setdefault(os.path.dirname(file.real), os.path.dirname(source.name))
    by_real = {file.real: (source, file) for source, file in regular}
    claimed: set[tuple[int, int]] = set()
    found: dict[tuple[int, int], tuple[Mark, File, bool]] = {}  # identity: mark, file, in place
    kept: list[Mark] = []
    for mark in state.marks:
        located = _locate(mark, files, claimed, excluded)
        if located is None:
            _lost(mark, named_real, coverage)
            continue
        file, in_place = located
        claimed.add((file.dev, file.ino))
        if file.compressed and in_place and mark.compressed and file.size == mark.size:
            kept.append(mark)  # unchanged since it was read to its end: nothing to read
            continue
        found[(file.dev, file.ino)] = (mark, file, in_place)
    entries: list[Entry] = []
    # Older text first: rotated files that are not inputs, then the inputs in their order.
    extra = sorted((f.real, m, f, p) for (m, f, p) in found.values() if f.real not in by_real)
    for real, mark, file, in_place in extra:
        directory = os.path.dirname(real)
        shown = os.path.join(shown_dirs.get(directory, directory), os.path.basename(real))
        entries.append(_resumed(Source(shown), file, mark, in_place))
    for source, file in regular:
        hit = found.get((file.dev, file.ino))
        if hit is not None:
            entries.append(_resumed(source, file, hit[0], hit[2]))
        elif (file.dev, file.ino) not in claimed:
            entries.append(
                Entry(
                    Source(source.name, hold_partial=not file.compressed, opener=file.opener),
                    file,
                    None,
                    hold=not file.compressed,
                    counted=0,
                    counted_lines=0,
                )
            )
    return Plan(
        path=options.state,
        state=state,
        lock_fd=fd,
        files=files,
        entries=entries,
        kept=kept,
        inputs=inputs,
        passthrough=passthrough,
        options=options,
    )


def _resumed(source: Source, file: File, mark: Mark, in_place: bool) -> Entry:
    """A file the last run read: from its context on; held back only if it is where it was,
    uncompressed, and grew since (a rotated file, or one that stopped growing, is finished)."""
    hold = in_place and not file.compressed and file.size > mark.size
    return Entry(
        Source(
            source.name,
            mark.context,
            mark.context_lines + 1,
            hold_partial=hold,
            opener=file.opener,
        ),
        file,
        mark,
        hold=hold,
        counted=mark.offset,
        counted_lines=mark.lines,
    )


def _locate(
    mark: Mark, files: Files, claimed: set[tuple[int, int]], excluded: list[tuple[str, Any]]
) -> tuple[File, bool] | None:
    """Where the mark's file is now: (file, True) at its own path, (file, False) rotated."""
    here = files.probe(mark.path)
    if here is not None and (here.dev, here.ino) not in claimed and _same_place(mark, here):
        return here, True
    candidates = []
    for name in siblings(mark.path):
        if _is_state_file(name, excluded):
            continue
        file = files.probe(name)
        if file is not None and (file.dev, file.ino) not in claimed:
            candidates.append(file)
    # A rename keeps the inode; a copy (copy-truncate, compression) is known by its text.
    candidates.sort(key=lambda f: ((f.dev, f.ino) != (mark.dev, mark.ino), f.compressed, f.real))
    for file in candidates:
        if (file.dev, file.ino) == (mark.dev, mark.ino) and not file.compressed:
            if file.size >= min(mark.size, mark.offset) and _matches(mark, file):
                return file, False
        elif mark.head_len and _matches(mark, file):
            return file, False
    return None


def _lost(mark: Mark, named: set[str], coverage: Coverage) -> None:
    """Say that a remembered file was not found, when something of it may be lost."""
    unread = max(0, mark.size - mark.offset) if not mark.compressed else 0
    if mark.path not in named and (mark.compressed or not unread):
        return  # an old rotated file, read to its end, that logrotate deleted
    held = f"{unread} bytes of it not yet read and " if unread else ""
    gone = "gone" if not os.path.lexists(mark.path) else "replaced"
    coverage.warn(
        f"{mark.path}: {gone} since the last run and not found among its rotated siblings: "
        f"{held}whatever was written to it after the last run may be lost"
    )


def _state_files(path: str) -> list[tuple[str, Any]]:
    """The state file and its lock, by real path and identity: never read as logs."""
    out: list[tuple[str, Any]] = []
    for name in (path, path + ".lock"):
        try:
            info = os.stat(name)
            identity: Any = (info.st_dev, info.st_ino)
        except (OSError, ValueError):
            identity = None
        out.append((os.path.realpath(name), identity))
    return out


def _is_state_file(name: str, excluded: list[tuple[str, Any]]) -> bool:
    real = os.path.realpath(name)
    try:
        info = os.stat(name)
        identity: Any = (info.st_dev, info.st_ino)
    except (OSError, ValueError):
        identity = None
    return any(real == r or (identity is not None and identity == i) for r, i in excluded)
