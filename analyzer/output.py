"""The one output writer: stdout, or --output written so that no file of the user's is harmed.

- An output that is one of the inputs (after glob and directory expansion; compared by device
  and inode, so hard links and symlinks count) or the --state file is refused.
- A symlink is written through: the file it points to gets the report, the link stays.
- A device, FIFO or socket is written directly (opened and written), never replaced; Ctrl-C
  ends a run blocked there (a FIFO nobody reads). `/dev/stdout`, `/dev/fd/N` and
  `/proc/self/fd/N` are written to that open descriptor, so a `>>` redirection is appended to
  rather than truncated.
- A regular file is replaced atomically (a temporary file in the same directory, then a rename),
  with the mode and owner it had; a new file follows the umask. A read-only file is refused.
- An error or Ctrl-C while writing leaves the old file as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from threading import Thread

from analyzer.errors import OutputError

DASH = "-"  # stdout as an output, stdin as an input
_DESCRIPTOR = re.compile(r"^/(?:dev/fd|proc/self/fd)/(\d+)$")
_STANDARD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
WAIT_STEP = 0.05  # seconds the main thread waits for a blocked write before it looks at signals


def write_output(
    text: str | bytes, output: str | None, inputs: Iterable[str] = (), state: str | None = None
) -> None:
    """Write `text` (a report, or the bytes of a Parquet file) to stdout (`output` None or '-')
    or to the file `output`.

    `inputs` are the files the run read ('-' for stdin) and `state` the --state file: an output
    that is one of them is refused, and so is a stdout redirected onto an input.
    """
    protected = _Protected(inputs, state)
    if output is None or output == DASH:
        if protected.input_is(_fd_identity(sys.stdout)):
            raise OutputError(
                "refusing to write the report onto an input file (stdout is redirected to it)"
            )
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    if not output:
        raise OutputError("--output '': no file named (use '-' for stdout)")
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    try:
        info: os.stat_result | None = os.stat(output)  # follows symlinks: the file written
    except FileNotFoundError:
        info = None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise _error(output, exc) from None
    if info is None and output.endswith("/"):
        raise OutputError(f"{output}: directory does not exist (name a file for --output)")
    protected.refuse(output, info)
    descriptor = _descriptor(output)
    if descriptor is not None:
        _write_descriptor(output, descriptor, data)
    elif info is None or stat.S_ISREG(info.st_mode):
        _replace(output, data, info)
    elif stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{output}: is a directory (name a file for --output)")
    else:
        _write_direct(output, data)


class _Protected:
    """The files an output must never replace, looked up when the output is written."""

    def __init__(self, inputs: Iterable[str], state: str | None) -> None:
        self.names = inputs
        self.state = state
        self.state_identity = _identity(state) if state else None

    @cached_property
    def inputs(self) -> frozenset[tuple[int, int]]:
        """Device and inode of every input, looked up only when a regular file is at stake."""
        found = (
            _fd_identity(sys.stdin) if name == DASH else _identity(name) for name in self.names
        )
        return frozenset(identity for identity in found if identity is not None)

    def input_is(self, identity: tuple[int, int] | None) -> bool:
        return identity is not None and identity in self.inputs

    def refuse(self, output: str, info: os.stat_result | None) -> None:
        """OutputError if `output` is an input or the state file (a file that exists or not)."""
        identity = (info.st_dev, info.st_ino) if info is not None else None
        if info is not None and stat.S_ISREG(info.st_mode) and self.input_is(identity):
            raise OutputError(
                f"{output}: refusing to overwrite an input file (choose another --output)"
            )
        if self.state and (
            (identity is not None and identity == self.state_identity)
            or os.path.realpath(output) == os.path.realpath(self.state)
        ):
            raise OutputError(
                f"{output}: refusing to overwrite the --state file (choose another --output)"
            )


def _identity(name: str) -> tuple[int, int] | None:
    try:
        info = os.stat(name)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _fd_identity(stream: object) -> tuple[int, int] | None:
    """Device and inode of a stream's regular file (None for a pipe, terminal or test buffer)."""
    try:
        info = os.fstat(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _descriptor(output: str) -> int | None:
    """The descriptor a path like /dev/stdout or /dev/fd/3 names, else None."""
    path = os.path.normpath(output)
    if path in _STANDARD:
        return _STANDARD[path]
    match = _DESCRIPTOR.match(path)
    return int(match.group(1)) if match else None


def _write_all(fd: int, data: bytes) -> None:
    """Every byte of `data` to `fd` (a write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _interruptible(work: Callable[[], None]) -> None:
    """Run a write that may block for good (a FIFO nobody reads, a full pipe, a stuck device)
    in a thread, and wait for it in short steps: a signal may be delivered to any thread (polars
    has many) and only the main thread runs Python's handlers, so Ctrl-C still ends the run.
    The writer thread is a daemon: an interrupted run exits without it."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised in the main thread below
            failure.append(exc)

    writer = Thread(target=run, name="bnlog-writer", daemon=True)
    writer.start()
    while writer.is_alive():
        writer.join(WAIT_STEP)
    if failure:
        raise failure[0]


def _write_descriptor(output: str, fd: int, data: bytes) -> None:
    """Write to an open descriptor at its own position (so `>>` appends); a closed pipe is a
    BrokenPipeError, which the CLI treats like a closed stdout."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        _interruptible(lambda: _write_all(fd, data))
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _error(output, exc) from None


def _write_direct(output: str, data: bytes) -> None:
    """A device, FIFO or socket: open it and write (a FIFO waits for its reader)."""

    def write() -> None:
        fd = os.open(output, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)

    try:
        _interruptible(write)
    except OSError as exc:
        raise _error(output, exc) from None


def _replace(output: str, data: bytes, info: os.stat_result | None) -> None:
    """A regular file (or none yet): write a temporary file beside it, then rename it over."""
    real = Path(os.path.realpath(output))  # through a symlink: the link itself stays
    directory = real.parent
    if info is not None and (not os.access(real, os.W_OK) or not info.st_mode & 0o222):
        raise OutputError(f"{output}: the file is read-only (choose another --output)")
    if not directory.is_dir():
        named = os.path.dirname(output) or "."
        shown = directory if os.path.isdir(named) else named  # a link led elsewhere, or not
        raise OutputError(f"{output}: directory {shown} does not exist")
    tmp = directory / f".bnlog-{secrets.token_hex(6)}.tmp"
    try:
        # A new file takes the umask's mode; an existing one gets its own mode and owner below.
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600 if info else 0o666
        )
    except OSError as exc:
        raise OutputError(
            f"{output}: cannot create a temporary file in {directory} "
            f"({exc.strerror or exc}); choose another --output"
        ) from None
    try:
        try:
            if info is not None:
                _keep_owner_and_mode(output, fd, info)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, real)
    except BaseException as exc:  # Ctrl-C included: the old file stays, the temporary goes
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _error(output, exc) from None
        raise


def _keep_owner_and_mode(output: str, fd: int, info: os.stat_result) -> None:
    """Give the temporary file the replaced file's owner, group and mode (owner first: a chown
    clears the set-id bits)."""
    made = os.fstat(fd)
    if (info.st_uid, info.st_gid) != (made.st_uid, made.st_gid):
        try:
            os.fchown(fd, info.st_uid, info.st_gid)
        except PermissionError:
            raise OutputError(
                f"{output}: cannot keep its owner (uid {info.st_uid}, gid {info.st_gid}) "
                "when replacing it (choose another --output)"
            ) from None
    os.fchmod(fd, stat.S_IMODE(info.st_mode))


def _error(output: str, exc: OSError | ValueError) -> OutputError:
    why = exc.strerror if isinstance(exc, OSError) else None
    return OutputError(f"{output}: cannot write ({why or exc})")


def append_output(text: str, path: str, inputs: Iterable[str] = ()) -> None:
    """Append `text` to the file `path` (a CI step summary): never truncated or replaced, never
    an input. OutputError when it cannot be written."""
    protected = _Protected(inputs, None)
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    except (OSError, ValueError) as exc:
        raise _error(path, exc) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{path}: is a directory")
    if info is not None and protected.input_is((info.st_dev, info.st_ino)):
        raise OutputError(f"{path}: refusing to append to an input file")
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except (OSError, ValueError) as exc:
        raise _error(path, exc) from None
