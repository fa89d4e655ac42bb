"""`bnlog check --write-baseline` / `--baseline`: findings recorded by a stable fingerprint, and
a later check that fails only on what is new or grew beyond the tolerance.

The logs are sample_logs/lot_size/ccxt_bot.log, whole or with lines left out: it has 13
LOT_SIZE failures on SOLUSD (8 of them on lines 29-59), 2 NOTIONAL failures on ADAUSD (lines
21-22), one insufficient balance and one -2011."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.baseline import SCHEMA_ID, compare
from analyzer.cli import main

ROOT = Path(__file__).resolve().parents[1]
LOG = (ROOT / "sample_logs" / "lot_size" / "ccxt_bot.log").read_text(encoding="utf-8")
LATER_LOT_SIZE = {29, 30, 37, 38, 45, 46, 58, 59}  # 8 of the 13 LOT_SIZE failures
NOTIONAL = {21, 22}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code), out, err


def write_log(without: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    lines = LOG.splitlines(keepends=True)
    Path("logs").mkdir(exist_ok=True)
    kept = "".join(line for n, line in enumerate(lines, 1) if n not in without)
    Path("logs/ccxt_bot.log").write_text(kept, encoding="utf-8")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)


def test_write_baseline_records_fingerprints_deterministically(
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_log()
    code, out, err = run(["check", "--write-baseline", "base.json", "logs"], capsys)
    assert (code, out) == (0, "")  # the findings fail a check, but writing a baseline passes
    assert err == "bnlog check: baseline written to base.json: 4 fingerprints of 4 findings\n"
    first = Path("base.json").read_bytes()
    assert run(["check", "--write-baseline", "base.json", "logs"], capsys)[0] == 0
    assert Path("base.json").read_bytes() == first
    data = json.loads(first)
    assert data["schema"] == SCHEMA_ID
    prints = [f["fingerprint"] for f in data["findings"]]
    assert (
        prints
        == sorted(prints)
        == [
            "filter_violation -1013 ADAUSD",
            "filter_violation -1013 SOLUSD",
            "insufficient_balance -2010 BTCUSD",
            "order_state -2011 ETHUSD",
        ]
    )
    assert data["findings"][1] == {
        "fingerprint": "filter_violation -1013 SOLUSD",
        "kind": "filter_violation",
        "source": "",
        "codes": [-1013],
        "symbols": ["SOLUSD"],
        "count": 13,
    }
    assert "2025" not in first.decode()  # no times


def test_unchanged_findings_pass(capsys: pytest.CaptureFixture[str]) -> None:
    write_log()
    run(["check", "--write-baseline", "base.json", "logs"], capsys)
    assert run(["check", "logs"], capsys)[0] == 1  # without the baseline it fails
    code, out, _ = run(["check", "--baseline", "base.json", "logs"], capsys)
    assert code == 0
    assert (
        "logs/ccxt_bot.log:16: known [error] filter_violation: 13 LOT_SIZE failures" in out
        and "(in the baseline: 13 → 13 (+0 %))" in out
    )
    assert out.splitlines()[-1] == (
        "bnlog check: PASS: 0 new or grown findings at error or worse (verdict degraded, 17 events)"
    )


def test_a_new_finding_fails(capsys: pytest.CaptureFixture[str]) -> None:
    write_log(without=NOTIONAL)
    run(["check", "--write-baseline", "base.json", "logs"], capsys)
    write_log()
    code, out, _ = run(["check", "--baseline", "base.json", "logs"], capsys)
    assert code == 1
    assert (
        "logs/ccxt_bot.log:21: FAIL [error] filter_violation: 2 NOTIONAL failures on ADAUSD "
        "only at 10:14 UTC on 2025-01-20: orders on ADAUSD are worth less (or more) than the "
        "allowed notional (new since the baseline)"
    ) in out.splitlines()
    assert out.splitlines()[-1].startswith("bnlog check: FAIL: 1 new or grown finding at error")


def test_a_grown_finding_fails_beyond_the_tolerance(capsys: pytest.CaptureFixture[str]) -> None:
    write_log(without=LATER_LOT_SIZE)
    run(["check", "--write-baseline", "base.json", "logs"], capsys)
    write_log()
    code, out, _ = run(["check", "--baseline", "base.json", "logs"], capsys)
    assert code == 1
    assert "FAIL [error] filter_violation: 13 LOT_SIZE" in out
    assert "(grew 5 → 13 (+160 %))" in out
    args = ["check", "--baseline", "base.json", "--baseline-tolerance", "160", "logs"]
    code, out, _ = run(args, capsys)
    assert code == 0
    assert "(in the baseline: 5 → 13 (+160 %))" in out
    data = json.loads(run([*args[:-1], "-f", "json", "logs"], capsys)[1])["check"]
    assert data["baseline"] == {"file": "base.json", "tolerance": 160.0}


def test_a_shrunk_finding_passes(capsys: pytest.CaptureFixture[str]) -> None:
    write_log()
    run(["check", "--write-baseline", "base.json", "logs"], capsys)
    write_log(without=LATER_LOT_SIZE)
    code, out, _ = run(["check", "--baseline", "base.json", "logs"], capsys)
    assert code == 0
    assert "(shrank 13 → 5 (−62 %))" in out


def test_a_baseline_in_the_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    write_log()
    run(["check", "--write-baseline", "ci/base.json", "logs"], capsys)  # ci/ does not exist
    assert not Path("ci/base.json").exists()
    Path("ci").mkdir()
    run(["check", "--write-baseline", "ci/base.json", "logs"], capsys)
    Path("ci/bnlog.toml").write_text('baseline = "base.json"\nbaseline-tolerance = 10\n')
    assert run(["check", "--config", "ci/bnlog.toml", "logs"], capsys)[0] == 0


def test_compare() -> None:
    assert compare(None, 3, 50).text() == "new since the baseline"
    assert compare(40, 90, 50).text() == "grew 40 → 90 (+125 %)"
    assert compare(40, 60, 50).status == "unchanged"  # +50 % is within a 50 % tolerance
    assert compare(40, 61, 50).fails


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Error: --baseline base.json: no such file (write one with --write-baseline)\n"),
        ("{", "Error: --baseline base.json: cannot read (not valid JSON)\n"),
        ('{"schema": "other/1"}', "Error: --baseline base.json: not a bnlog baseline"),
        (
            json.dumps({"schema": SCHEMA_ID, "findings": [{"fingerprint": "x"}]}),
            "Error: --baseline base.json: an entry lacks its fingerprint or count\n",
        ),
    ],
)
def test_a_missing_or_corrupt_baseline_is_exit_2(
    content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_log()
    if content is not None:
        Path("base.json").write_text(content)
    code, out, err = run(["check", "--baseline", "base.json", "logs"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_write_baseline_never_replaces_an_input(capsys: pytest.CaptureFixture[str]) -> None:
    write_log()
    code, _, err = run(["check", "--write-baseline", "logs/ccxt_bot.log", "logs"], capsys)
    assert code == 2
    assert err == (
        "Error: logs/ccxt_bot.log: refusing to overwrite an input file (choose another --output)\n"
    )
    assert Path("logs/ccxt_bot.log").read_text(encoding="utf-8") == LOG


@pytest.mark.parametrize(
    "extra", [["--baseline", "b.json"], ["-o", "out.txt"]], ids=["baseline", "output"]
)
def test_write_baseline_contradictions_are_usage_errors(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    write_log()
    code, _, err = run(["check", "--write-baseline", "base.json", *extra, "logs"], capsys)
    assert code == 2 and err.startswith("Error: --write-baseline ")
    assert not Path("base.json").exists()
