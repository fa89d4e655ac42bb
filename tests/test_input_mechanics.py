"""Input mechanics: pipes, FIFOs, /dev/fd/N, Ctrl-C, compression sniffed from a peek, encodings,
line ends, files reached twice, directory walks, binaries, and absurd option and state values.

What needs a real pipe, a real signal or another user runs `python -m analyzer` as a process;
the rest goes through `analyzer.cli.main` (its one error boundary) or the sources API.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from analyzer.cli import main
from analyzer.sources import Coverage, Source, expand, read_chunks, to_lines
from analyzer.streams import BINARY_MAGIC, binary_kind

REPO = Path(__file__).resolve().parent.parent
ERR = (
    "2024-06-11 02:00:{s:02d},000 - freqtrade.exchange.common - WARNING - get_balances() returned "
    'exception: "Could not get balance due to InvalidNonce. Message: binanceus {{"code":-1021,'
    '"msg":"Timestamp for this request is outside of the recvWindow."}}". Retrying still for 3 times.'
)
OK = (
    "2024-06-11 02:00:{s:02d},000 - freqtrade.worker - INFO - Bot heartbeat. PID=1, state='RUNNING'"
)


def log_lines(n: int = 6) -> list[str]:
    """n lines; the odd-numbered ones (lines 2, 4, …) are -1021 events."""
    return [(ERR if i % 2 else OK).format(s=i % 60) for i in range(n)]


LOG = "\n".join(log_lines()) + "\n"  # 6 lines, 3 events
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`bnlog …` in this process, through its error boundary: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def report(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[dict, list[str]]:
    """The JSON report of a run that must succeed, and its warnings."""
    code, out, err = run_main(["report", "-f", "json", *args], capsys)
    assert code == 0, err
    assert all(line.startswith("warning: ") for line in err.splitlines()), err
    return json.loads(out), [line.removeprefix("warning: ") for line in err.splitlines()]


def process(
    args: list[str],
    *,
    stdin: bytes | None = None,
    timeout: float = 60,
    prefix: tuple[str, ...] = (),
    **kwargs: object,
) -> subprocess.CompletedProcess[bytes]:
    """`python -m analyzer …` as its own process, in the current directory."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "analyzer", *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own directory and names files relative to it, so messages hold
    short names (pytest's long directory names are not what is tested)."""
    monkeypatch.chdir(tmp_path)


def events_of(data: dict) -> int:
    return int(data["totals"]["events"])


def one_error_line(err: str) -> str:
    """stderr of a refused run: exactly one line, 'Error: …', never a traceback."""
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


# --- pipes, FIFOs, process substitution: compression sniffed from a peek, never a seek ---------


@pytest.mark.parametrize("kind", [None, *COMPRESS])
def test_stdin_pipe_is_read_plain_or_compressed(kind: str | None) -> None:
    data = LOG.encode() if kind is None else COMPRESS[kind](LOG.encode())
    done = process(["report", "-f", "json", "-"], stdin=data)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    result = json.loads(done.stdout)
    assert (result["totals"]["lines"], events_of(result)) == (6, 3)


def _feed(path: Path, data: bytes, pieces: int = 7) -> threading.Thread:
    """Write `data` into the FIFO at `path` from a thread, in small pieces (short reads)."""

    def write() -> None:
        with open(path, "wb") as fifo:
            step = max(1, len(data) // pieces)
            for i in range(0, len(data), step):
                fifo.write(data[i : i + step])
                fifo.flush()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", [None, *COMPRESS])
def test_fifo_is_read_plain_or_compressed(kind: str | None, tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "bot.fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, LOG.encode() if kind is None else COMPRESS[kind](LOG.encode()))
    data, warnings = report([str(fifo)], capsys)
    writer.join(5)
    assert warnings == []
    assert (data["totals"]["files"], data["totals"]["lines"], events_of(data)) == (1, 6, 3)


def test_dev_fd_of_a_pipe_is_read(tmp_path: Path) -> None:
    """What process substitution hands over: /dev/fd/N, the read end of a pipe."""
    read_end, write_end = os.pipe()
    payload = gzip.compress(LOG.encode())

    def write() -> None:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        done = process(["report", "-f", "json", f"/dev/fd/{read_end}"], pass_fds=(read_end,))
    finally:
        os.close(read_end)
    writer.join(5)
    assert done.returncode == 0, done.stderr
    assert events_of(json.loads(done.stdout)) == 3


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for <(…)")
def test_bash_process_substitution_is_read(tmp_path: Path) -> None:
    (tmp_path / "bot.log.xz").write_bytes(lzma.compress(LOG.encode()))
    done = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m analyzer report -f json <(cat bot.log.xz)'],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert events_of(json.loads(done.stdout)) == 3


def test_fifo_with_state_is_read_whole_and_not_remembered(tmp_path: Path) -> None:
    """--state never opens a FIFO a second time (it would block) nor records it."""
    fifo = tmp_path / "bot.fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, LOG.encode())
    state = tmp_path / "state.json"
    done = process(["report", "-f", "json", "--state", str(state), str(fifo)], timeout=30)
    writer.join(5)
    assert done.returncode == 0, done.stderr
    assert events_of(json.loads(done.stdout)) == 3
    assert json.loads(state.read_text())["files"] == []


# --- Ctrl-C ------------------------------------------------------------------------------------


def _wait_until_blocked(proc: subprocess.Popen[bytes], wchans: set[str]) -> None:
    """At least 0.5 s, and (where Linux says) until a thread sleeps in one of `wchans`."""
    time.sleep(0.5)
    tasks = Path(f"/proc/{proc.pid}/task")
    deadline = time.monotonic() + 15
    while tasks.is_dir() and time.monotonic() < deadline and proc.poll() is None:
        seen = set()
        for task in tasks.iterdir():
            try:
                seen.add((task / "wchan").read_text().strip())
            except OSError:
                continue
        if seen & wchans:
            return
        time.sleep(0.05)


def _interrupt(path: str, wchans: set[str]) -> tuple[float, int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "report", path],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_blocked(proc, wchans)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        return time.monotonic() - sent, proc.returncode, err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_ctrl_c_stops_a_run_blocked_on_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "nobody-writes.fifo"
    os.mkfifo(fifo)
    elapsed, code, err = _interrupt(str(fifo), {"wait_for_partner"})
    assert elapsed < 1.0
    assert code == 130
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line] == ["Aborted."]


def test_ctrl_c_stops_a_run_blocked_on_a_device() -> None:
    """A terminal that never sends a line (a pseudo-terminal's other end stays open)."""
    master, slave = os.openpty()
    try:
        elapsed, code, err = _interrupt(os.ttyname(slave), {"wait_woken", "n_tty_read"})
    finally:
        os.close(master)
        os.close(slave)
    assert elapsed < 1.0
    assert code == 130
    assert [line for line in err.splitlines() if line] == ["Aborted."]


# --- what a file starts with: compression magic, encodings, line ends, NUL holes --------------


@pytest.mark.parametrize(
    ("kind", "head"),
    [
        ("gzip", b"\x1f\x8b looks like gzip"),
        ("bzip2", b"BZh9 is a fine prefix for a line"),
        ("xz", b"\xfd7zXZ\x00 is not xz"),
        ("zstd", b"(\xb5/\xfd is not zstd"),
    ],
)
def test_compression_magic_that_does_not_decompress_is_read_as_text(
    kind: str, head: bytes, capsys
) -> None:
    path = Path("bot.log")
    path.write_bytes(head + b"\n" + LOG.encode())
    data, warnings = report([str(path)], capsys)
    assert (data["totals"]["lines"], events_of(data)) == (7, 3)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}: starts like {kind} data but does not decompress (")
    assert warnings[0].endswith("); read as text")


def test_multi_member_and_multi_frame_streams_are_read_whole(tmp_path: Path, capsys) -> None:
    half = "\n".join(log_lines()[:3]) + "\n", "\n".join(log_lines()[3:]) + "\n"
    (tmp_path / "a.gz").write_bytes(
        gzip.compress(half[0].encode()) + gzip.compress(half[1].encode())
    )
    zstd = zstandard.ZstdCompressor()
    (tmp_path / "b.zst").write_bytes(
        zstd.compress(half[0].encode()) + zstd.compress(half[1].encode())
    )
    data, warnings = report([str(tmp_path / "a.gz"), str(tmp_path / "b.zst")], capsys)
    assert warnings == []
    assert (data["totals"]["lines"], events_of(data)) == (12, 6)


def test_truncated_zstd_keeps_what_was_read_and_warns(capsys) -> None:
    rng = random.Random(5)  # lines that do not compress away: several zstd blocks
    body = "".join(f"{line} {rng.getrandbits(256):x}\n" for line in log_lines(2000)).encode()
    whole = zstandard.ZstdCompressor(write_content_size=False).compress(body)
    path = Path("cut.log.zst")
    path.write_bytes(whole[: len(whole) * 3 // 4])
    data, warnings = report([str(path)], capsys)
    assert 0 < data["totals"]["lines"] < 2000
    assert warnings == [
        f"{path}: compressed data is corrupt or truncated (zstd data ends inside a frame); "
        "analysed what could be read"
    ]


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-8-sig", "utf-32"]
)
def test_byte_order_marks_are_read(encoding: str, tmp_path: Path, capsys) -> None:
    """PowerShell's `>` writes UTF-16LE with a BOM and CRLF line ends."""
    text = LOG.replace("\n", "\r\n")
    if encoding == "utf-16-le-bom":
        raw = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        raw = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        raw = text.encode(encoding)
    path = tmp_path / "bot.log"
    path.write_bytes(raw)
    data, warnings = report([str(path)], capsys)
    assert warnings == []
    assert (data["totals"]["lines"], events_of(data)) == (6, 3)
    evidence = data["findings"][0]["evidence"][0]
    assert evidence["line"] == 2
    assert evidence["text"] == log_lines()[1]


def test_utf16_on_stdin_and_compressed() -> None:
    data = gzip.compress(b"\xff\xfe" + LOG.encode("utf-16-le"))
    done = process(["report", "-f", "json", "-"], stdin=data)
    assert done.returncode == 0, done.stderr
    assert events_of(json.loads(done.stdout)) == 3


def test_utf16_log_resumes_with_state(capsys) -> None:
    log = Path("bot.log")
    log.write_bytes(LOG.encode("utf-16"))
    first, _ = report(["--state", "s.json", "bot.log"], capsys)
    with log.open("ab") as handle:  # appended by the same writer: no second BOM
        handle.write(LOG.encode("utf-16-le"))
    second, _ = report(["--state", "s.json", "bot.log"], capsys)
    third, _ = report(["--state", "s.json", "bot.log"], capsys)  # it stopped growing
    # The last record waits for the run after (it may go on): line 6 is counted second.
    assert (events_of(first), events_of(second), events_of(third)) == (2, 3, 1)
    assert second["totals"]["resumed_files"] == 1
    assert min(e["line"] for e in second["findings"][0]["evidence"]) == 6


def test_cr_only_line_ends_are_line_ends(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mac.log"
    path.write_bytes(LOG.replace("\n", "\r").encode())
    data, warnings = report([str(path)], capsys)
    assert warnings == []
    assert (data["totals"]["lines"], events_of(data)) == (6, 3)
    assert [e["line"] for e in data["findings"][0]["evidence"]] == [2, 4, 6]
    # also compressed, and when the CRs only become line ends after a chunk boundary
    coverage = Coverage()
    path.write_bytes(gzip.compress(LOG.replace("\n", "\r").encode()))
    chunks = list(read_chunks(Source(str(path)), coverage, chunk_bytes=100, max_line_bytes=400))
    assert [line for c in chunks for line in to_lines(c, coverage, 1 << 16)] == log_lines()


def test_a_stray_cr_in_an_lf_log_stays_inside_its_line(tmp_path: Path) -> None:
    path = tmp_path / "progress.log"
    path.write_bytes(b"10%\r50%\r100% done\nnext\nlast\n")
    coverage = Coverage()
    chunks = list(read_chunks(Source(str(path)), coverage))
    assert [line for c in chunks for line in to_lines(c, coverage, 1 << 16)] == [
        "10%\r50%\r100% done",
        "next",
        "last",
    ]


def test_nul_hole_at_the_start_is_passed_over(capsys) -> None:
    """copytruncate while the bot writes at its old offset: NULs, then the new lines."""
    path = Path("bot.log")
    path.write_bytes(b"\x00" * 20_000 + LOG.encode())
    data, warnings = report([str(path)], capsys)
    assert events_of(data) == 3
    assert data["findings"][0]["evidence"][0]["line"] == 2
    assert warnings == [f"{path}: starts with 20000 NUL bytes, passed over"]


# --- what is read once, what is walked ---------------------------------------------------------


def test_the_same_file_reached_twice_is_read_once(tmp_path: Path, capsys) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "bot.log"
    log.write_text(LOG)
    os.link(log, tmp_path / "hard.log")
    (tmp_path / "soft.log").symlink_to(log)
    paths = [str(log), str(log), str(tmp_path / "hard.log"), str(tmp_path / "soft.log"), str(logs)]
    assert [s.name for s in expand(paths, Coverage())] == [str(log)]
    data, warnings = report(paths, capsys)
    assert warnings == []
    assert (data["totals"]["files"], events_of(data)) == (1, 3)


def test_stdin_named_twice_is_read_once() -> None:
    done = process(["report", "-f", "json", "-", "/dev/stdin", "-"], stdin=LOG.encode())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["totals"]["files"], events_of(result)) == (1, 3)


def test_closed_stdin_is_an_input_error() -> None:
    done = process(["report", "-"], preexec_fn=lambda: os.close(0))
    assert done.returncode == 2
    assert one_error_line(done.stderr.decode()) == "Error: -: stdin is closed (nothing to read)"


def test_walks_skip_hidden_directories_and_links_out_of_the_tree(tmp_path: Path, capsys) -> None:
    tree, outside = Path("tree"), Path("outside")
    for directory in (tree / ".git", tree / ".venv" / "lib", tree / "sub", outside):
        directory.mkdir(parents=True)
    for path in (tree / ".git" / "x.log", tree / ".venv" / "lib" / "y.log", outside / "o.log"):
        path.write_text(LOG)
    (tree / "sub" / "bot.log").write_text(LOG)
    (tree / "current.log").symlink_to(Path("sub", "bot.log"))  # inside: read (once)
    (tree / "elsewhere.log").symlink_to(Path("..", "outside", "o.log"))
    (tree / "elsewhere").symlink_to(tmp_path / "outside")
    data, warnings = report([str(tree)], capsys)
    assert (data["totals"]["files"], events_of(data)) == (1, 3)
    assert warnings == [
        f"{tree / 'elsewhere'}: symlink out of {tree}, not followed",
        f"{tree / 'elsewhere.log'}: symlink out of {tree}, not followed",
    ]
    # a hidden directory the user names is walked
    data, _ = report([str(tree / ".git")], capsys)
    assert events_of(data) == 3


def test_fifo_inside_a_directory_is_skipped_not_waited_for(capsys) -> None:
    Path("logs").mkdir()
    Path("logs", "bot.log").write_text(LOG)
    os.mkfifo(Path("logs", "pipe.log"))
    data, warnings = report(["logs"], capsys)
    assert events_of(data) == 3
    assert warnings == ["logs/pipe.log: not a regular file (broken link?), skipped"]


def _without_root_powers() -> tuple[str, ...] | None:
    """A command prefix under which permissions apply (None: cannot be arranged here)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        return None
    caps = "-dac_override,-dac_read_search"  # what lets root read and list anything
    return ("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}")


def test_a_named_directory_that_cannot_be_listed_is_an_input_error() -> None:
    prefix = _without_root_powers()
    if prefix is None:
        pytest.skip("running as root without setpriv: every directory can be listed")
    Path("locked", "inner").mkdir(parents=True)
    Path("ok", "closed").mkdir(parents=True)
    Path("ok", "bot.log").write_text(LOG)
    for directory in (Path("locked"), Path("ok", "closed")):
        directory.chmod(0)
    try:
        named = process(["report", "locked"], prefix=prefix)
        inside = process(["report", "-f", "json", "ok"], prefix=prefix)
    finally:
        for directory in (Path("locked"), Path("ok", "closed")):
            directory.chmod(0o755)
    assert named.returncode == 2
    assert one_error_line(named.stderr.decode()) == (
        "Error: locked: cannot list this directory (Permission denied)"
    )
    # a directory found inside a named one is a warning, the rest is analysed
    assert inside.returncode == 0, inside.stderr
    assert events_of(json.loads(inside.stdout)) == 3
    assert (
        inside.stderr.decode() == "warning: ok/closed: cannot list (Permission denied), skipped\n"
    )


# --- what is not text ----------------------------------------------------------------------


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bot.log", LOG)
    return buffer.getvalue()


def _tar(compress: Callable[[bytes], bytes] = lambda b: b) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("bot.log")
        info.size = len(LOG)
        archive.addfile(info, io.BytesIO(LOG.encode()))
    return compress(buffer.getvalue())


NOT_TEXT: dict[str, tuple[bytes, str]] = {
    "logs.zip": (_zip(), "zip archive"),
    "logs.tar": (_tar(), "tar archive"),
    "logs.tar.gz": (_tar(gzip.compress), "tar archive"),
    "logs.tar.zst": (_tar(lambda b: zstandard.ZstdCompressor().compress(b)), "tar archive"),
    "chart.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "PNG image"),
    "photo.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)), "JPEG image"),
    "bot": (b"\x7fELF\x02\x01\x01\x00" + bytes(200), "ELF executable"),
    "random.bin": (random.Random(11).randbytes(64 << 10), "binary data"),
    "utf16-no-bom.log": (LOG.encode("utf-16-le"), "binary data"),
}


def test_what_is_not_text_is_skipped_with_a_warning_that_names_it(capsys) -> None:
    Path("logs").mkdir()
    for name, (content, _) in NOT_TEXT.items():
        Path("logs", name).write_bytes(content)
    Path("logs", "real.log").write_text(LOG)
    data, warnings = report(["logs"], capsys)
    assert (data["totals"]["files"], events_of(data)) == (1, 3)
    assert sorted(warnings) == sorted(
        f"logs/{name}: not a text log ({what}), skipped" for name, (_, what) in NOT_TEXT.items()
    )


def test_dev_zero_is_not_text() -> None:
    done = process(["report", "-f", "json", "/dev/zero"], timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode() == "warning: /dev/zero: not a text log (NUL bytes only), skipped\n"


def test_damaged_text_stays_text() -> None:
    """Only clear cases are binary: a damaged log is read for its events. Control bytes must
    be common (random bytes hold 10%) and no 16 printable characters may follow each other."""
    junk = random.Random(3).randbytes(4096)
    assert binary_kind(LOG.encode() + junk) is None
    assert binary_kind(junk[:100] + LOG.encode() + junk) is None
    assert binary_kind(log_lines()[1].encode().replace(b" ", b"\x00" * 9)) is None  # 30% NULs
    assert binary_kind(b"x\x9c\x01\x02\n" + LOG.encode()) is None
    assert binary_kind(junk[:200]) is None  # too little to judge: read (a few junk lines)
    assert binary_kind(b"\x00" * 9000) is None  # a regular file's hole, not yet its text
    assert binary_kind(b"\x00" * 9000, regular=False) == "NUL bytes only"
    assert binary_kind("Ошибка сети\n".encode("cp1251") * 50) is None  # not UTF-8, still text
    assert binary_kind(junk) == "binary data"


@pytest.mark.parametrize(("name", "offset", "magic"), BINARY_MAGIC)
def test_every_binary_magic_is_recognised(name: str, offset: int, magic: bytes) -> None:
    head = b"a" * offset + magic + b" then some text\n" * 20
    assert binary_kind(head) == name


# --- state files and option values -------------------------------------------------------------


@pytest.fixture
def a_log() -> Path:
    Path("bot.log").write_text(LOG)
    return Path("bot.log")


@pytest.mark.parametrize("command", ["report", "check"])
@pytest.mark.parametrize("state", ["/dev/zero", "/dev/null", "DIR"])
def test_non_regular_state_path_is_refused(state: str, command: str, a_log: Path, capsys) -> None:
    state = "." if state == "DIR" else state
    code, out, err = run_main([command, "--state", state, str(a_log)], capsys)
    assert (code, out) == (2, "")
    assert one_error_line(err) == (
        f"Error: --state {state}: not a regular file (name a file for the state)"
    )


def test_fifo_state_path_is_refused_without_waiting(a_log: Path) -> None:
    os.mkfifo("state.fifo")
    done = process(["report", "--state", "state.fifo", str(a_log)], timeout=30)
    assert done.returncode == 2
    assert one_error_line(done.stderr.decode()) == (
        "Error: --state state.fifo: not a regular file (name a file for the state)"
    )


def test_state_in_a_missing_directory_is_created(a_log: Path, capsys) -> None:
    code, _, err = run_main(["report", "--state", "no/such/dir/s.json", str(a_log)], capsys)
    assert code == 0, err
    assert json.loads(Path("no/such/dir/s.json").read_text())["schema"] == "bnlog.state/2"


def _mark(**changes: object) -> dict[str, object]:
    mark: dict[str, object] = {
        "path": "/x/bot.log",
        "dev": 1,
        "ino": 2,
        "offset": 100,
        "lines": 3,
        "head": "ab",
        "head_len": 100,
    }
    mark.update(changes)
    return mark


def _state(*marks: object) -> str:
    return json.dumps({"schema": "bnlog.state/1", "files": list(marks)})


DAMAGED_STATES = {
    "not json": ("{", "cannot read it (not JSON: Expecting property name"),
    "nested too deep": ("[" * 100_000, "cannot read it (not JSON: nested too deeply)"),
    "not utf-8": (b'{"schema": "\xff"}', "cannot read it (not JSON: 'utf-8' codec can't decode"),
    "a list": ("[]", "not a bnlog state file"),
    "other schema": ('{"schema": "x"}', "not a bnlog state file"),
    "no files": ('{"schema": "bnlog.state/1"}', "damaged (no list of files)"),
    "files not a list": ('{"schema": "bnlog.state/1", "files": {}}', "damaged (no list of files)"),
    "file not an object": (_state(1), "damaged (file 1: not an object)"),
    "offset a string": (_state(_mark(offset="10")), "damaged (file 1: offset is not a count)"),
    "offset negative": (_state(_mark(offset=-1)), "damaged (file 1: offset is not a count)"),
    "offset huge": (_state(_mark(offset=10**30)), "damaged (file 1: offset is not a count)"),
    "lines a float": (_state(_mark(lines=1.5)), "damaged (file 1: lines is not a count)"),
    "dev a bool": (_state(_mark(dev=True)), "damaged (file 1: dev is not a count)"),
    "path a number": (_state(_mark(path=7)), "damaged (file 1: path is not a string)"),
    "head null": (_state(_mark(head=None)), "damaged (file 1: head is not a string)"),
    "head_len too long": (
        _state(_mark(head_len=200)),
        "damaged (file 1: head_len is out of range)",
    ),
    "a field missing": (_state({"path": "/x"}), "damaged (file 1: missing ['dev', 'head'"),
    "a field unknown": (_state(_mark(extra=1)), "damaged (file 1: unknown field 'extra')"),
}


@pytest.mark.parametrize("case", DAMAGED_STATES)
def test_damaged_state_is_a_one_line_error(case: str, a_log: Path, capsys) -> None:
    content, message = DAMAGED_STATES[case]
    state = Path("state.json")
    state.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = state.read_bytes()
    code, out, err = run_main(["report", "--state", str(state), str(a_log)], capsys)
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert line.startswith(f"Error: --state {state}: {message}"), line
    assert "--reset-state" in line
    assert state.read_bytes() == before  # the damaged state is left for the user to look at


ABSURD = {
    "--since 999999d": (["--since", "999999d"], "--since '999999d': too far back"),
    "--since 10**20 d": (["--since", "9" * 20 + "d"], "--since '" + "9" * 20 + "d': too far back"),
    "--since 5000 digits": (["--since", "9" * 5000 + "h"], "too far back"),
    "--since year 0 in UTC": (
        ["--since", "0001-01-01T00:00+01:00"],
        "--since '0001-01-01T00:00+01:00': out of range once converted to UTC",
    ),
    "--until year 10000 in UTC": (
        ["--until", "9999-12-31T23:59-01:00"],
        "--until '9999-12-31T23:59-01:00': out of range once converted to UTC",
    ),
    "--until before --since": (
        ["--since", "2024-06-02", "--until", "2024-06-01"],
        "--until 2024-06-01T00:00:00+00:00 is not after --since 2024-06-02T00:00:00+00:00",
    ),
    "--until equal to --since": (["--since", "2h", "--until", "2h"], "is not after --since"),
    "--until 1d before --since 2h": (["--since", "2h", "--until", "1d"], "is not after --since"),
    "--since not a time": (["--since", "yesterday"], "--since 'yesterday': not a time"),
    "--tz a directory of zones": (["--tz", "America"], "--tz 'America': unknown time zone"),
    "--tz a path": (["--tz", "../../../etc/hostname"], "unknown time zone"),
}


@pytest.mark.parametrize("command", ["report", "check"])
@pytest.mark.parametrize("case", ABSURD)
def test_absurd_option_values_are_one_line_usage_errors(
    case: str, command: str, a_log: Path, capsys
) -> None:
    args, message = ABSURD[case]
    code, out, err = run_main([command, *args, str(a_log)], capsys)
    assert (code, out) == (2, "")
    assert message in one_error_line(err)


def test_far_but_valid_times_are_accepted(a_log: Path, capsys) -> None:
    data, _ = report(["--since", "0001-01-01", "--until", "9999-12-31T23:59", str(a_log)], capsys)
    assert events_of(data) == 3
    data, _ = report(["--since", "3000d", str(a_log)], capsys)  # 2016 onwards: all 3 events
    assert events_of(data) == 3


# --- reading speed does not depend on sniffing --------------------------------------------------


def test_sniffing_reads_a_big_plain_file_in_few_large_reads(tmp_path: Path) -> None:
    """The peek is put back in front of the file, not re-read: a plain file is still read in
    chunk-sized blocks, and every byte exactly once."""
    path = tmp_path / "big.log"
    body = ("\n".join(log_lines(600)) + "\n").encode() * 20
    path.write_bytes(body)
    coverage = Coverage()
    chunks = list(read_chunks(Source(str(path)), coverage, chunk_bytes=1 << 20))
    assert b"".join(chunks) == body
    assert len(chunks) == -(-len(body) // (1 << 20))
    assert coverage.bytes == len(body)
