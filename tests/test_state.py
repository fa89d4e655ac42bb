"""Incremental runs (--state): only new lines, across appends, rotation and compression."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from analyzer.cli import main

ERR = (
    "2024-06-11 {t} - freqtrade.exchange.common - WARNING - get_balances() returned exception: "
    '"Could not get balance due to InvalidNonce. Message: binanceus {{"code":-1021,"msg":'
    '"Timestamp for this request is outside of the recvWindow."}}". Retrying still for 3 times.\n'
)
OK = "2024-06-11 {t} - freqtrade.worker - INFO - Bot heartbeat. PID=1, state='RUNNING'\n"


def lines(start: int, n: int, every: int = 3) -> str:
    """n log lines; every `every`-th is an error event."""
    out = []
    for i in range(start, start + n):
        t = f"02:{i // 60 % 60:02d}:{i % 60:02d},000"
        out.append((ERR if i % every == 0 else OK).format(t=t))
    return "".join(out)


def run(args: list[str], capsys) -> dict:
    with pytest.raises(SystemExit) as info:
        main(["report", "-f", "json", *args])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    return json.loads(out)


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_append_rotate_compress(logs: Path, capsys) -> None:
    state = str(logs / "state.json")
    log = logs / "bot.log"
    log.write_text(lines(0, 30) + "2024-06-11 02:00:31,000 - half a li")
    first = run(["--state", state, "bot.log*"], capsys)
    assert (first["totals"]["lines"], first["totals"]["events"]) == (30, 10)
    assert first["totals"]["resumed_files"] == 0

    # Nothing new: nothing read (the unfinished line waits).
    again = run(["--state", state, "bot.log*"], capsys)
    assert (again["totals"]["lines"], again["totals"]["events"]) == (0, 0)

    # The line is finished and more appended: line numbers continue from 31.
    with log.open("a") as handle:
        handle.write("ne\n" + lines(31, 9))
    appended = run(["--state", state, "bot.log*"], capsys)
    assert (appended["totals"]["lines"], appended["totals"]["events"]) == (10, 3)
    evidence = [e["line"] for f in appended["findings"] for e in f["evidence"]]
    assert min(evidence) == 34

    # Rotation: the tail written to bot.log before it was renamed is read from bot.log.1,
    # and the new bot.log from its start.
    with log.open("a") as handle:
        handle.write(lines(40, 6))
    os.rename(log, logs / "bot.log.1")
    log.write_text(lines(46, 12))
    rotated = run(["--state", state, "bot.log*"], capsys)
    assert (rotated["totals"]["lines"], rotated["totals"]["events"]) == (18, 6)
    assert rotated["totals"]["resumed_files"] == 1

    # bot.log.1 compressed by logrotate: recognised by its content, not read again.
    old = logs / "bot.log.1"
    (logs / "bot.log.2.gz").write_bytes(gzip.compress(old.read_bytes()))
    old.unlink()
    with log.open("a") as handle:
        handle.write(lines(58, 3))
    compressed = run(["--state", state, "bot.log*"], capsys)
    assert (compressed["totals"]["lines"], compressed["totals"]["events"]) == (3, 1)


def test_truncated_file_is_read_from_the_start(logs: Path, capsys) -> None:
    state = str(logs / "state.json")
    (logs / "bot.log").write_text(lines(0, 30))
    run(["--state", state, "bot.log"], capsys)
    (logs / "bot.log").write_text(lines(0, 6))  # copytruncate, then six new lines
    fresh = run(["--state", state, "bot.log"], capsys)
    assert (fresh["totals"]["lines"], fresh["totals"]["events"]) == (6, 2)


def test_damaged_state_is_a_usage_error(logs: Path, capsys) -> None:
    (logs / "bot.log").write_text(lines(0, 3))
    (logs / "state.json").write_text("{not json")
    with pytest.raises(SystemExit) as info:
        main(["report", "--state", "state.json", "bot.log"])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("Error: --state state.json: cannot read it")


def test_state_is_not_written_when_the_output_fails(logs: Path, capsys) -> None:
    (logs / "bot.log").write_text(lines(0, 3))
    with pytest.raises(SystemExit) as info:
        main(["report", "--state", "state.json", "-o", "no/such/dir/out.txt", "bot.log"])
    assert info.value.code == 2
    assert not (logs / "state.json").exists()
