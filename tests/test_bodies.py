"""Extracting each distinct record once (analyzer/extract/bodies.py) changes nothing: the same
events, field for field and in the same order, as extracting every record — on every sample
log, every corpus excerpt and the hostile corpus, each also repeated at other times (a storm)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import analyzer.extract as extract
from analyzer.extract import ExtractOptions, extract_text
from analyzer.extract.bodies import fields_by_body
from analyzer.extract.fields import extract_fields

ROOT = Path(__file__).resolve().parents[1]
TEXTS = sorted(
    [
        *(ROOT / "sample_logs").rglob("*.log"),
        *(ROOT / "sample_logs").rglob("*.jsonl"),
        *(ROOT / "tests" / "corpus" / "excerpts").rglob("*.*"),
    ]
)
_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)")


def later(text: str, minutes: int) -> str:
    """The same log with every hh:mm:ss moved on (a storm repeats itself at other times)."""

    def move(m: re.Match[str]) -> str:
        total = (int(m[1]) * 60 + int(m[2]) + minutes) % (24 * 60)
        return f"{total // 60:02d}:{total % 60:02d}:{m[3]}"

    return _TIME.sub(move, text)


def both_ways(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    once = extract_text(text, "x.log", ExtractOptions(year=2024))
    with monkeypatch.context() as patched:
        patched.setattr(extract, "fields_by_body", extract_fields)
        every = extract_text(text, "x.log", ExtractOptions(year=2024))
    return once, every


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_events_as_extracting_every_record(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    storm = "\n".join([text, later(text, 7), text, later(text, 61)])
    once, every = both_ways(storm, monkeypatch)
    assert_frame_equal(once, every)


def test_a_storm_is_extracted_once_per_distinct_record(monkeypatch: pytest.MonkeyPatch) -> None:
    line = (
        "2024-05-03 14:0{}:1{},377 - bot - ERROR - APIError(code=-1021): Timestamp for this "
        "request was 1000ms ahead of the server's time.\n"
    )
    text = "".join(line.format(m, s) for m in range(10) for s in range(10))
    seen: list[int] = []

    def counting(records: pl.DataFrame) -> pl.DataFrame:
        seen.append(records.height)
        return extract_fields(records)

    monkeypatch.setattr("analyzer.extract.bodies.extract_fields", counting)
    events = extract_text(text, "x.log", ExtractOptions(year=2024))
    assert seen == [1]  # 100 records, one body
    assert events.height == 100
    assert events["code"].unique().to_list() == [-1021]
    assert events["ts"].n_unique() == 100  # each event keeps its own time
    assert events["line"].to_list() == list(range(1, 101))


def test_an_unrecognised_line_keeps_its_own_time_in_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (
        "2024-05-03 14:00:01,000 ERROR binance request failed without a reason\n"
        "2024-05-03 14:00:02,000 ERROR binance request failed without a reason\n"
    )
    once, every = both_ways(text, monkeypatch)
    assert_frame_equal(once, every)
    assert once["msg"].to_list() == [
        "2024-05-03 14:00:01,000 ERROR binance request failed without a reason",
        "2024-05-03 14:00:02,000 ERROR binance request failed without a reason",
    ]


POOL = [
    "ERROR - APIError(code=-1013): Filter failure: LOT_SIZE",
    'WARNING - binanceus {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}',
    "ERROR - Error executing request GET https://api.binance.us/api/v3/account. HTTP status is 429.",
    "ERROR - binance connection reset by peer",
    "ERROR - binance something odd happened",
    "INFO - all fine",
    '  File "/bot/x.py", line 3, in run',
    "Traceback (most recent call last):",
    "binance.exceptions.BinanceAPIException: APIError(code=-2010): Account has insufficient balance for requested action.",
    '{"ts":"2024-05-03T14:00:00.000Z","status":418,"body":{"code":-1003,"msg":"Way too much request weight used; IP banned until 1714745473377."}}',
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 59), st.sampled_from(POOL), st.booleans()), max_size=40))
def test_property_random_storms_agree(rows: list[tuple[int, str, bool]]) -> None:
    lines = [
        (f"2024-05-03 14:{minute:02d}:07,123 - bot - {body}" if timed else body)
        for minute, body, timed in rows
    ]
    text = "\n".join(lines)
    once = extract_text(text, "x.log", ExtractOptions(year=2024))
    original = extract.fields_by_body
    extract.fields_by_body = extract_fields  # type: ignore[assignment]
    try:
        every = extract_text(text, "x.log", ExtractOptions(year=2024))
    finally:
        extract.fields_by_body = original
    assert_frame_equal(once, every)
    assert fields_by_body is original


def test_a_body_is_the_text_with_its_leading_time_zeroed() -> None:
    from analyzer.extract.bodies import _body

    texts = [
        # a layout at the start (with its lead): its digits zeroed, nothing after it
        "2025-03-01 12:34:56,789 ERROR code -1021 at 12:00:01\nnext 42",
        "  [2025-03-01 12:34:56] é -1013",
        "Ошибка 2025-03-01 12:34:56 code=-2010",  # a lead of non-ASCII letters
        # a JSON line's time field; a JSON line whose start a layout does not take
        '{"ts":"2025-03-01T12:34:56.123Z","code":-1003}',
        '{"level":"error","time":1740832496123,"code":-1003}',
        # no time at the start: unchanged
        "code -1021 at 2025-03-01 12:34:56",
        "",
    ]
    records = pl.DataFrame({"text": texts})
    assert _body(records).to_list() == [
        "0000-00-00 00:00:00,000 ERROR code -1021 at 12:00:01\nnext 42",
        "  [0000-00-00 00:00:00] é -1013",
        "Ошибка 0000-00-00 00:00:00 code=-2010",
        '{"ts":"0000-00-00T00:00:00.000Z","code":-1003}',
        '{"level":"error","time":0000000000000,"code":-1003}',
        "code -1021 at 2025-03-01 12:34:56",
        "",
    ]


def test_asking_which_shapes_are_there_first_changes_no_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every sample and corpus text as one log: its distinct records (well under GATE_ROWS)
    # are first asked which shapes they hold; looking for every shape finds the same events.
    import analyzer.extract.fields as fields

    text = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in TEXTS)
    asked = extract_text(text, "x.log", ExtractOptions(year=2024))
    monkeypatch.setattr(fields, "GATE_ROWS", -1)
    every_shape = extract_text(text, "x.log", ExtractOptions(year=2024))
    assert asked.height > 300
    assert_frame_equal(asked, every_shape)
