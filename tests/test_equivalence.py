"""The fast paths change nothing: reading in small chunks, extracting many small batches in
worker threads (their results collected in order) and extracting each distinct record once
give the report of the whole log read in one piece, byte for byte, in every format."""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import analyzer.extract as extract
import analyzer.pipeline as pipeline
from analyzer import Options, analyze
from analyzer.extract.fields import extract_fields
from analyzer.render import Style, renderers
from analyzer.sources import Coverage, expand

STYLE = Style(color=False, width=100, chart=True)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def reports(path: str) -> dict[str, str]:
    report = analyze([path], Options())
    return {name: render(report, STYLE) for name, render in renderers().items()}


@pytest.mark.parametrize("path", ["sample_logs/", "sample_logs/ban_storm"])
def test_small_chunks_and_many_parallel_batches_give_the_same_report(
    path: str, in_repo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = reports(path)
    with monkeypatch.context() as patched:
        # 4 KiB reads (records straddle every boundary), a batch every 7 records, 2 in flight
        small = functools.partial(extract.extract_events, chunk_bytes=4096)
        patched.setattr(pipeline, "extract_events", small)
        patched.setattr(extract, "BATCH_RECORDS", 7)
        assert reports(path) == expected
    with monkeypatch.context() as patched:
        patched.setattr(extract, "fields_by_body", extract_fields)  # every record extracted
        assert reports(path) == expected


def test_one_worker_or_many_in_flight_give_the_same_report(
    in_repo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = reports("sample_logs/")
    small = functools.partial(extract.extract_events, chunk_bytes=4096)
    for in_flight in (1, 5):
        with monkeypatch.context() as patched:
            patched.setattr(pipeline, "extract_events", small)  # many batches, not one
            patched.setattr(extract, "BATCH_RECORDS", 3)
            patched.setattr(extract, "IN_FLIGHT", in_flight)
            assert reports("sample_logs/") == expected


def events_of(path: str, **chunking: int) -> pl.DataFrame:
    coverage = Coverage()
    return extract.extract_events(expand([path], coverage), coverage, **chunking).events


def test_events_come_out_in_input_order_whatever_the_batching(
    in_repo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reports sort events themselves, so this looks at the events table: the same rows in the
    # same order from one batch as from 30-odd batches finishing in any order.
    expected = events_of("sample_logs/")
    for in_flight in (1, 5):
        with monkeypatch.context() as patched:
            patched.setattr(extract, "BATCH_RECORDS", 3)
            patched.setattr(extract, "IN_FLIGHT", in_flight)
            assert_frame_equal(events_of("sample_logs/", chunk_bytes=4096), expected)
