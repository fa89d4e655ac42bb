"""The CLI: exit codes, stdout/stderr discipline, options, atomic output — via CliRunner and main()."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer import __version__
from analyzer.cli import cli, main

LOG = (
    "2024-03-18 02:10:01,118 - freqtrade.exchange.common - WARNING - get_balances() returned exception: "
    '"Could not get balance due to InvalidNonce. Message: binanceus {"code":-1021,"msg":"Timestamp for '
    'this request is outside of the recvWindow."}". Retrying still for 3 times.\n'
    "2024-03-18 02:11:00,000 - freqtrade.worker - INFO - heartbeat\n"
    "2024-03-18 03:00:00,000 - freqtrade.freqtradebot - WARNING - Could not create limit buy order on market SOL/USD. "
    'Tried to buy amount 1.2345678 at rate 140.0. Message: binanceus {"code":-1013,"msg":"Filter failure: LOT_SIZE"}\n'
)


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the real entry point (with its error boundary) and capture everything."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code), out, err


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "bot.log"
    path.write_text(LOG)
    return path


def test_version(capsys) -> None:
    code, out, _ = run_main(["--version"], capsys)
    assert code == 0 and out == f"bnlog, version {__version__}\n"


def test_report_json_contract(log: Path, capsys) -> None:
    code, out, err = run_main(["report", "-f", "json", str(log)], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["schema"] == "bnlog.report/1"
    assert data["totals"] == {
        "files": 1,
        "lines": 3,
        "bytes": len(LOG.encode()),
        "events": 2,
        "skipped_lines": 0,
        "repaired_lines": 0,
        "resumed_files": 0,
        "unreadable_files": 0,
    }
    rows = {(c["code"], c["http_status"]): c for c in data["codes"]}
    assert set(rows) == {(-1021, None), (-1013, None)}
    assert rows[(-1013, None)]["reason"] == "filter:LOT_SIZE"
    assert rows[(-1013, None)]["category"] == "filter"
    assert rows[(-1021, None)]["reason"] == "clock_behind"
    for row in data["codes"]:
        assert set(row) >= {
            "code",
            "http_status",
            "count",
            "category",
            "reason",
            "severity",
            "known",
            "fix",
        }
    kinds = sorted(f["kind"] for f in data["findings"])
    assert kinds == ["clock_drift", "filter_violation"]
    assert data["verdict"] == "degraded"


def test_report_is_deterministic(log: Path, capsys) -> None:
    first = run_main(["report", "--color", "never", str(log)], capsys)
    second = run_main(["report", "--color", "never", str(log)], capsys)
    assert first == second


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    code, out, err = run_main(["report", str(tmp_path / "nope.log")], capsys)
    assert (code, out) == (2, "")
    assert err == f"Error: {tmp_path / 'nope.log'}: no such file or directory\n"


def test_bad_option_value_is_exit_2(log: Path, capsys) -> None:
    code, _, err = run_main(["report", "--since", "yesterday-ish", str(log)], capsys)
    assert code == 2
    assert err.startswith("Error: --since 'yesterday-ish': not a time")
    code, _, err = run_main(["report", "--tz", "Mars/Olympus", str(log)], capsys)
    assert code == 2 and "unknown time zone" in err
    code, _, err = run_main(["report", "--format", "yaml", str(log)], capsys)
    assert code == 2 and "Invalid value for '-f' / '--format'" in err


def test_no_paths_is_a_usage_error(capsys) -> None:
    code, _, err = run_main(["report"], capsys)
    assert code == 2 and "Missing argument 'PATHS...'" in err


def test_filters(log: Path, capsys) -> None:
    code, out, _ = run_main(["report", "-f", "json", "--code", "-1013", str(log)], capsys)
    assert [c["code"] for c in json.loads(out)["codes"]] == [-1013]
    code, out, _ = run_main(["report", "-f", "json", "--symbol", "sol/usd", str(log)], capsys)
    assert json.loads(out)["totals"]["events"] == 1
    code, out, _ = run_main(
        [
            "report",
            "-f",
            "json",
            "--since",
            "2024-03-18T02:30:00Z",
            "--until",
            "2024-03-18T04:00",
            str(log),
        ],
        capsys,
    )
    assert [c["code"] for c in json.loads(out)["codes"]] == [-1013]


def test_output_is_written_atomically_and_never_over_an_input(
    log: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "report.md"
    code, out, _ = run_main(["report", "-f", "markdown", "-o", str(target), str(log)], capsys)
    assert code == 0 and out == ""
    assert target.read_text().startswith("# bnlog report\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    before = log.read_bytes()
    code, _, err = run_main(["report", "-o", str(log), str(log)], capsys)
    assert code == 2 and "refusing to overwrite an input file" in err
    assert log.read_bytes() == before


def test_stdin_and_gzip(log: Path, tmp_path: Path) -> None:
    packed = tmp_path / "bot.log.1.gz"
    packed.write_bytes(gzip.compress(log.read_bytes()))
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "-f", "json", "-", str(packed)], input=LOG)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["files"] == 2 and data["totals"]["events"] == 4


def test_color_only_when_asked(log: Path, capsys, monkeypatch) -> None:
    _, plain, _ = run_main(["report", str(log)], capsys)
    assert "\x1b[" not in plain
    _, colored, _ = run_main(["report", "--color", "always", str(log)], capsys)
    assert "\x1b[" in colored
    monkeypatch.setenv("NO_COLOR", "1")
    _, auto, _ = run_main(["report", "--color", "auto", str(log)], capsys)
    assert "\x1b[" not in auto


def test_no_chart(log: Path, capsys) -> None:
    _, with_chart, _ = run_main(["report", str(log)], capsys)
    _, without, _ = run_main(["report", "--no-chart", str(log)], capsys)
    assert "Timeline" in with_chart and "Timeline" not in without


def test_codes_command(capsys) -> None:
    code, out, _ = run_main(["codes", "-1021"], capsys)
    assert code == 0 and "INVALID_TIMESTAMP" in out and "recvWindow" in out
    code, out, _ = run_main(["codes", "LOT_SIZE"], capsys)
    assert code == 0 and "stepSize" in out
    code, _, err = run_main(["codes", "no-such-thing-xyz"], capsys)
    assert code == 2 and err.startswith("Error: no entry matches")


def test_python_m_analyzer_runs(log: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer", "report", "-f", "json", str(log)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["events"] == 2
