"""`bnlog check`: the CI gate's exit status and its CI-readable formats."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from analyzer.cli import main

ROOT = Path(__file__).resolve().parents[1]
FREQTRADE_1021 = "clock_drift -1021 ADAUSD,BTCUSD,DOGEUSD,ETHUSD,SOLUSD"


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code), out, err


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_fails_on_error_findings_by_default(capsys) -> None:
    code, out, err = run(["check", "sample_logs/lot_size"], capsys)
    assert (code, err) == (1, "")
    assert out.splitlines()[-1] == (
        "bnlog check: FAIL: 2 findings at error or worse (verdict degraded, 17 events)"
    )
    assert sum(": FAIL [error] " in line for line in out.splitlines()) == 2


def test_threshold_moves_the_gate(capsys) -> None:
    assert run(["check", "--fail-on", "critical", "sample_logs/lot_size"], capsys)[0] == 0
    assert run(["check", "--fail-on", "info", "sample_logs/maintenance"], capsys)[0] == 1
    assert run(["check", "sample_logs/maintenance"], capsys)[0] == 0


def test_code_gate_fails_on_any_matching_event(capsys) -> None:
    # --code is a budget of 0 beside --fail-on (tests/test_budgets.py has the details)
    base = ["check", "--fail-on", "critical", "sample_logs/lot_size"]
    assert run([*base, "--code", "-1021"], capsys)[0] == 0
    code, out, _ = run([*base, "--code", "-2011"], capsys)
    assert code == 1
    assert out.splitlines()[-1].startswith(
        "bnlog check: FAIL: 0 findings at critical or worse; 1 of 1 budget exceeded"
    )


def test_github_annotations(capsys) -> None:
    code, out, _ = run(["check", "-f", "github", "sample_logs/revoked_key"], capsys)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(
        "::error file=sample_logs/revoked_key/connector.log,line=43,title=bnlog auth (critical)::"
    )
    assert "%0A" in first and "\n" not in first


def test_junit_is_valid_xml_with_failures(capsys) -> None:
    code, out, _ = run(["check", "-f", "junit", "sample_logs/lot_size"], capsys)
    assert code == 1
    suite = ET.fromstring(out)
    assert suite.tag == "testsuite"
    assert suite.get("failures") == "2" and suite.get("tests") == "4"
    assert len(suite.findall("testcase/failure")) == 2


def test_json_has_a_check_section(capsys) -> None:
    code, out, _ = run(["check", "-f", "json", "sample_logs/clock_drift"], capsys)
    data = json.loads(out)
    assert code == 1
    assert data["check"] == {
        "failed": True,
        "fail_on": "error",
        "codes": [],
        "failing": ["clock_drift"],
        "incomplete_fails": False,
        "findings": [{"fingerprint": FREQTRADE_1021, "status": "fail", "note": ""}],
        "budgets": [],
        "ignore": [],
        "baseline": None,
        "config": None,
    }
    assert data["schema"] == "bnlog.report/1"


def test_input_error_is_exit_2_not_1(capsys) -> None:
    code, out, err = run(["check", "no/such/file.log"], capsys)
    assert (code, out) == (2, "")
    assert err == "Error: no/such/file.log: no such file or directory\n"


# -- what CI systems keep ----------------------------------------------------------------------


def test_text_puts_path_and_line_first(capsys) -> None:
    _, out, _ = run(["check", "sample_logs"], capsys)
    findings = out.splitlines()[:-1]
    assert len(findings) == 24
    for line in findings:
        assert re.match(
            r"^sample_logs/[^ :]+:\d+: (FAIL|pass) \[(critical|error|warning|info)\] ", line
        ), line
    assert findings[0].startswith(
        "sample_logs/ban_storm/capture.jsonl:70: FAIL [critical] ip_ban: IP banned 2 times"
    )


def annotations(out: str) -> list[tuple[str, str]]:
    """(level, title) of each workflow command."""
    found = re.findall(r"^::(error|warning|notice) (?:[^:]*,)?title=([^:]*)::", out, re.M)
    return [(level, title.replace("%2C", ",")) for level, title in found]


def test_github_shows_at_most_10_per_level_the_most_severe_first(capsys) -> None:
    code, out, _ = run(["check", "-f", "github", "sample_logs"], capsys)
    assert code == 1
    shown = annotations(out)
    levels = [level for level, _ in shown]
    assert levels == ["error"] * 10 + ["warning"] * 5 + ["notice"] * 3
    # 3 critical and 13 error findings: the critical ones first, 6 errors left out
    assert [title for _, title in shown[:4]] == [
        "bnlog ip_ban (critical)",
        "bnlog auth (critical)",
        "bnlog geo_block (critical)",
        "bnlog clock_drift (error)",
    ]
    lines = out.splitlines()
    assert lines[-2] == (
        "bnlog check: 6 error annotations left out (GitHub shows 10 per level); "
        "the step summary and -f text list every finding"
    )
    assert lines[-1].startswith("bnlog check: FAIL: 16 findings at error or worse")
    assert len(lines) == 18 + 2


def test_github_failing_budgets_come_first_and_nothing_is_left_out_below_10(capsys) -> None:
    args = ["check", "-f", "github", "--max", "-1013=0", "sample_logs/lot_size"]
    code, out, _ = run(args, capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        "::error title=bnlog budget -1013 exceeded::15 events with -1013, at most 0 allowed (--max)"
    )
    assert "left out" not in out
    assert [level for level, _ in annotations(out)] == [
        "error",
        "error",
        "error",
        "warning",
        "notice",
    ]


def test_github_step_summary_is_appended(tmp_path: Path, monkeypatch, capsys) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = run(["check", "-f", "github", "sample_logs/lot_size"], capsys)
    assert (code, err) == (1, "")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## earlier step\n## bnlog check: FAIL\n")
    assert "- **FAIL** `filter_violation -1013 SOLUSD`" in text
    assert "# bnlog report" in text and "## Findings (4)" in text
    run(["check", "-f", "github", "sample_logs/lot_size"], capsys)
    assert summary.read_text(encoding="utf-8") == text + text[len("## earlier step\n") :]
    # only GitHub's format writes it
    run(["check", "sample_logs/lot_size"], capsys)
    assert summary.read_text(encoding="utf-8").count("## bnlog check:") == 2


def test_a_step_summary_that_cannot_be_written_is_a_warning(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a directory
    code, out, err = run(["check", "-f", "github", "sample_logs/lot_size"], capsys)
    assert code == 1
    assert out.splitlines()[-1].startswith("bnlog check: FAIL: 2 findings")
    assert err == f"warning: $GITHUB_STEP_SUMMARY not written: {tmp_path}: is a directory\n"


def shifted_log(folder: Path, date: str, drop: set[int]) -> None:
    """The lot_size story on another day, some of its failures left out."""
    lines = (ROOT / "sample_logs/lot_size/ccxt_bot.log").read_text().splitlines(keepends=True)
    (folder / "bot").mkdir(parents=True)
    text = "".join(line for n, line in enumerate(lines, 1) if n not in drop)
    (folder / "bot" / "ccxt_bot.log").write_text(text.replace("2025-01-20", date))


def test_junit_names_are_stable_across_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    shifted_log(tmp_path / "monday", "2025-01-20", set())
    shifted_log(tmp_path / "friday", "2025-03-07", {29, 30, 37, 38, 45, 46, 58, 59})
    suites = []
    for day in ("monday", "friday"):
        monkeypatch.chdir(tmp_path / day)
        args = ["check", "-f", "junit", "--max", "-2010=5", "--ignore", "-2011", "bot"]
        code, out, _ = run(args, capsys)
        assert code == 1
        suites.append(ET.fromstring(out))
    names = [[(c.get("classname"), c.get("name")) for c in s.iter("testcase")] for s in suites]
    assert (
        names[0]
        == names[1]
        == [
            ("bnlog.budget", "budget -2010"),
            ("bnlog.filter_violation", "filter_violation -1013 SOLUSD"),
            ("bnlog.filter_violation", "filter_violation -1013 ADAUSD"),
            ("bnlog.insufficient_balance", "insufficient_balance -2010 BTCUSD"),
            ("bnlog.order_state", "order_state -2011 ETHUSD"),
        ]
    )
    monday, friday = suites
    assert (monday.get("failures"), monday.get("skipped"), monday.get("tests")) == ("2", "1", "5")
    failure = monday.find("testcase[@name='filter_violation -1013 SOLUSD']/failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message", "").endswith("; bot/ccxt_bot.log:16")
    assert "bot/ccxt_bot.log:16: 2025-01-20 10:14:06,771 ERROR grid: SOL/USD" in failure.text
    assert "13 LOT_SIZE failures" in failure.text
    assert "5 LOT_SIZE failures" in (
        friday.find("testcase[@name='filter_violation -1013 SOLUSD']/failure").text or ""  # type: ignore[union-attr]
    )


def test_junit_evidence_is_redacted(capsys) -> None:
    _, out, _ = run(["check", "-f", "junit", "sample_logs/revoked_key"], capsys)
    suite = ET.fromstring(out)
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.text is not None
    assert "sample_logs/revoked_key/connector.log:43: " in failure.text
    assert not re.search(r"FAKE[A-Za-z0-9]{20,}|[0-9a-f]{64}", out)  # keys, signatures
