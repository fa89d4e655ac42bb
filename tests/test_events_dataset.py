"""`bnlog events` and events datasets: a report over the dataset is the report over the logs,
byte for byte; shards merge; CSV/JSON Lines round-trip; secrets stay out; bad input is exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from analyzer.cli import main
from analyzer.dataset import META_DIR, META_KEY, NO_DAY, SCHEMA_ID, parquet_bytes
from analyzer.schema import EVENT_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
STORIES = sorted(p.name for p in (ROOT / "sample_logs").iterdir() if p.is_dir())
TARGETS = [f"sample_logs/{story}" for story in STORIES] + ["sample_logs/"]
FORMATS = ("text", "json", "markdown")
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET_LOG = (
    "2025-01-20 10:14:06,772 ERROR bot: headers {'X-MBX-APIKEY': '" + API_KEY + "'} "
    'rejected: {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}\n'
    "2025-01-20 10:14:07,001 ERROR bot: key " + API_KEY + " failed: "
    'binanceus {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}\n'
    "2025-01-20 10:15:00,000 INFO bot: heartbeat\n"
)
UNTIMED_LOG = (
    'binanceus {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}\n'
    '2024-06-11 02:10:04,814 - x - ERROR - binanceus {"code":-1013,"msg":"Filter failure: '
    'LOT_SIZE"}\n'
)


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The real entry point (its error boundary included), everything captured."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def sample_files(target: str) -> list[str]:
    """The log files below `target`, as `bnlog report target` reads them (no *.md)."""
    found = []
    for top, dirs, files in os.walk(ROOT / target):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".md"):
                found.append(os.path.relpath(os.path.join(top, name), ROOT))
    return sorted(found)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evidence paths read sample_logs/…, in the logs and in the dataset alike."""
    monkeypatch.chdir(ROOT)


def export(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run_main(["events", *args], capsys)
    assert code == 0, err
    return out


def reports(target: str, capsys: pytest.CaptureFixture[str], command: str = "report") -> dict:
    outputs = {}
    formats = FORMATS if command == "report" else ("text", "json", "github")
    for fmt in formats:
        code, out, err = run_main([command, "-f", fmt, target], capsys)
        outputs[fmt] = (code, out, err)
    return outputs


# --- a report over the dataset is the report over the logs ---------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_report_from_dataset_equals_report_from_logs(
    target: str, tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "events"
    export([target, "-o", str(dest)], capsys)
    from_logs = reports(target, capsys)
    from_dataset = reports(str(dest), capsys)
    for fmt in FORMATS:
        assert from_logs[fmt][0] == 0
        assert from_dataset[fmt] == from_logs[fmt], fmt


@pytest.mark.parametrize("target", ["sample_logs/", "sample_logs/revoked_key"])
def test_check_from_dataset_equals_check_from_logs(
    target: str, tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "events"
    export([target, "-o", str(dest)], capsys)
    from_logs = reports(target, capsys, "check")
    assert from_logs["text"][0] == 1  # these logs fail the check: the dataset must too
    assert reports(str(dest), capsys, "check") == from_logs


def test_single_file_and_stdout_parquet_give_the_same_report(
    tmp_path: Path, in_repo: None, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    single = tmp_path / "clock.parquet"
    with pytest.raises(SystemExit) as done:
        main(["events", "sample_logs/clock_drift", "-o", str(single)])
    assert done.value.code == 0
    assert capsysbinary.readouterr().err.startswith(b"bnlog events: 41 events to ")
    with pytest.raises(SystemExit) as done:
        main(["events", "sample_logs/clock_drift", "-o", "-"])
    streamed, err = capsysbinary.readouterr()
    assert done.value.code == 0 and err == b""
    assert streamed == single.read_bytes()  # deterministic, and '-' is the same file
    assert streamed[:4] == b"PAR1"
    for fmt in FORMATS:
        with pytest.raises(SystemExit):
            main(["report", "-f", fmt, "sample_logs/clock_drift"])
        from_logs = capsysbinary.readouterr()
        with pytest.raises(SystemExit):
            main(["report", "-f", fmt, str(single)])
        assert capsysbinary.readouterr() == from_logs


# --- shards ---------------------------------------------------------------------------------


def shard_into(
    dest: Path, files: list[str], runs: int, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """`bnlog events … --append` once per group of files (round robin); the shard ids."""
    ids = []
    for index in range(runs):
        export([*files[index::runs], "-o", str(dest), "--append"], capsys)
        record = sorted((dest / META_DIR).glob("*.json"))
        ids = [p.stem for p in record]
    return ids


def test_three_shards_of_a_story_give_its_report(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sample_files("sample_logs/shapes")
    assert len(files) == 5
    dest = tmp_path / "events"
    assert len(shard_into(dest, files, 3, capsys)) == 3
    assert reports(str(dest), capsys) == reports("sample_logs/shapes", capsys)


def test_three_shards_of_all_samples_give_the_report_of_all_logs(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "events"
    shard_into(dest, sample_files("sample_logs"), 3, capsys)
    assert reports(str(dest), capsys) == reports("sample_logs/", capsys)


def test_one_run_over_many_small_files_spans_every_file(
    in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # All sample logs fit in one read batch; the log's span still comes from every file's
    # first and last lines (lot_size's ccxt log ends last), not from the batch's ends.
    from_logs = json.loads(reports("sample_logs/", capsys)["json"][1])
    assert from_logs["log_last"] == "2025-01-20T11:31:47.512Z"


def test_the_same_run_appended_again_replaces_its_shard(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "events"
    export(["sample_logs/lot_size", "-o", str(dest)], capsys)
    export(["sample_logs/lot_size", "-o", str(dest), "--append"], capsys)
    assert len(list((dest / META_DIR).glob("*.json"))) == 1
    assert reports(str(dest), capsys) == reports("sample_logs/lot_size", capsys)
    export(["sample_logs/lot_size", "-o", str(dest), "--append", "--shard", "again"], capsys)
    code, out, err = run_main(["report", "-f", "json", str(dest)], capsys)
    assert code == 0
    assert json.loads(out)["totals"]["events"] == 2 * 17  # two shards of the same file
    assert "sample_logs/lot_size/ccxt_bot.log: read by 2 shards" in err


def test_overwrite_replaces_the_dataset(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "events"
    export(["sample_logs/ban_storm", "-o", str(dest)], capsys)
    (dest / "notes.txt").write_text("mine\n")
    export(["sample_logs/clock_drift", "-o", str(dest), "--overwrite"], capsys)
    assert (dest / "notes.txt").read_text() == "mine\n"  # only what bnlog wrote is removed
    assert sorted(p.name for p in dest.iterdir()) == [META_DIR, "date=2024-06-11", "notes.txt"]
    assert reports(str(dest), capsys) == reports("sample_logs/clock_drift", capsys)


def test_export_is_deterministic(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    export(["sample_logs/", "-o", str(first)], capsys)
    export(["sample_logs/", "-o", str(second)], capsys)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert len(files) == 11  # ten days and the shard record
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_events_without_a_time_land_in_the_default_partition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bot.log"
    log.write_text(UNTIMED_LOG)
    dest = tmp_path / "events"
    export([str(log), "-o", str(dest)], capsys)
    days = sorted(p.name for p in dest.iterdir() if p.name != META_DIR)
    assert days == ["date=2024-06-11", f"date={NO_DAY}"]
    frame = pl.scan_parquet(str(dest / "*" / "*.parquet"), hive_partitioning=True).collect()
    rows = frame.sort("code").select("code", pl.col("date").cast(pl.String)).rows()
    assert rows == [(-1021, None), (-1013, "2024-06-11")]
    assert reports(str(dest), capsys) == reports(str(log), capsys)


# --- CSV and JSON Lines ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_exports_round_trip(
    fmt: str, tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / f"events.{fmt}"
    assert export(["sample_logs/", "-f", fmt, "-o", str(dest)], capsys) == ""
    streamed = export(["sample_logs/", "-f", fmt, "-o", "-"], capsys)
    text = dest.read_text(encoding="utf-8")
    assert streamed == text  # `-o -` streams exactly the file
    frame = pl.read_csv(dest) if fmt == "csv" else pl.read_ndjson(dest)
    assert frame.columns == list(EVENT_SCHEMA)
    assert frame.height == 207
    if fmt == "jsonl":
        lines = text.splitlines()
        assert len(lines) == 207 and all(json.loads(line)["path"] for line in lines)
        first = json.loads(lines[0])
        assert list(first) == list(EVENT_SCHEMA)
        assert first["ts"] == "2024-05-03T14:02:11.482000Z"
        assert first["path"] == "sample_logs/ban_storm/capture.jsonl"
    else:
        assert text.splitlines()[0] == ",".join(EVENT_SCHEMA)
    paths = frame["path"].to_list()
    assert paths == sorted(paths)  # sorted by path, then line
    code, report, _ = run_main(["report", "-f", "json", "sample_logs/"], capsys)
    assert json.loads(report)["totals"]["events"] == frame.height  # every sample event is "api"


def test_filters_apply_to_the_export_and_the_report_says_so(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = export(["sample_logs/", "-f", "jsonl", "-o", "-", "--code", "-1021"], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert {row["code"] for row in rows} == {-1021} and len(rows) == 49
    dest = tmp_path / "events"
    export(["sample_logs/", "-o", str(dest), "--code", "-1021"], capsys)
    code, out, err = run_main(["report", "-f", "json", str(dest)], capsys)
    assert code == 0
    assert json.loads(out)["totals"]["events"] == 49
    assert 'was exported with filters {"codes": [-1021]}; events outside them' in err


# --- secrets --------------------------------------------------------------------------------


def everything_written(dest: Path) -> str:
    """Every text a dataset or file holds: Parquet values and metadata, records, text files."""
    texts = []
    files = [dest] if dest.is_file() else sorted(p for p in dest.rglob("*") if p.is_file())
    for path in files:
        data = path.read_bytes()
        if data[:4] == b"PAR1":
            texts.append(pl.read_parquet(path).write_csv())
            texts.append(json.dumps(pl.read_parquet_metadata(path)))
        else:
            texts.append(data.decode("utf-8"))
    return "\n".join(texts)


@pytest.mark.parametrize(
    "fmt,name",
    [("parquet", "ds"), ("parquet", "one.parquet"), ("csv", "e.csv"), ("jsonl", "e.jsonl")],
)
def test_exports_hold_no_secret(
    fmt: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "bot.log").write_text(SECRET_LOG)
    (logs / f"apiKey={API_KEY}.bin").write_bytes(b"\0\1binary")  # named in the warnings
    (logs / f"bot_apikey={API_KEY}").mkdir()  # and in the path column of its events
    (logs / f"bot_apikey={API_KEY}" / "bot.log").write_text(SECRET_LOG)
    dest = tmp_path / name
    code, out, err = run_main(["events", str(logs), "-f", fmt, "-o", str(dest)], capsys)
    assert code == 0 and "passed over" in err and API_KEY not in out + err
    written = everything_written(dest)
    assert "-2015" in written and API_KEY not in written
    if fmt != "parquet":
        assert API_KEY not in export([str(logs), "-f", fmt, "-o", "-"], capsys)
    plain = tmp_path / f"plain-{name}"
    export([str(logs), "-f", fmt, "-o", str(plain), "--no-redact"], capsys)
    assert API_KEY in everything_written(plain)  # the check above can see a key


def test_an_unredacted_dataset_is_redacted_when_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bot.log"
    log.write_text(SECRET_LOG)
    dest = tmp_path / "plain"
    export([str(log), "-o", str(dest), "--no-redact"], capsys)
    code, out, err = run_main(["report", "-f", "json", str(dest)], capsys)
    assert code == 0 and API_KEY not in out + err
    assert json.loads(out)["redacted"] is True
    code, out, _ = run_main(["report", "-f", "json", "--no-redact", str(dest)], capsys)
    assert API_KEY in out  # asked for: shown, and the report says so
    assert json.loads(out)["redacted"] is False


# --- refusals: one line on stderr, exit 2 ---------------------------------------------------


def assert_refused(args: list[str], capsys: pytest.CaptureFixture[str], expected: str) -> None:
    code, out, err = run_main(args, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert expected in err


def write_bnlog_parquet(path: Path, frame: pl.DataFrame, meta: dict) -> None:
    path.write_bytes(parquet_bytes(frame, meta))


@pytest.fixture
def single(tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "clock.parquet"
    export(["sample_logs/clock_drift", "-o", str(path)], capsys)
    return path


def test_bad_parquet_files_are_refused(
    single: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 this is no parquet file")
    assert_refused(["report", str(garbage)], capsys, "not a readable Parquet file")
    other = tmp_path / "other.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(other)
    assert_refused(["report", str(other)], capsys, "not a bnlog events dataset")
    assert_refused(["check", str(other)], capsys, "not a bnlog events dataset")
    meta = json.loads(pl.read_parquet_metadata(single)[META_KEY])
    events = pl.read_parquet(single)
    future = tmp_path / "future.parquet"
    write_bnlog_parquet(future, events, {**meta, "schema": "bnlog.events/999"})
    assert_refused(
        ["report", str(future)], capsys, f"'bnlog.events/999', but this bnlog reads '{SCHEMA_ID}'"
    )
    wrong = tmp_path / "wrong.parquet"
    write_bnlog_parquet(wrong, events.with_columns(pl.col("line").cast(pl.String)), meta)
    assert_refused(["report", str(wrong)], capsys, "column 'line' is String")
    damaged = tmp_path / "damaged.parquet"
    write_bnlog_parquet(damaged, events, {**meta, "coverage": {"files": "one"}})
    assert_refused(["report", str(damaged)], capsys, "shard record is damaged")
    short = tmp_path / "short.parquet"
    write_bnlog_parquet(short, events.head(3), meta)
    assert_refused(["report", str(short)], capsys, "3 rows where its shard record says 41")


def test_a_dataset_may_leave_out_a_column(
    single: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Written without `raw` (a leaner hot path): read, the column null."""
    meta = json.loads(pl.read_parquet_metadata(single)[META_KEY])
    lean = tmp_path / "lean.parquet"
    write_bnlog_parquet(lean, pl.read_parquet(single).drop("raw"), meta)
    code, out, _ = run_main(["report", "-f", "json", str(lean)], capsys)
    assert code == 0 and json.loads(out)["totals"]["events"] == 41


def test_broken_dataset_directories_are_refused(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "events"
    export(["sample_logs/clock_drift", "-o", str(dest)], capsys)
    part = next(dest.glob("date=*/part-*.parquet"))
    assert_refused(["report", str(part)], capsys, "one part of the events dataset")
    part.unlink()
    assert_refused(["report", str(dest)], capsys, "missing (shard")
    record = next((dest / META_DIR).glob("*.json"))
    record.write_text("{not json")
    assert_refused(["report", str(dest)], capsys, "not a bnlog shard record")
    record.unlink()
    assert_refused(["report", str(dest)], capsys, "an events dataset with no shard")


def test_a_part_file_without_a_record_is_warned_about_and_not_read(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "events"
    export(["sample_logs/clock_drift", "-o", str(dest)], capsys)
    stray = dest / "date=2024-06-11" / "part-stray.parquet"
    stray.write_bytes(next(dest.glob("date=*/part-*.parquet")).read_bytes())
    code, out, err = run_main(["report", "-f", "json", str(dest)], capsys)
    assert code == 0 and json.loads(out)["totals"]["events"] == 41
    assert f"warning: {stray}: no shard record in {META_DIR}/ names it" in err


def test_output_rules(tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "events"
    export(["sample_logs/clock_drift", "-o", str(dest)], capsys)
    assert_refused(
        ["events", "sample_logs/clock_drift", "-o", str(dest)], capsys, "already an events dataset"
    )
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert_refused(
        ["events", "sample_logs/clock_drift", "-o", str(other), "--append"],
        capsys,
        "not a bnlog events dataset",
    )
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "bot.log").write_text(UNTIMED_LOG)
    assert_refused(
        ["events", str(log_dir), "-o", str(log_dir / "events")],
        capsys,
        "inside the input directory",
    )
    assert_refused(["events", str(log_dir / "bot.log"), "-o", str(log_dir)], capsys, "an input of")
    assert_refused(
        ["events", str(log_dir), "-f", "csv", "-o", str(log_dir / "bot.log")],
        capsys,
        "refusing to overwrite an input file",
    )
    assert_refused(
        ["events", "sample_logs/lot_size", "-o", str(next(dest.glob("date=*/part-*.parquet")))],
        capsys,
        "inside the events dataset",
    )
    assert_refused(
        ["events", "sample_logs/lot_size", "-f", "csv", "--append", "-o", str(tmp_path / "e.csv")],
        capsys,
        "--append applies to a Parquet dataset directory",
    )
    assert_refused(
        ["events", "sample_logs/lot_size", "-o", str(tmp_path / "x"), "--append", "--overwrite"],
        capsys,
        "contradict",
    )
    assert_refused(["report", str(dest), "sample_logs/lot_size"], capsys, "separate runs")
    assert_refused(
        ["report", "--state", str(tmp_path / "state"), str(dest)], capsys, "--state reads logs"
    )
    assert_refused(
        ["events", "sample_logs/lot_size", "-o", str(tmp_path / "y"), "--shard", "../up"],
        capsys,
        "--shard '../up'",
    )
    assert not (tmp_path / "y").exists()


def test_a_dataset_can_be_exported_again(
    single: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Datasets are inputs of `bnlog events` too: a Parquet file becomes JSON Lines."""
    out = export([str(single), "-f", "jsonl", "-o", "-"], capsys)
    assert len(out.splitlines()) == 41
    again = tmp_path / "again"
    export([str(single), "-o", str(again)], capsys)
    assert reports(str(again), capsys) == reports("sample_logs/clock_drift", capsys)


def test_state_exports_only_what_is_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "bot.log"
    log.write_text(UNTIMED_LOG)
    state = tmp_path / "state"
    first = export([str(log), "--state", str(state), "-f", "jsonl", "-o", "-"], capsys)
    assert len(first.splitlines()) == 1  # the last record waits: it may go on
    with log.open("a") as handle:
        handle.write(
            '2024-06-11 03:00:00,000 - x - ERROR - binanceus {"code":-1003,"msg":"Too '
            'much request weight used."}\n'
        )
    second = export([str(log), "--state", str(state), "-f", "jsonl", "-o", "-"], capsys)
    assert [json.loads(line)["code"] for line in second.splitlines()] == [-1013]
    third = export([str(log), "--state", str(state), "-f", "jsonl", "-o", "-"], capsys)
    assert [json.loads(line)["code"] for line in third.splitlines()] == [-1003]
