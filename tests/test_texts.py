"""Evidence texts wait in a temporary file during a report run (analyzer.texts): the texts read
back are the texts put in, the order of events is the order their texts would give, and a
report made that way is the report made with every text in memory, byte for byte — also when
no temporary file can be written or the disk fills up half way."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import analyzer.pipeline as pipeline
from analyzer import Options, analyze
from analyzer.detectors.base import evidence_of, ordered
from analyzer.extract import extract_events
from analyzer.render import Style, renderers
from analyzer.sources import Coverage, expand
from analyzer.texts import RAW_REF, RAW_TIE, TextStore, raw_of, spill, using, with_ties

ROOT = Path(__file__).resolve().parents[1]
STYLE = Style(color=False, width=100, chart=True)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


texts_strategy = st.lists(
    st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"), max_size=40)),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(texts_strategy, max_size=5), picks=st.lists(st.integers(0, 200)))
def test_texts_come_back_as_they_went_in(batches: list[list[str | None]], picks: list[int]) -> None:
    everything: list[str | None] = [t for batch in batches for t in batch]
    with TextStore() as store:
        numbers = [n for b in batches for n in store.add(pl.Series(b, dtype=pl.String)).to_list()]
        assert len(store) == len(everything)
        # a null text has no number; every other one its position
        assert numbers == [None if t is None else i for i, t in enumerate(everything)]
        wanted = [numbers[p % len(numbers)] for p in picks] if numbers else []
        got = store.get(pl.Series(wanted, dtype=pl.Int64)).to_list()
        assert got == [None if n is None else everything[n] for n in wanted]


def test_far_apart_and_close_texts_are_read_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    import analyzer.texts as texts

    monkeypatch.setattr(texts, "_READ_SPAN", 10)  # nearly every text its own read
    words = [f"text number {i} é" for i in range(100)]
    with TextStore() as store:
        store.add(pl.Series(words[:40]))
        store.add(pl.Series(words[40:]))
        picks = [99, 0, 41, 40, 39, 0]
        assert store.get(pl.Series(picks, dtype=pl.Int64)).to_list() == [words[i] for i in picks]


def test_a_number_the_store_never_gave_is_an_error() -> None:
    with TextStore() as store:
        store.add(pl.Series(["a", "b"]))
        with pytest.raises(ValueError):
            store.get(pl.Series([2], dtype=pl.Int64))


def test_a_full_disk_moves_the_texts_to_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    with TextStore() as store:
        store.add(pl.Series(["first", None, "second"]))
        assert store._file is not None

        def full(_: bytes) -> int:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(store._file, "write", full)
        store.add(pl.Series(["third", "fourth"]))
        assert store._file is None  # now in memory, the file's texts read back first
        store.add(pl.Series([None, "fifth"]))
        got = store.get(pl.Series([6, 4, 0, 2, 3, None, 1], dtype=pl.Int64)).to_list()
        assert got == ["fifth", "fourth", "first", "second", "third", None, None]


def test_without_a_temporary_file_the_texts_stay_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    with TextStore() as store:
        assert store._file is None
        store.add(pl.Series(["a", "b"]))
        assert store.get(pl.Series([1, 0], dtype=pl.Int64)).to_list() == ["b", "a"]


def test_the_file_is_unlinked_and_private() -> None:
    with TextStore() as store:
        store.add(pl.Series(["secret-free but private"]))
        assert store._file is not None
        info = os.fstat(store._file.fileno())
        assert info.st_nlink == 0  # no name in any directory
        assert info.st_mode & 0o077 == 0


def test_evidence_order_is_the_order_of_the_texts_when_events_tie() -> None:
    # Three events of one line at one time: only their texts order them.
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    events = pl.DataFrame(
        {
            "ts": [when, when, when, None],
            "path": ["a.log"] * 4,
            "line": [7, 7, 7, 9],
            "raw": ["c text", "a text", "b text", "untimed"],
        }
    )
    with TextStore() as store, using(store):
        lean = with_ties(spill(events, store), store)
        assert "raw" not in lean.columns and {RAW_REF, RAW_TIE} <= set(lean.columns)
        assert lean[RAW_TIE].to_list() == [3, 1, 2, None]
        assert raw_of(ordered(lean)).to_list() == ordered(events)["raw"].to_list()
        assert evidence_of(lean) == evidence_of(events)


def reports(path: str) -> dict[str, str]:
    report = analyze([path], Options())
    return {name: render(report, STYLE) for name, render in renderers().items()}


@pytest.mark.parametrize("path", ["sample_logs/", "tests/corpus/excerpts"])
def test_a_report_with_its_texts_in_memory_is_the_same_report(
    path: str, in_repo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `run` keeps texts in a store; with a store that keeps them in the frame instead, every
    # renderer must print the same bytes.
    expected = reports(path)

    class Inline(TextStore):
        def add(self, texts: object) -> pl.Series:
            raise AssertionError("texts were to stay in the frame")

    def inline_extract(*args: object, texts: TextStore | None = None, **kwargs: object) -> object:
        return extract_events(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "extract_events", inline_extract)
    monkeypatch.setattr(pipeline, "TextStore", Inline)
    assert reports(path) == expected


def test_a_report_run_keeps_the_texts_out_of_the_events(in_repo: None) -> None:
    coverage = Coverage()
    with TextStore() as store, using(store):
        lean = extract_events(expand(["sample_logs/"], coverage), coverage, texts=store).events
        # (echoes merged away leave their texts unread in the store)
        assert "raw" not in lean.columns and lean[RAW_REF].max() < len(store)
        coverage = Coverage()
        full = extract_events(expand(["sample_logs/"], coverage), coverage).events
        back = lean.with_columns(raw_of(lean)).select(full.columns)
        assert_frame_equal(back, full)


def test_the_cli_asks_the_allocator_to_return_memory_unless_told_otherwise() -> None:
    from analyzer.__main__ import ALLOCATOR, ALLOCATOR_SETTINGS, tune_allocator

    fresh: dict[str, str] = {}
    tune_allocator(fresh)
    assert fresh == {ALLOCATOR: ALLOCATOR_SETTINGS}
    own = {ALLOCATOR: "dirty_decay_ms:-1"}
    tune_allocator(own)
    assert own == {ALLOCATOR: "dirty_decay_ms:-1"}
    # It only works if polars has not loaded yet when the entry point runs.
    probe = "import sys, analyzer.__main__; print('polars' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr
