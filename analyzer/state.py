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
from dataclasses import dataclass

from analyzer.errors import UsageError
from analyzer.output import write_output
from analyzer.sources import STDIN, Coverage, Source

SCHEMA_ID = "bnlog.state/1"
HEAD_BYTES = 4096


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


def load(path: str) -> dict[str, Mark]:
    """The marks of the last run; none when the state file does not exist yet."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--state {path}: cannot read it ({exc}); delete it to start afresh"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise UsageError(f"--state {path}: not a bnlog state file (delete it to start afresh)")
    try:
        return {m["path"]: Mark(**m) for m in data["files"]}
    except (KeyError, TypeError) as exc:
        raise UsageError(f"--state {path}: damaged ({exc}); delete it to start afresh") from None


def _head(source: Source, length: int) -> str:
    """sha256 of the first `length` bytes of the decompressed stream ("" if unreadable)."""
    try:
        with source.open() as stream:
            data = stream.read(length)
    except (OSError, EOFError, ValueError):
        return ""
    return hashlib.sha256(data).hexdigest() if len(data) == length else ""


def resume(sources: list[Source], marks: dict[str, Mark]) -> list[Source]:
    """The sources, each starting where the last run stopped in it (or at its start)."""
    out = []
    for source in sources:
        if source.name == STDIN:
            out.append(source)
            continue
        mark = _find(source, marks)
        if mark is None:
            out.append(Source(source.name, hold_partial=True))
        else:
            out.append(Source(source.name, mark.offset, mark.lines + 1, hold_partial=True))
    return out


def _find(source: Source, marks: dict[str, Mark]) -> Mark | None:
    try:
        st = os.stat(source.name)
    except OSError:
        return None
    same_file = [m for m in marks.values() if (m.dev, m.ino) == (st.st_dev, st.st_ino)]
    by_path = marks.get(os.path.realpath(source.name))
    candidates = same_file + ([by_path] if by_path and by_path not in same_file else [])
    for mark in candidates:
        if mark.head_len and _head(source, mark.head_len) == mark.head:
            return mark
    # Compressed by rotation: another inode, but the same first bytes once decompressed.
    for mark in marks.values():
        if mark.head_len == HEAD_BYTES and mark not in candidates:
            if _head(source, HEAD_BYTES) == mark.head:
                return mark
    return None


def save(path: str, sources: list[Source], coverage: Coverage, inputs: list[str]) -> None:
    """Write the marks of this run atomically (only files that were read)."""
    files = []
    for source in sources:
        position = coverage.positions.get(source.name)
        if source.name == STDIN or position is None:
            continue
        try:
            st = os.stat(source.name)
        except OSError:
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
