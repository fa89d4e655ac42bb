"""Incremental runs (--state): every event counted exactly once over all runs — across appends,
rename, copy-truncate and compressed rotation, run boundaries inside a record, concurrent and
killed runs. Each test compares the sum over the runs with one full report of all text written."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer import state as state_module
from analyzer.cli import main

REPO = Path(__file__).resolve().parent.parent
ERR = (
    "2024-06-11 {t} - freqtrade.exchange.common - WARNING - get_balances() returned exception: "
    '"Could not get balance due to InvalidNonce. Message: binanceus {{"code":-1021,"msg":'
    '"Timestamp for this request is outside of the recvWindow."}}". Retrying still for 3 times.\n'
)
OK = "2024-06-11 {t} - freqtrade.worker - INFO - Bot heartbeat. PID=1, state='RUNNING'\n"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/freqtrade/exchange/common.py", line 161, in wrapper\n'
    "    return f(*args, **kwargs)\n"
    'ccxt.base.errors.InvalidNonce: binanceus {"code":-1021,"msg":"Timestamp for this request '
    'is outside of the recvWindow."}\n'
)


def lines(start: int, n: int, every: int = 3) -> str:
    """n log lines; every `every`-th is an error event."""
    out = []
    for i in range(start, start + n):
        t = f"{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d},000"
        out.append((ERR if i % every == 0 else OK).format(t=t))
    return "".join(out)


def run(args: list[str], capsys, command: str = "report") -> dict:
    with pytest.raises(SystemExit) as info:
        main([command, "-f", "json", *args])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    return json.loads(out)


def events(data: dict) -> int:
    return int(data["totals"]["events"])


def full_report(text: str, where: Path, capsys) -> int:
    """Events of one report (no state) over all the text written."""
    where.mkdir(exist_ok=True)
    (where / "all.log").write_text(text)
    return events(run([str(where / "all.log")], capsys))


class Log:
    """A bot log that remembers every byte written to it, across rotations."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = ""

    def write(self, text: str) -> None:
        with self.path.open("a") as handle:
            handle.write(text)
        self.written += text


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def runs(n: int, target: str, capsys, state: str = "s/bot.state") -> int:
    return sum(events(run(["--state", state, target], capsys)) for _ in range(n))


# --- appends, the held record, the unfinished line ----------------------------------------------


def test_append_between_runs(logs: Path, capsys) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, 30))
    total = runs(1, "bot.log", capsys)
    assert total == 10  # line 30 waits for the next run: it may go on
    log.write(lines(30, 10))
    appended = run(["--state", "s/bot.state", "bot.log"], capsys)
    assert appended["totals"]["resumed_files"] == 1
    assert min(e["line"] for f in appended["findings"] for e in f["evidence"]) == 31
    total += events(appended) + runs(2, "bot.log", capsys)
    assert total == full_report(log.written, logs / "full", capsys) == 14


def test_an_unfinished_line_is_read_once_the_file_stops_growing(logs: Path, capsys) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, 6) + ERR.format(t="03:00:00,000")[:-60])
    first = run(["--state", "s.json", "bot.log"], capsys)
    assert first["totals"]["lines"] == 5  # line 6 held, the unfinished line 7 not read
    second = run(["--state", "s.json", "bot.log"], capsys)  # not grown: read to the end
    assert second["totals"]["lines"] == 2
    assert events(first) + events(second) == 3
    assert events(run(["--state", "s.json", "bot.log"], capsys)) == 0


def test_an_unfinished_line_is_read_once_the_file_rotated(logs: Path, capsys) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, 6) + ERR.format(t="03:00:00,000")[:-1])  # an event, unterminated
    total = runs(1, "bot.log", capsys)
    os.rename("bot.log", "bot.log.1")
    log.write(lines(100, 4))
    total += runs(3, "bot.log", capsys)
    assert total == full_report(log.written, logs / "full", capsys) == 4


def test_a_record_split_by_a_run_boundary_counts_once(logs: Path, capsys) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(1, 5) + ERR.format(t="02:10:00,000"))  # the error line; its traceback later
    total = runs(1, "bot.log", capsys)
    log.write(TRACEBACK + lines(7, 3))
    total += runs(3, "bot.log", capsys)
    full = full_report(log.written, logs / "full", capsys)
    assert full == 3  # lines 3 and 9, and the error with its traceback once
    assert total == full


# --- rotation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["bot.log", "bot.log*"])
@pytest.mark.parametrize("compress", [False, True])
def test_rename_rotation(logs: Path, capsys, target: str, compress: bool) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, 40))
    total = runs(1, target, capsys)
    log.write(lines(40, 11))  # written before the rotation: only in the rotated file
    os.rename("bot.log", "bot.log.1")
    if compress:
        Path("bot.log.1.gz").write_bytes(gzip.compress(Path("bot.log.1").read_bytes()))
        os.unlink("bot.log.1")
    log.write(lines(51, 20))
    rotated = run(["--state", "s/bot.state", target], capsys)
    assert rotated["warnings"] == []
    total += events(rotated) + runs(2, target, capsys)
    assert total == full_report(log.written, logs / "full", capsys) == 24


def test_rotated_twice_and_compressed_later_is_not_read_again(logs: Path, capsys) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, 20))
    total = runs(1, "bot.log*", capsys)
    os.rename("bot.log", "bot.log.1")
    log.write(lines(20, 20))
    total += runs(1, "bot.log*", capsys)
    Path("bot.log.2.gz").write_bytes(gzip.compress(Path("bot.log.1").read_bytes()))
    os.unlink("bot.log.1")
    os.rename("bot.log", "bot.log.1")
    log.write(lines(40, 20))
    total += runs(3, "bot.log*", capsys)
    assert total == full_report(log.written, logs / "full", capsys) == 20


@pytest.mark.parametrize("size", [5, 400])  # under and well over 4 KiB
def test_copy_truncate(logs: Path, capsys, size: int) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, size))
    total = runs(1, "bot.log", capsys)
    log.write(lines(size, 7))
    shutil.copyfile("bot.log", "bot.log.1")  # logrotate copytruncate
    with open("bot.log", "r+") as handle:
        handle.truncate(0)
    log.write(lines(size + 7, 6))
    truncated = run(["--state", "s/bot.state", "bot.log"], capsys)
    assert truncated["warnings"] == []
    total += events(truncated) + runs(2, "bot.log", capsys)
    assert total == full_report(log.written, logs / "full", capsys)


def test_a_new_file_with_the_same_first_bytes_is_new(logs: Path, capsys) -> None:
    banner = "freqtrade 2024.5 starting\n"
    Path("bot.log").write_text(banner + lines(1, 5))
    first = runs(1, "bot.log", capsys)
    # The bot starts again: a new file, the same banner and even the same first lines.
    new = banner + lines(1, 5) + lines(6, 9)
    Path("bot.log.new").write_text(new)
    os.replace("bot.log.new", "bot.log")
    second = run(["--state", "s/bot.state", "bot.log"], capsys)
    assert any("may be lost" in w for w in second["warnings"])
    rest = events(second) + runs(2, "bot.log", capsys)
    assert rest == full_report(new, logs / "full", capsys) == 4
    assert first == 1


def test_a_deleted_file_is_a_warning(logs: Path, capsys) -> None:
    Path("bot.log").write_text(lines(0, 6))
    runs(1, "bot.log", capsys)
    os.unlink("bot.log")
    with pytest.raises(SystemExit) as info:
        main(["report", "-f", "json", "--state", "s/bot.state", "bot.log"])
    out, err = capsys.readouterr()
    assert info.value.code == 0
    assert "bot.log: gone since the last run" in err
    assert "may be lost" in json.loads(out)["warnings"][0]


def test_writer_appending_and_rotating_while_runs_repeat(logs: Path, capsys) -> None:
    """The issue's acceptance test: a writer appends to and rotates bot.log in every way
    while `bnlog summary --state` runs again and again on the bare path; the events summed
    over the runs are exactly those of one full report over everything written."""
    rng = random.Random(10)
    log = Log(logs / "bot.log")
    total, i, rotation = 0, 0, 0
    started = time.monotonic()
    for step in range(24):
        n = rng.randint(0, 40)
        text = lines(i, n)
        if rng.random() < 0.3:  # an unfinished line, finished by the next write
            cut = rng.randint(1, 60)
            text, rest = text + ERR.format(t="05:00:00,000")[:cut], ERR.format(t="05:00:00,000")
            log.write(text)
            log.write(rest[cut:])
        else:
            log.write(text)
        i += n
        if step % 5 == 4:
            rotation += 1
            way = rotation % 3
            if way == 0:
                os.rename("bot.log", "bot.log.1")
            elif way == 1:
                Path(f"bot.log-{rotation}.gz").write_bytes(
                    gzip.compress(Path("bot.log").read_bytes())
                )
                os.unlink("bot.log")
            else:
                shutil.copyfile("bot.log", "bot.log.1")
                with open("bot.log", "r+") as handle:
                    handle.truncate(0)
            log.write(lines(i, 3))
            i += 3
        summary = run(["--state", "s/bot.state", "bot.log"], capsys, command="summary")
        assert summary["warnings"] == [], summary["warnings"]
        total += events(summary)
    total += sum(
        events(run(["--state", "s/bot.state", "bot.log"], capsys, command="summary"))
        for _ in range(2)
    )
    assert total == full_report(log.written, logs / "full", capsys)
    assert time.monotonic() - started < 60


# --- the state file -----------------------------------------------------------------------------


def _process(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "analyzer", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_twenty_concurrent_runs_count_each_event_once(logs: Path, capsys) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, 300))
    procs = [
        _process(
            ["report", "-f", "json", "--state", "s.json", "-o", f"out{n}.json", "bot.log"], logs
        )
        for n in range(20)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    total = sum(events(json.loads(Path(f"out{n}.json").read_text())) for n in range(20))
    assert total == full_report(log.written, logs / "full", capsys) == 100
    assert json.loads(Path("s.json").read_text())["run"] == 20


def test_a_run_killed_midway_is_repeated(logs: Path, capsys) -> None:
    log = Log(logs / "bot.log")
    log.write(lines(0, 60_000))
    proc = _process(
        ["report", "-f", "json", "--state", "s.json", "-o", "killed.json", "bot.log"], logs
    )
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = Path("s.json").exists()
    total = events(json.loads(Path("killed.json").read_text())) if saved else 0
    total += runs(2, "bot.log", capsys, state="s.json")
    assert total == full_report(log.written, logs / "full", capsys) == 20_000


def test_a_corrupt_state_names_reset_state(logs: Path, capsys) -> None:
    Path("bot.log").write_text(lines(0, 3))
    Path("s.json").write_text("{not json")
    with pytest.raises(SystemExit) as info:
        main(["report", "--state", "s.json", "bot.log"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: --state s.json: cannot read it") and "--reset-state" in err
    assert err.count("\n") == 1
    again = run(["--state", "s.json", "--reset-state", "bot.log"], capsys)
    assert events(again) == 1  # line 3 (an event) held for the next run
    assert json.loads(Path("s.json").read_text())["schema"] == "bnlog.state/2"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--state", "-"], "--state '-': name a file"),
        (["--state", "o.txt", "-o", "o.txt"], "o.txt: refusing to overwrite the --state file"),
    ],
)
def test_impossible_state_paths_are_refused_before_any_work(
    logs: Path, capsys, args: list[str], message: str
) -> None:
    Path("bot.log").write_text(lines(0, 3))
    with pytest.raises(SystemExit) as info:
        main(["summary", *args, "bot.log"])
    out, err = capsys.readouterr()
    assert (info.value.code, out) == (2, "")
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1
    assert sorted(os.listdir()) == ["bot.log"]


def test_the_state_file_matched_by_the_inputs_is_not_read(logs: Path, capsys) -> None:
    Path("logs").mkdir()
    Path("logs/bot.log").write_text(lines(0, 7))
    first = run(["--state", "logs/bot.log.state", "logs"], capsys)
    second = run(["--state", "logs/bot.log.state", "logs", "logs/*"], capsys)
    assert first["totals"]["files"] == 1 and second["totals"]["files"] == 1
    assert events(first) + events(second) == 3


def test_a_run_waits_for_the_lock_then_gives_up_clearly(
    logs: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("bot.log").write_text(lines(0, 3))
    monkeypatch.setattr(state_module, "LOCK_WAIT", 0.2)
    held = os.open("s.json.lock", os.O_RDWR | os.O_CREAT)
    import fcntl

    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        with pytest.raises(SystemExit) as info:
            main(["report", "--state", "s.json", "bot.log"])
    finally:
        os.close(held)
    assert info.value.code == 2
    assert "another bnlog run is using it" in capsys.readouterr().err
    assert events(run(["--state", "s.json", "bot.log"], capsys)) == 1  # the lock was freed
