"""Filters are visible: the report states them and what they removed, and a filter that
removed every error says so instead of calling the log healthy."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from analyzer.cli import cli

LOT_SIZE = str(Path(__file__).resolve().parent.parent / "sample_logs" / "lot_size")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_the_text_report_states_the_filters_and_what_they_removed() -> None:
    code, out = run("report", "--no-chart", "--symbol", "SOLUSD", LOT_SIZE)
    assert code == 0
    assert "Filters: --symbol SOLUSD; 13 of 17 errors kept (4 removed)" in out
    assert "Verdict: DEGRADED" in out


def test_a_filter_that_removes_every_error_is_not_healthy() -> None:
    code, out = run("report", "--no-chart", "--symbol", "DOGEUSD", LOT_SIZE)
    assert code == 0
    assert "Verdict: NOTHING LEFT — the filters removed every error" in out
    assert "HEALTHY" not in out
    code, out = run("report", "-f", "json", "--symbol", "DOGEUSD", LOT_SIZE)
    data = json.loads(out)
    assert data["verdict"] == "filtered"
    assert data["filters"] == {"symbols": ["DOGEUSD"], "events_before": 17}
    assert data["totals"]["events"] == 0


def test_without_filters_there_is_no_filters_line() -> None:
    code, out = run("report", "-f", "json", LOT_SIZE)
    assert json.loads(out)["filters"] == {}
    code, out = run("report", "--no-chart", LOT_SIZE)
    assert "Filters:" not in out


def test_markdown_states_the_filters_too() -> None:
    code, out = run("report", "-f", "markdown", "--code", "-2011", LOT_SIZE)
    assert "Filters: --code -2011; 1 of 17 errors kept (16 removed)" in out
