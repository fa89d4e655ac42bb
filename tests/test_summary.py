"""`bnlog summary`: the cron digest — new / ongoing / resolved, quiet when clean, the JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main
from tests.test_state import lines

RATE = (
    '2024-06-11 03:{m:02d}:{s:02d},000 - ccxt.base.exchange - WARNING - binanceus {{"code":-1003,'
    '"msg":"Too much request weight used; current limit is 1200 request weight per 1 MINUTE."}}\n'
)


def summary(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["summary", *args])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def digest(args: list[str], capsys) -> dict:
    code, out, err = summary(["-f", "json", *args], capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def statuses(data: dict) -> dict[str, str]:
    return {f["kind"]: f["status"] for f in data["summary"]["findings"]}


def test_new_ongoing_resolved(logs: Path, capsys) -> None:
    log = Path("bot.log")
    log.write_text(lines(0, 30))
    first = digest(["--state", "s/bot.state", "bot.log"], capsys)
    assert statuses(first) == {"clock_drift": "new"}
    assert first["summary"]["window"]["previous_run_at"] is None
    with log.open("a") as handle:
        handle.write(lines(30, 9) + "".join(RATE.format(m=1, s=s) for s in range(12)))
        handle.write(lines(1001, 2, every=1000))
    second = digest(["--state", "s/bot.state", "bot.log"], capsys)
    assert statuses(second)["clock_drift"] == "ongoing"
    assert "new" in statuses(second).values()
    ongoing = next(f for f in second["summary"]["findings"] if f["status"] == "ongoing")
    assert (ongoing["count"], ongoing["previous"]) == (3, 10)
    with log.open("a") as handle:
        handle.write(lines(1003, 6, every=1000))
    third = digest(["--state", "s/bot.state", "bot.log"], capsys)
    assert set(statuses(third).values()) == {"resolved"}
    code, out, _ = summary(["--state", "s/bot.state", "bot.log"], capsys)
    assert code == 0 and "bnlog summary" in out


def test_text_marks_and_compares(logs: Path, capsys) -> None:
    Path("bot.log").write_text(lines(0, 30))
    summary(["--state", "s.json", "bot.log"], capsys)
    with Path("bot.log").open("a") as handle:
        handle.write(lines(30, 30))
    code, out, _ = summary(["--state", "s.json", "--width", "100", "bot.log"], capsys)
    assert code == 0
    assert "  ONGOING  [error]" in out
    assert "↓ 10% from 10" in out or "↑" in out or "= 10" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_quiet_if_clean_prints_nothing(logs: Path, capsys) -> None:
    Path("bot.log").write_text(lines(1, 2, every=1000))
    code, out, err = summary(["--quiet-if-clean", "--state", "s.json", "bot.log"], capsys)
    assert (code, out, err) == (0, "", "")
    assert Path("s.json").exists()  # the state still moves on
    with Path("bot.log").open("a") as handle:
        handle.write(lines(3, 3))
    code, out, _ = summary(["--quiet-if-clean", "--state", "s.json", "bot.log"], capsys)
    assert code == 0 and out.startswith("bnlog summary")


def test_json_summary_object(logs: Path, capsys) -> None:
    Path("bot.log").write_text(lines(0, 30))
    data = digest(["--state", "s.json", "bot.log"], capsys)
    assert data["schema"] == "bnlog.report/1"
    block = data["summary"]
    assert set(block) == {"stateful", "clean", "window", "events", "files", "findings", "codes"}
    assert block["files"] == [{"path": "bot.log", "from": 0, "to": 4430, "resumed": False}]
    assert block["events"] == {"count": 10, "previous": None}
    assert block["codes"] == [{"code": -1021, "http_status": None, "count": 10, "previous": None}]
    assert block["clean"] is False


def test_without_state_since_is_a_plain_window(logs: Path, capsys) -> None:
    Path("bot.log").write_text(lines(0, 30))
    data = digest(["--since", "2024-06-11T00:00:10", "bot.log"], capsys)
    assert data["summary"]["stateful"] is False
    assert statuses(data) == {"clock_drift": "new"}
    assert data["totals"]["events"] == 6  # 12, 15, …, 27
    assert not Path("s.json").exists()


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_every_format_is_deterministic(logs: Path, capsys, fmt: str) -> None:
    Path("bot.log").write_text(lines(0, 30))
    outs = [summary(["-f", fmt, "bot.log"], capsys)[1] for _ in range(2)]
    if fmt == "json":  # run_at is the time of the run
        outs = [json.dumps({**json.loads(o), "summary": None}) for o in outs]
    assert outs[0] == outs[1] and outs[0]
