"""Incremental runs (`--state FILE`): read only what is new since the last run, across rotation.

For every file read, the state remembers where the run stopped (bytes and lines of complete
lines), the file's identity (device and inode) and a hash of its first bytes. On the next run a
file resumes where it stopped when it is the same file (same inode and same first bytes, and
not shorter), or when it is that file renamed by log rotation (`bot.log` → `bot.log.1`: same
inode), or that file compressed by rotation (`bot.log.2.gz`: same first bytes once
decompressed). Any other file is new and read from its start. An unfinished last line is left
for the next run, so no line is ever counted twice or cut in two.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass

from analyzer.errors import UsageError
from analyzer.output import write_output
from analyzer.sources import STDIN, Coverage, Source

SCHEMA_ID = "bnlog.state/1"
HEAD_BYTES = 4096
MAX_STATE_BYTES = 256 << 20  # far more than any real state (about 250 bytes per file)


@dataclass(frozen=True)
class Mark:
    """Where the last run stopped in one file, and how to recognise that file again."""

    path: str
    dev: int
    ino: int
    offset: int  # bytes of the (decompressed) stream analysed
    lines: int  # complete lines analysed
    head: str  # sha256 of the first head_len bytes of the (decompressed) stream
    head_len: int


_FIELDS: dict[str, type] = {
    "path": str,
    "dev": int,
    "ino": int,
    "offset": int,
    "lines": int,
    "head": str,
    "head_len": int,
}


def load(path: str) -> dict[str, Mark]:
    """The marks of the last run; none when the state file does not exist yet.

    The state file must be a regular file (a device, FIFO or directory is refused: reading
    /dev/zero would never end, and the file is replaced when the run is saved) in a directory
    that exists, and hold what this module writes: anything else is a UsageError.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            raise UsageError(f"--state {path}: directory {directory} does not exist") from None
        return {}
    except OSError as exc:
        raise UsageError(f"--state {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"--state {path}: not a regular file (name a file for the state)")
    if info.st_size > MAX_STATE_BYTES:
        raise UsageError(f"--state {path}: too large to be a bnlog state file")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise UsageError(f"--state {path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested 100,000 deep
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise UsageError(
            f"--state {path}: cannot read it (not JSON: {why}); delete it to start afresh"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise UsageError(f"--state {path}: not a bnlog state file (delete it to start afresh)")
    files = data.get("files")
    if not isinstance(files, list):
        raise UsageError(f"--state {path}: damaged (no list of files); delete it to start afresh")
    marks = {}
    for index, entry in enumerate(files):
        problem = _invalid(entry)
        if problem:
            raise UsageError(
                f"--state {path}: damaged (file {index + 1}: {problem}); delete it to start afresh"
            )
        marks[entry["path"]] = Mark(**entry)
    return marks


def _invalid(entry: object) -> str | None:
    """What is wrong with one file's mark as read from JSON (None: nothing)."""
    if not isinstance(entry, dict):
        return "not an object"
    missing = sorted(set(_FIELDS) - set(entry))
    unknown = sorted(set(entry) - set(_FIELDS))
    if missing or unknown:
        return f"missing {missing}" if missing else f"unknown field {unknown[0]!r}"
    for name, kind in _FIELDS.items():
        value = entry[name]
        if kind is int and (type(value) is not int or value < 0 or value > 1 << 63):
            return f"{name} is not a count"
        if kind is str and not isinstance(value, str):
            return f"{name} is not a string"
    if entry["head_len"] > HEAD_BYTES or entry["head_len"] > entry["offset"]:
        return "head_len is out of range"
    return None


def _head(source: Source, length: int) -> str:
    """sha256 of the first `length` bytes of the decompressed stream ("" if unreadable)."""
    try:
        with source.open() as stream:
            data = stream.read(length)
    except (OSError, EOFError, ValueError):
        return ""
    return hashlib.sha256(data).hexdigest() if len(data) == length else ""


def _regular(name: str) -> os.stat_result | None:
    """The file's status if it is a regular file: only those are resumed and remembered (a
    pipe, FIFO or device is read whole, and never opened a second time)."""
    if name == STDIN:
        return None
    try:
        info = os.stat(name)
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def resume(sources: list[Source], marks: dict[str, Mark]) -> list[Source]:
    """The sources, each starting where the last run stopped in it (or at its start)."""
    out = []
    for source in sources:
        info = _regular(source.name)
        if info is None:
            out.append(source)
            continue
        mark = _find(source, info, marks)
        if mark is None:
            out.append(Source(source.name, hold_partial=True))
        else:
            out.append(Source(source.name, mark.offset, mark.lines + 1, hold_partial=True))
    return out


def _find(source: Source, st: os.stat_result, marks: dict[str, Mark]) -> Mark | None:
    same_file = [m for m in marks.values() if (m.dev, m.ino) == (st.st_dev, st.st_ino)]
    by_path = marks.get(os.path.realpath(source.name))
    candidates = same_file + ([by_path] if by_path and by_path not in same_file else [])
    for mark in candidates:
        if mark.head_len and _head(source, mark.head_len) == mark.head:
            return mark
    # Compressed by rotation: another inode, but the same first bytes once decompressed.
    head: str | None = None
    for mark in marks.values():
        if mark.head_len == HEAD_BYTES and mark not in candidates:
            head = _head(source, HEAD_BYTES) if head is None else head
            if head == mark.head:
                return mark
    return None


def save(path: str, sources: list[Source], coverage: Coverage, inputs: list[str]) -> None:
    """Write the marks of this run atomically (only files that were read)."""
    files = []
    for source in sources:
        position = coverage.positions.get(source.name)
        st = _regular(source.name)
        if position is None or st is None:
            continue
        offset, lines = position
        head_len = min(HEAD_BYTES, offset)
        files.append(
            Mark(
                path=os.path.realpath(source.name),
                dev=st.st_dev,
                ino=st.st_ino,
                offset=offset,
                lines=lines,
                head=_head(source, head_len) if head_len else "",
                head_len=head_len,
            ).__dict__
        )
    files.sort(key=lambda m: m["path"])
    text = json.dumps({"schema": SCHEMA_ID, "files": files}, indent=1) + "\n"
    write_output(text, path, inputs)
