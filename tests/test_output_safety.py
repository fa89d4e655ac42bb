"""--output never harms a file: inputs and the state file refused, links written through, devices
and FIFOs written directly, regular files replaced atomically with their mode and owner."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from analyzer import output
from analyzer.cli import main

LINE = (
    "2024-03-18 02:10:01,118 - freqtrade.exchange.common - WARNING - get_balances() returned "
    'exception: "binanceus {"code":-1021,"msg":"Timestamp for this request is outside of the '
    'recvWindow."}". Retrying still for 3 times.\n'
)
REFUSED = "refusing to overwrite an input file (choose another --output)"


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, out, err


def run_process(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess[bytes]:
    """The real program in its own process (for stdin and stdout redirected to files)."""
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], cwd=cwd, check=False, timeout=60, **kwargs
    )


@pytest.fixture
def logs(tmp_path: Path, monkeypatch) -> Path:
    """d/a.log, d/b.log and d/sub/c.log, with the working directory at tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("a.log", "b.log", "sub/c.log"):
        (tmp_path / "d" / name).write_text(LINE)
    return tmp_path


def snapshot(top: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry below `top`: its kind and (for regular files) its bytes."""
    out: dict[str, tuple[str, bytes]] = {}
    for path in sorted(top.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISREG(mode):
            body = path.read_bytes()
        elif stat.S_ISLNK(mode):
            body = os.readlink(path).encode()
        else:
            body = b""
        out[str(path.relative_to(top))] = (stat.filemode(mode)[0], body)
    return out


def strays(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".bnlog-"))


# --- refused: an input after expansion, by device and inode, and the state file ---------------


@pytest.mark.parametrize(
    ("target", "inputs"),
    [
        ("d/a.log", ["d/*.log"]),  # a glob matched it
        ("d/sub/c.log", ["d/**/*.log"]),  # a recursive glob matched it
        ("d/sub/c.log", ["d"]),  # found in an input directory
        ("d/sub/c.log", ["d/s*"]),  # a glob matched its directory
        ("hard.log", ["d/a.log"]),  # a hard link to an input
        ("link.log", ["d"]),  # a symlink to an input
        ("d/a.log", ["link.log"]),  # the input named through a symlink
        ("dirlink/a.log", ["d/a.log"]),  # through a symlinked directory
    ],
)
def test_output_onto_an_input_is_refused(
    logs: Path, capsys, target: str, inputs: list[str]
) -> None:
    os.link(logs / "d" / "a.log", logs / "hard.log")
    os.symlink("d/a.log", logs / "link.log")
    os.symlink("d", logs / "dirlink")
    before = snapshot(logs)
    for command in ("report", "check"):
        code, out, err = run_main([command, "-o", target, *inputs], capsys)
        assert (code, out, err) == (2, "", f"Error: {target}: {REFUSED}\n")
    assert snapshot(logs) == before


def test_a_file_in_an_input_directory_that_is_not_read_may_be_written(logs: Path, capsys) -> None:
    """Expansion decides: a Markdown file in an input directory is not an input."""
    code, _, err = run_main(["report", "-f", "markdown", "-o", "d/report.md", "d"], capsys)
    assert (code, err) == (0, "")
    assert (logs / "d" / "report.md").read_text().startswith("# bnlog report\n")


def test_output_onto_stdin_redirected_from_it_is_refused(logs: Path) -> None:
    log = logs / "d" / "a.log"
    with log.open("rb") as stdin:
        proc = run_process(["report", "-o", "d/a.log", "-"], logs, stdin=stdin, capture_output=True)
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode() == f"Error: d/a.log: {REFUSED}\n"
    assert log.read_text() == LINE


@pytest.mark.parametrize("args", [[], ["-o", "/dev/fd/1"], ["-o", "-"]])
def test_stdout_redirected_onto_an_input_is_refused(logs: Path, args: list[str]) -> None:
    log = logs / "d" / "a.log"
    with log.open("ab") as stdout:  # `bnlog report d/a.log >> d/a.log`
        proc = run_process(
            ["report", *args, "d/a.log"], logs, stdout=stdout, stderr=subprocess.PIPE
        )
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("Error: ")
    assert proc.stderr.decode().count("\n") == 1
    assert log.read_text() == LINE


@pytest.mark.parametrize("exists", [False, True])
def test_output_onto_the_state_file_is_refused(logs: Path, capsys, exists: bool) -> None:
    if exists:
        code, _, _ = run_main(["report", "--state", "state.json", "d/a.log"], capsys)
        assert code == 0
    before = snapshot(logs)
    os.symlink("state.json", logs / "state-link.json")
    for target in ("state.json", "state-link.json", "./d/../state.json"):
        code, out, err = run_main(
            ["report", "-o", target, "--state", "state.json", "d/a.log"], capsys
        )
        assert (code, out) == (2, "")
        assert err == (
            f"Error: {target}: refusing to overwrite the --state file (choose another --output)\n"
        )
    after = snapshot(logs)
    del after["state-link.json"]
    assert after == before  # no output, and no state written either


def test_the_state_is_saved_only_after_the_output_is_written(logs: Path, capsys) -> None:
    for target in ("d/a.log", "read-only.txt", "d"):
        (logs / "read-only.txt").write_text("old\n")
        (logs / "read-only.txt").chmod(0o444)
        code, _, _ = run_main(["report", "-o", target, "--state", "state.json", "d"], capsys)
        assert code == 2
        assert not (logs / "state.json").exists()
    code, _, _ = run_main(["report", "-o", "out.txt", "--state", "state.json", "d"], capsys)
    assert code == 0
    marks = json.loads((logs / "state.json").read_text())["files"]
    assert len(marks) == 3 and (logs / "out.txt").read_text().startswith("bnlog report")


# --- written through, written directly, never replaced ----------------------------------------


def test_a_symlink_is_written_through_and_stays_a_link(logs: Path, capsys) -> None:
    (logs / "real.txt").write_text("old\n")
    os.symlink("real.txt", logs / "link.txt")
    os.symlink("new.txt", logs / "dangling.txt")
    for link, real in (("link.txt", "real.txt"), ("dangling.txt", "new.txt")):
        code, out, err = run_main(["report", "-f", "json", "-o", link, "d/a.log"], capsys)
        assert (code, out, err) == (0, "", "")
        assert os.readlink(logs / link) == real
        assert json.loads((logs / real).read_text())["schema"] == "bnlog.report/1"
    assert strays(logs) == []


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], bytes]]]:
    """A FIFO, with a reader thread collecting what is written into it (the callable waits for
    the writer to close it and returns the bytes)."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    got: list[bytes] = []

    def read() -> None:
        with path.open("rb") as pipe:
            got.append(pipe.read())

    def received() -> bytes:
        reader.join(10)
        return got[0] if got else b""

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    yield path, received
    if reader.is_alive():  # nothing opened it for writing: release the reader
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
    reader.join(5)


def test_a_fifo_is_written_not_replaced(logs: Path, capsys, fifo) -> None:
    path, received = fifo
    code, out, err = run_main(["report", "-f", "json", "-o", str(path), "d/a.log"], capsys)
    assert (code, out, err) == (0, "", "")
    assert json.loads(received())["totals"]["events"] == 1
    assert stat.S_ISFIFO(path.lstat().st_mode)
    assert strays(path.parent) == []


def _waits_for_a_fifo_reader(pid: int) -> bool | None:
    """Whether a thread of `pid` is blocked opening a FIFO (None: the kernel does not say where
    threads wait)."""
    chans = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            chans.append((task / "wchan").read_text())
        except OSError:
            continue
    if all(chan in ("", "0") for chan in chans):
        return None
    return "wait_for_partner" in chans


def test_ctrl_c_ends_a_run_blocked_on_a_fifo_nobody_reads(logs: Path) -> None:
    """A signal may reach any of polars' threads, never waking a main thread stuck in open()."""
    path = logs / "pipe"
    os.mkfifo(path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "report", "-o", "pipe", "d"],
        cwd=logs,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, told = time.monotonic() + 30, False
        while not (blocked := _waits_for_a_fifo_reader(proc.pid)):
            told = told or blocked is not None
            if proc.poll() is not None or time.monotonic() > deadline:
                if not told:
                    pytest.skip("this kernel does not show where a thread waits")
                pytest.fail(f"never blocked on the FIFO (exit {proc.poll()})")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        start = time.monotonic()
        out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err) == (130, b"", b"\nAborted.\n")
    assert elapsed < 1.0
    assert stat.S_ISFIFO(path.lstat().st_mode)


@pytest.fixture
def device(tmp_path: Path) -> Path:
    """A null character device: a private one (as root, who could replace /dev/null itself),
    else /dev/null, which an ordinary user cannot replace."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    path = tmp_path / "null"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError as exc:
        pytest.skip(f"cannot make a device node ({exc.strerror})")
    return path


def test_a_device_is_written_not_replaced(logs: Path, capsys, device: Path) -> None:
    before = device.lstat()
    code, out, err = run_main(["report", "-o", str(device), "d"], capsys)
    assert (code, out, err) == (0, "", "")
    after = device.lstat()
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert strays(device.parent) == []


# These tests name /dev/fd/1, not /dev/stdout: a writer that regressed to renaming over its
# target would, run as root, replace /dev/stdout itself (it happened); in /dev/fd it cannot.


@pytest.mark.parametrize(
    ("path", "fd"),
    [
        ("/dev/stdout", 1),
        ("/dev/stderr", 2),
        ("/dev/stdin", 0),
        ("/dev/fd/1", 1),
        ("/dev/fd/63", 63),
        ("/proc/self/fd/3", 3),
        ("/dev//stdout", 1),
        ("/dev/null", None),
        ("/dev/fd/x", None),
        ("/tmp/dev/stdout", None),
        ("stdout", None),
    ],
)
def test_descriptor_paths(path: str, fd: int | None) -> None:
    assert output._descriptor(path) == fd


def test_dev_fd_is_the_open_descriptor(logs: Path, capfd) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "-f", "json", "-o", "/dev/fd/1", "d/a.log"])
    out, err = capfd.readouterr()
    assert (exit_info.value.code, err) == (0, "")
    assert json.loads(out)["totals"]["events"] == 1


def test_dev_fd_appended_to_a_file_keeps_what_was_there(logs: Path) -> None:
    """`bnlog check -o /dev/stdout d >> ci.log` appends: no rename, no truncation."""
    history = logs / "ci.log.txt"
    history.write_text("earlier\n")
    inode = history.stat().st_ino
    with history.open("ab") as stdout:
        proc = run_process(
            ["check", "-f", "json", "-o", "/dev/fd/1", "d"], logs, stdout=stdout, stderr=None
        )
    assert proc.returncode == 1  # the clock-drift finding fails the gate
    text = history.read_text()
    assert text.startswith("earlier\n{") and json.loads(text[len("earlier\n") :])
    assert history.stat().st_ino == inode


# --- regular files: atomic, with their mode and owner; read-only refused ----------------------


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o600, 0o666, 0o2644])
def test_a_file_is_replaced_atomically_with_its_mode(logs: Path, capsys, mode: int) -> None:
    target = logs / "out.txt"
    target.write_text("old\n")
    target.chmod(mode)
    inode = target.stat().st_ino
    code, _, err = run_main(["report", "-o", "out.txt", "d/a.log"], capsys)
    assert (code, err) == (0, "")
    assert target.read_text().startswith("bnlog report")
    assert target.stat().st_ino != inode  # replaced by a rename, never truncated in place
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert strays(logs) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another owner")
def test_a_file_keeps_its_owner(logs: Path, capsys) -> None:
    target = logs / "out.txt"
    target.write_text("old\n")
    os.chown(target, 4321, 8765)
    target.chmod(0o640)
    code, _, err = run_main(["report", "-o", "out.txt", "d/a.log"], capsys)
    assert (code, err) == (0, "")
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 8765, 0o640)
    assert target.read_text().startswith("bnlog report")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another owner")
def test_a_file_whose_owner_cannot_be_kept_is_refused(logs: Path, capsys, monkeypatch) -> None:
    """What an ordinary user meets with another user's group-writable file: `>` would write it,
    a rename would take it over. Refused (the chown an ordinary user may not do is simulated)."""
    target = logs / "theirs.txt"
    target.write_text("theirs\n")
    os.chown(target, 4321, 8765)
    target.chmod(0o666)

    def not_allowed(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", not_allowed)
    code, out, err = run_main(["report", "-o", "theirs.txt", "d/a.log"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        "Error: theirs.txt: cannot keep its owner (uid 4321, gid 8765) when replacing it "
        "(choose another --output)\n"
    )
    assert target.read_text() == "theirs\n" and target.stat().st_uid == 4321
    assert strays(logs) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o027])
def test_a_new_file_follows_the_umask(logs: Path, capsys, umask: int) -> None:
    old = os.umask(umask)
    try:
        code, _, _ = run_main(["report", "-o", "new.txt", "d/a.log"], capsys)
    finally:
        os.umask(old)
    assert code == 0
    assert stat.S_IMODE((logs / "new.txt").stat().st_mode) == 0o666 & ~umask


def test_a_read_only_file_is_refused(logs: Path, capsys) -> None:
    target = logs / "out.txt"
    target.write_text("keep me\n")
    target.chmod(0o444)
    os.symlink("out.txt", logs / "link.txt")
    for name in ("out.txt", "link.txt"):
        code, out, err = run_main(["report", "-o", name, "d/a.log"], capsys)
        assert (code, out) == (2, "")
        assert err == f"Error: {name}: the file is read-only (choose another --output)\n"
    assert target.read_text() == "keep me\n"
    assert strays(logs) == []


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("d", "d: is a directory (name a file for --output)"),
        ("no/such/out.txt", "no/such/out.txt: directory no/such does not exist"),
        ("dangling", "dangling: directory {root}/gone does not exist"),
        ("loop", "loop: cannot write (Too many levels of symbolic links)"),
        ("", "--output '': no file named (use '-' for stdout)"),
        ("newdir/", "newdir/: directory does not exist (name a file for --output)"),
    ],
)
def test_an_impossible_output_is_one_error_line(
    logs: Path, capsys, target: str, message: str
) -> None:
    os.symlink("loop", logs / "loop")
    os.symlink("gone/out.txt", logs / "dangling")
    before = snapshot(logs)
    code, out, err = run_main(["report", "-o", target, "d/a.log"], capsys)
    assert (code, out) == (2, "")
    head, _, tail = f"Error: {message}\n".partition("{root}")  # (the root may be redacted)
    assert err.startswith(head) and err.endswith(tail) and err.count("\n") == 1
    assert snapshot(logs) == before
    assert strays(logs.parent) == []


# --- interrupted: the old file stays, nothing half-written, no temporary file -----------------


def _fail_halfway(failure: BaseException):
    def write_half(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise failure

    return write_half


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (KeyboardInterrupt(), 130, "\nAborted.\n"),  # click's words for Ctrl-C
        (
            OSError(errno.ENOSPC, "No space left on device"),
            2,
            "Error: out.txt: cannot write (No space left on device)\n",
        ),
    ],
)
@pytest.mark.parametrize("existing", [True, False])
def test_an_interrupted_write_leaves_no_trace(
    logs: Path, capsys, monkeypatch, failure: BaseException, code: int, message: str, existing: bool
) -> None:
    target = logs / "out.txt"
    if existing:
        target.write_text("the old report\n")
    monkeypatch.setattr(output, "_write_all", _fail_halfway(failure))
    result = run_main(["report", "-o", "out.txt", "--state", "state.json", "d"], capsys)
    assert result == (code, "", message)
    assert (target.read_text() if existing else target.exists()) == (
        "the old report\n" if existing else False
    )
    assert strays(logs) == []
    assert not (logs / "state.json").exists()
