"""`bnlog check`: the CI gate's exit status and its CI-readable formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from analyzer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code), out, err


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_fails_on_error_findings_by_default(capsys) -> None:
    code, out, err = run(["check", "sample_logs/lot_size"], capsys)
    assert (code, err) == (1, "")
    assert out.splitlines()[-1] == (
        "bnlog check: FAIL: 2 findings at error or worse (verdict degraded, 17 events)"
    )
    assert sum(line.startswith("FAIL ") for line in out.splitlines()) == 2


def test_threshold_moves_the_gate(capsys) -> None:
    assert run(["check", "--fail-on", "critical", "sample_logs/lot_size"], capsys)[0] == 0
    assert run(["check", "--fail-on", "info", "sample_logs/maintenance"], capsys)[0] == 1
    assert run(["check", "sample_logs/maintenance"], capsys)[0] == 0


def test_code_gate_fails_on_any_matching_event(capsys) -> None:
    assert run(["check", "--code", "-1021", "sample_logs/lot_size"], capsys)[0] == 0
    code, out, _ = run(["check", "--code", "-2011", "sample_logs/lot_size"], capsys)
    assert code == 1
    assert out.splitlines()[-1].startswith("bnlog check: FAIL: 1 event with the requested codes")


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
    }
    assert data["schema"] == "bnlog.report/1"


def test_input_error_is_exit_2_not_1(capsys) -> None:
    code, out, err = run(["check", "no/such/file.log"], capsys)
    assert (code, out) == (2, "")
    assert err == "Error: no/such/file.log: no such file or directory\n"
