"""`bnlog check` budgets: --max KEY=N for codes, HTTP statuses, finding kinds and categories;
--ignore; --code as a budget of 0 beside --fail-on; settings from pyproject.toml or bnlog.toml.

Counts are those of the sample logs (sample_logs/README.md): lot_size has 15 -1013 events (13
LOT_SIZE on SOLUSD, 2 NOTIONAL on ADAUSD, all category `filter`), one -2010 and one -2011;
ban_storm has an ip_ban finding of 27 events; maintenance has 7 events with HTTP 503."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analyzer.budgets import CATEGORY, CODE, HTTP, KIND, Key, parse_key
from analyzer.cli import main
from analyzer.errors import UsageError
from analyzer.schema import Category

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code), out, err


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in an empty directory of its own, with the sample stories under logs/."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    work = tmp_path / "repo" / "work"
    work.mkdir(parents=True)
    for story in ("lot_size", "ban_storm", "maintenance", "revoked_key"):
        shutil.copytree(SAMPLES / story, work / "logs" / story)
    monkeypatch.chdir(work)


def budget(out: str, key: str) -> dict[str, object]:
    return next(b for b in json.loads(out)["check"]["budgets"] if b["key"] == key)


# -- each budget type: under, at and over its limit ------------------------------------------


@pytest.mark.parametrize(("limit", "status"), [(16, 0), (15, 0), (14, 1)])
def test_code_budget(limit: int, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--max", f"-1013={limit}", "logs/lot_size"], capsys)
    assert code == status
    # the two filter findings (error) are judged by the budget, not by --fail-on
    assert out.splitlines()[-2] == (
        f"budget -1013: {'FAIL' if status else 'pass'}: 15 events with -1013, "
        f"at most {limit} allowed (--max)"
    )
    assert out.count(" budget [error] filter_violation: ") == 2


@pytest.mark.parametrize(("limit", "status"), [(8, 0), (7, 0), (6, 1)])
def test_http_budget(limit: int, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["check", "-f", "json", "--max", f"http:503={limit}", "logs/maintenance"]
    code, out, _ = run(args, capsys)
    assert code == status
    assert budget(out, "http:503") == {
        "key": "http:503",
        "max": limit,
        "count": 7,
        "failed": bool(status),
        "from": "--max",
    }


@pytest.mark.parametrize(("limit", "status"), [(28, 0), (27, 0), (26, 1)])
def test_kind_budget_counts_that_findings_events(
    limit: int, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", "--fail-on", "critical", "--max", f"ip_ban={limit}", "logs/ban_storm"]
    code, out, _ = run(args, capsys)
    assert code == status
    assert f"budget ip_ban: {'FAIL' if status else 'pass'}: 27 events in ip_ban findings" in out
    # without the budget the critical ip_ban finding fails the check
    assert run(["check", "--fail-on", "critical", "logs/ban_storm"], capsys)[0] == 1


@pytest.mark.parametrize(("limit", "status"), [(20, 0), (15, 0), (14, 1)])
def test_category_budget(limit: int, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--max", f"filter={limit}", "logs/lot_size"], capsys)
    assert code == status
    assert "15 events in category filter" in out
    assert out.count(" budget [error] filter_violation: ") == 2


def test_a_budget_of_a_key_the_logs_never_show_counts_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["check", "-f", "json", "--max", "-1021=0", "logs/maintenance"], capsys)
    assert code == 0
    assert budget(out, "-1021")["count"] == 0


def test_budgets_cover_findings_only_when_every_code_is_covered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the outage finding (warning) has codes -1007, -1006, -1001, 502 and 503
    base = ["check", "--fail-on", "warning", "logs/maintenance"]
    assert run([*base, "--max", "http:503=100"], capsys)[0] == 1
    code, out, _ = run([*base, "--max", "general=100", "--max", "http=100"], capsys)
    assert code == 0, out


# -- --ignore ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["filter_violation", "-1013", "filter"])
def test_ignore_takes_findings_out_of_the_gate(
    key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["check", "logs/lot_size"], capsys)[0] == 1
    code, out, _ = run(["check", "--ignore", key, "logs/lot_size"], capsys)
    assert code == 0
    assert out.count(" ignored [error] filter_violation: ") == 2
    assert f"(ignored: {key})" in out
    assert out.splitlines()[-1] == (
        "bnlog check: PASS: 0 findings at error or worse; 2 ignored (verdict degraded, 17 events)"
    )


def test_ignore_leaves_other_findings_to_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--ignore", "-2011", "logs/lot_size"], capsys)
    assert code == 1
    assert "FAIL: 2 findings at error or worse; 1 ignored" in out.splitlines()[-1]


# -- --code: a budget of 0, beside --fail-on ---------------------------------------------------


def test_code_no_longer_hides_critical_findings(capsys: pytest.CaptureFixture[str]) -> None:
    # revoked_key has no -2011 event, but a critical auth finding: the check fails
    code, out, _ = run(["check", "--code", "-2011", "logs/revoked_key"], capsys)
    assert code == 1
    assert "logs/revoked_key/connector.log:43: FAIL [critical] auth: " in out
    assert "budget -2011: pass: 0 events with -2011, at most 0 allowed (--code)" in out


def test_code_fails_on_any_event_of_it(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["check", "--fail-on", "critical", "logs/lot_size"]
    assert run(base, capsys)[0] == 0
    assert run([*base, "--code", "-1021"], capsys)[0] == 0
    code, out, _ = run([*base, "--code", "-2011"], capsys)
    assert code == 1
    assert out.splitlines()[-1] == (
        "bnlog check: FAIL: 0 findings at critical or worse; 1 of 1 budget exceeded "
        "(verdict degraded, 17 events)"
    )
    # an HTTP status, as before: --code 503 is --max http:503=0
    code, out, _ = run(
        ["check", "--fail-on", "critical", "--code", "503", "logs/maintenance"], capsys
    )
    assert code == 1 and "budget http:503: FAIL: 7 events with http:503" in out


def test_an_explicit_max_wins_over_code(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["check", "--fail-on", "critical", "--code", "-2011", "--max", "-2011=1"]
    assert run([*args, "logs/lot_size"], capsys)[0] == 0


# -- usage errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max", "-1003"], "Error: --max '-1003': write KEY=N"),
        (["--max", "-1003=many"], "Error: --max '-1003=many': write KEY=N"),
        (["--max", "nonsense=1"], "Error: --max 'nonsense': not a code (-1003)"),
        (["--max", "1003=1"], "Error: --max '1003': Binance codes are negative (-1003)"),
        (["--max", "http:700=1"], "Error: --max 'http:700': an HTTP status is http:100"),
        (["--ignore", "bogus"], "Error: --ignore 'bogus': not a code"),
        (["--max", "-2011=1", "--ignore", "-2011"], "Error: --max -2011 and --ignore -2011"),
    ],
)
def test_bad_budgets_are_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["check", *args, "logs/lot_size"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_parse_key() -> None:
    assert parse_key("-1003") == Key(CODE, "-1003", -1003)
    assert parse_key("http:418") == Key(HTTP, "http:418", 418)
    assert parse_key("HTTP:418") == Key(HTTP, "http:418", 418)
    assert parse_key("429") == Key(HTTP, "http:429", 429)
    assert parse_key("ip_ban") == Key(KIND, "ip_ban")
    assert parse_key("filter") == Key(CATEGORY, "filter")
    with pytest.raises(UsageError):
        parse_key("0")


def test_kinds_and_categories_never_share_a_name() -> None:
    from analyzer.budgets import finding_kinds

    assert not set(finding_kinds()) & {c.value for c in Category}


# -- settings files ----------------------------------------------------------------------------


def test_pyproject_in_a_parent_directory_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "repo" / "pyproject.toml").write_text(
        '[project]\nname = "bot"\n\n[tool.bnlog]\nfail-on = "critical"\nmax = {"-2011" = 0}\n'
    )
    code, out, err = run(["check", "logs/lot_size"], capsys)
    assert err == f"bnlog check: settings from ..{'/'}pyproject.toml\n"
    assert code == 1
    assert "budget -2011: FAIL: 1 event with -2011, at most 0 allowed (../pyproject.toml)" in out
    assert out.splitlines()[-1].startswith("bnlog check: FAIL: 0 findings at critical or worse")


def test_a_pyproject_without_a_bnlog_table_is_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "repo" / "work" / "pyproject.toml").write_text('[project]\nname = "bot"\n')
    (tmp_path / "repo" / "bnlog.toml").write_text('fail-on = "critical"\n')
    code, _, err = run(["check", "logs/lot_size"], capsys)
    assert (code, err) == (0, "bnlog check: settings from ../bnlog.toml\n")


def test_bnlog_toml_before_pyproject_and_the_first_found_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "repo" / "work"
    (work / "bnlog.toml").write_text('ignore = ["filter_violation"]\n')
    (work / "pyproject.toml").write_text('[tool.bnlog]\nfail-on = "info"\n')
    (tmp_path / "repo" / "bnlog.toml").write_text('fail-on = "info"\n')  # not read
    code, out, err = run(["check", "-f", "json", "logs/lot_size"], capsys)
    assert (code, err) == (0, "bnlog check: settings from bnlog.toml\n")
    data = json.loads(out)["check"]
    assert (data["fail_on"], data["ignore"], data["config"]) == (
        "error",
        ["filter_violation"],
        "bnlog.toml",
    )


def test_config_names_a_file_and_the_command_line_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "ci-gate.toml"
    settings.write_text('fail-on = "critical"\nmax = {"-1013" = 0, "ip_ban" = 0}\n')
    base = ["check", "--config", str(settings)]
    code, out, _ = run([*base, "logs/lot_size"], capsys)
    assert code == 1 and "budget -1013: FAIL: 15 events with -1013" in out
    assert run([*base, "--max", "-1013=15", "logs/lot_size"], capsys)[0] == 0
    assert run([*base, "--ignore", "-1013", "logs/lot_size"], capsys)[0] == 0
    assert (
        run([*base, "--max", "-1013=15", "--fail-on", "warning", "logs/lot_size"], capsys)[0] == 1
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bnlog.toml", "fail-on = \n", "Error: bnlog.toml: not valid TOML ("),
        ("bnlog.toml", 'fail_on = "error"\n', "Error: bnlog.toml: unknown key 'fail_on' (known: "),
        ("bnlog.toml", 'fail-on = "fatal"\n', "Error: bnlog.toml: fail-on = 'fatal': one of "),
        (
            "pyproject.toml",
            '[tool.bnlog]\nmax = {"-1003" = "five"}\n',
            "Error: pyproject.toml: [tool.bnlog] max.'-1003' = 'five': a whole number ≥ 0",
        ),
        (
            "pyproject.toml",
            '[tool.bnlog]\nmax = {"ipban" = 0}\n',
            "Error: pyproject.toml: [tool.bnlog] max: 'ipban': not a code",
        ),
        ("bnlog.toml", 'ignore = "-2011"\n', "Error: bnlog.toml: ignore: a list of keys"),
        (
            "bnlog.toml",
            'ignore = ["-2011"]\nmax = {"-2011" = 1}\n',
            "Error: bnlog.toml: -2011 is both in max and in ignore",
        ),
    ],
)
def test_an_invalid_config_is_exit_2_naming_file_and_key(
    name: str, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path(name).write_text(text)
    code, out, err = run(["check", "logs/lot_size"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(message), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_missing_config_file_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["check", "--config", "no/such.toml", "logs/lot_size"], capsys)
    assert (code, out, err) == (2, "", "Error: --config no/such.toml: no such file\n")
