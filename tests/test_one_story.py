"""One story per bot: a folder of several bots' logs is not read as one bot's story, and a
bot log and an HTTP capture of the same requests are not counted twice."""

from __future__ import annotations

import json
from contextlib import chdir
from pathlib import Path

from click.testing import CliRunner

from analyzer.cli import cli
from analyzer.detectors.base import Finding
from analyzer.options import Options
from analyzer.pipeline import analyze

AHEAD = '{"code":-1021,"msg":"Timestamp for this request was 1000ms ahead of the server\'s time."}'
BEHIND = '{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}'
REVOKED = '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'
LOT = '{"code":-1013,"msg":"Filter failure: LOT_SIZE"}'


def freqtrade(day: str, minutes: range, body: str) -> str:
    """Freqtrade warning lines, one per minute, each carrying the exchange's JSON body."""
    return "".join(
        f"{day} 03:{m:02d}:04,814 - freqtrade.freqtradebot - WARNING - Unable to create trade "
        f"for BTC/USD: Could not place buy order. Message: binanceus {body}\n"
        for m in minutes
    )


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def kinds(findings: tuple[Finding, ...], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def test_two_bots_clocks_are_two_stories_not_one_clock_jumping(tmp_path: Path) -> None:
    write(tmp_path, "fast/freqtrade.log", freqtrade("2024-06-11", range(0, 6), AHEAD))
    write(tmp_path, "slow/freqtrade.log", freqtrade("2024-06-11", range(2, 5), BEHIND))
    paths = [str(tmp_path)]
    clocks = kinds(analyze(paths, Options()).findings, "clock_drift")
    assert [(Path(f.source).name, f.count, f.details["direction"]) for f in clocks] == [
        ("fast", 6, "ahead"),
        ("slow", 3, "behind"),
    ]
    merged = kinds(analyze(paths, Options(group_by="none")).findings, "clock_drift")
    assert [(f.source, f.count, f.details["direction"]) for f in merged] == [("", 9, "mixed")]


def test_a_revoked_key_is_not_fixed_by_another_bot_trading(tmp_path: Path) -> None:
    write(tmp_path, "old/freqtrade.log", freqtrade("2024-06-11", range(0, 4), REVOKED))
    write(tmp_path, "new/freqtrade.log", freqtrade("2024-08-20", range(0, 2), LOT))
    paths = [str(tmp_path)]
    (auth,) = kinds(analyze(paths, Options()).findings, "auth")
    assert Path(auth.source).name == "old"
    assert auth.details["status"] == "failing"
    assert auth.title.startswith("Trading blocked since 03:00 UTC on 2024-06-11")
    (merged,) = kinds(analyze(paths, Options(group_by="none")).findings, "auth")
    assert merged.details["status"] == "recovered"


def test_group_by_file_splits_one_directory(tmp_path: Path) -> None:
    write(tmp_path, "a.log", freqtrade("2024-06-11", range(0, 2), AHEAD))
    write(tmp_path, "b.log", freqtrade("2024-06-11", range(3, 4), BEHIND))
    by_dir = kinds(analyze([str(tmp_path)], Options()).findings, "clock_drift")
    assert [(f.source, f.count) for f in by_dir] == [("", 3)]  # one directory: one story
    by_file = kinds(analyze([str(tmp_path)], Options(group_by="file")).findings, "clock_drift")
    assert sorted((Path(f.source).name, f.count) for f in by_file) == [("a.log", 2), ("b.log", 1)]


def test_the_report_names_each_findings_source() -> None:
    with chdir(SHAPES.parent.parent):
        result = CliRunner().invoke(
            cli, ["report", "--no-chart", "--width", "200", "sample_logs/shapes"]
        )
    assert result.exit_code == 0
    sources = sorted(
        line.split(" · source ")[1]
        for line in result.output.splitlines()
        if "kind filter_violation" in line
    )
    # one finding per filter and per bot: the rotated bot's files are a directory of their own
    assert sources == [
        "sample_logs/shapes",
        "sample_logs/shapes",
        "sample_logs/shapes/rotated",
        "sample_logs/shapes/rotated",
    ]


SHAPES = Path(__file__).resolve().parent.parent / "sample_logs" / "shapes"
BAN_STORM = Path(__file__).resolve().parent.parent / "sample_logs" / "ban_storm"


def test_a_capture_and_a_bot_log_of_the_same_requests_count_once() -> None:
    report = analyze([str(BAN_STORM)], Options())
    (ban,) = kinds(report.findings, "ip_ban")
    (limited,) = kinds(report.findings, "rate_limit")
    # both files record each rejected request: 54 ban lines are 27 requests, 34 are 17
    assert (ban.count, ban.details["counted_once"]) == (27, 25)
    assert (limited.count, limited.details["counted_once"]) == (17, 17)
    assert ban.details["preceding_429s"] == 17  # no warning counted for two bans
    assert "recorded the same requests" in ban.fix
    capture_only = analyze([str(BAN_STORM / "capture.jsonl")], Options())
    (alone,) = kinds(capture_only.findings, "ip_ban")
    assert "counted_once" not in alone.details


def test_json_findings_carry_their_source(tmp_path: Path) -> None:
    write(tmp_path, "fast/freqtrade.log", freqtrade("2024-06-11", range(0, 2), AHEAD))
    write(tmp_path, "slow/freqtrade.log", freqtrade("2024-06-11", range(0, 2), BEHIND))
    result = CliRunner().invoke(cli, ["report", "-f", "json", str(tmp_path)])
    data = json.loads(result.output)
    assert sorted(Path(f["source"]).name for f in data["findings"]) == ["fast", "slow"]
