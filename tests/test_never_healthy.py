"""Nothing with errors, and nothing unread, is called healthy: one test per case that the
first build got wrong (issue 8), each asserting the verdict and the events it must find."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from analyzer.cli import cli, main

NODE_OBJECT = """\
2024-07-01T09:14:02.118Z info: [bapi] placing BTCUSD BUY 0.02 @ 62488.00
2024-07-01T09:14:02.420Z error: [bapi] order failed Error: Account has insufficient balance for requested action.
    at /app/node_modules/binance-api-node/dist/http-client.js:101:17
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
    at async placeBapi (/app/src/bapi.js:41:15) {
  code: -2010,
  url: 'https://api.binance.us/api/v3/order?symbol=BTCUSD&side=BUY&type=LIMIT&quantity=0.02'
}
2024-07-01T09:20:00.004Z info: heartbeat open_orders=0 ws=connected
"""

NEW_ORDER_REJECTED = (
    "2025-02-03 14:22:07,511 ERROR bot: order failed: APIError(code=-2010): New order rejected.\n"
    "2025-02-03 14:22:09,013 INFO bot: heartbeat\n"
)

CCXT_1021 = (
    "2024-06-11 02:10:04,814 - freqtrade.freqtradebot - WARNING - Unable to create trade for "
    'BTC/USD: Could not place buy order due to InvalidNonce. Message: binanceus {"code":-1021,'
    '"msg":"Timestamp for this request is outside of the recvWindow."}\n'
    "2024-06-11 02:10:05,002 - freqtrade.worker - INFO - Bot heartbeat. PID=1, state='RUNNING'\n"
)


def report_json(*args: str, stdin: bytes | None = None) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["report", "-f", "json", *args], input=stdin)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def codes(data: dict[str, object]) -> dict[int | None, int]:
    """Events per code (summed over HTTP statuses)."""
    rows = data["codes"]
    assert isinstance(rows, list)
    counts: dict[int | None, int] = {}
    for row in rows:
        counts[row["code"]] = counts.get(row["code"], 0) + row["count"]
    return counts


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The console script as a shell runs it: exit status, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_a_binance_api_node_error_object_is_an_insufficient_balance(tmp_path: Path) -> None:
    (tmp_path / "bot.log").write_text(NODE_OBJECT)
    data = report_json(str(tmp_path / "bot.log"))
    assert data["verdict"] == "degraded"
    assert codes(data) == {-2010: 1}
    assert [f["kind"] for f in data["findings"]] == ["insufficient_balance"]  # type: ignore[union-attr]


def test_node_bot_sample_keeps_its_unknown_order_and_price_filter() -> None:
    node = Path(__file__).resolve().parent.parent / "sample_logs" / "shapes" / "node_bot.log"
    found = codes(report_json(str(node)))
    assert found == {-2010: 3, -2011: 1, -1021: 1, -1013: 2}


def test_a_2010_with_a_message_the_table_lacks_is_not_healthy(tmp_path: Path) -> None:
    (tmp_path / "bot.log").write_text(NEW_ORDER_REJECTED)
    data = report_json(str(tmp_path / "bot.log"))
    assert data["verdict"] == "degraded"
    assert codes(data) == {-2010: 1}


COMPRESSORS = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_logs_are_read_as_files_and_on_stdin(tmp_path: Path, suffix: str) -> None:
    packed = COMPRESSORS[suffix](CCXT_1021.encode())
    (tmp_path / f"freqtrade.log.1.{suffix}").write_bytes(packed)
    for data in (report_json(str(tmp_path)), report_json("-", stdin=packed)):
        assert (data["verdict"], codes(data)) == ("degraded", {-1021: 1})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_logs_with_a_byte_order_mark_are_read(tmp_path: Path, encoding: str) -> None:
    # PowerShell's `>` writes UTF-16 LE with a BOM; Notepad writes UTF-8 with one
    (tmp_path / "bot.log").write_bytes(CCXT_1021.replace("\n", "\r\n").encode(encoding))
    data = report_json(str(tmp_path / "bot.log"))
    assert (data["verdict"], codes(data)) == ("degraded", {-1021: 1})
    assert data["findings"][0]["evidence"][0]["line"] == 1  # type: ignore[index]


def test_process_substitution_of_zcat_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(CCXT_1021.encode()))
    command = f'"{sys.executable}" -m analyzer check <(zcat "{tmp_path}"/*.gz)'
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # the -1021 finding is an error: the check fails
    assert "verdict degraded, 1 event" in done.stdout


def test_an_unreadable_input_makes_the_report_incomplete_and_the_check_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "quiet.log").write_text("2025-01-01 00:00:00,000 INFO bot: heartbeat\n")
    (tmp_path / "old-logs.zip").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    data = report_json(str(tmp_path))
    assert data["verdict"] == "incomplete"
    assert data["incomplete"] == "1 file unreadable"
    assert data["totals"]["unreadable_files"] == 1  # type: ignore[index]
    text = CliRunner().invoke(cli, ["report", "--no-chart", str(tmp_path)])
    assert "Verdict: INCOMPLETE — no error in what was read, but 1 file unreadable" in text.stdout
    status, out, err = run_main(["check", str(tmp_path)], capsys)
    assert status == 1
    assert "old-logs.zip: not a text log (zip archive), skipped" in err
    assert out.splitlines()[-1] == (
        "bnlog check: FAIL: 0 findings at error or worse; incomplete: 1 file unreadable "
        "(--allow-unreadable to pass) (verdict incomplete, 0 events)"
    )
    status, out, _ = run_main(["check", "--allow-unreadable", str(tmp_path)], capsys)
    assert status == 0
    assert "incomplete: 1 file unreadable (allowed)" in out


def test_incomplete_is_said_beside_a_worse_verdict(tmp_path: Path) -> None:
    (tmp_path / "bot.log").write_text(CCXT_1021)
    (tmp_path / "capture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(512))
    out = CliRunner().invoke(cli, ["report", "--no-chart", "--width", "200", str(tmp_path)])
    verdict = next(line for line in out.stdout.splitlines() if line.startswith("Verdict:"))
    assert verdict.startswith("Verdict: DEGRADED")
    assert verdict.endswith("; incomplete: 1 file unreadable (see Coverage)")


def test_cut_lines_make_the_report_incomplete(tmp_path: Path) -> None:
    (tmp_path / "bot.log").write_text("2025-01-01 00:00:00,000 INFO bot: " + "x" * 5000 + "\n")
    data = report_json("--max-line-bytes", "1024", str(tmp_path / "bot.log"))
    assert (data["verdict"], data["incomplete"]) == ("incomplete", "1 line skipped or cut")


def test_code_without_its_minus_is_read_as_the_binance_code(tmp_path: Path) -> None:
    (tmp_path / "bot.log").write_text(CCXT_1021)
    result = CliRunner().invoke(cli, ["report", "-f", "json", "--code", "1021", str(tmp_path)])
    assert "note: --code 1021 read as -1021" in result.stderr
    data = json.loads(result.stdout)
    assert data["filters"] == {"codes": [-1021], "events_before": 1}
    assert codes(data) == {-1021: 1}
    status = CliRunner().invoke(cli, ["report", "-f", "json", "--code", "429", str(tmp_path)])
    assert "note:" not in status.stderr
    assert json.loads(status.stdout)["filters"]["codes"] == [429]


def test_since_after_until_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bot.log").write_text(CCXT_1021)
    args = ["report", "--since", "2024-06-12", "--until", "2024-06-11", str(tmp_path)]
    status, out, err = run_main(args, capsys)
    assert (status, out) == (2, "")
    assert err.startswith("Error: --until 2024-06-11T00:00:00+00:00 is not after --since")
