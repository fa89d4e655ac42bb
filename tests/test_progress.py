"""The progress line: only where a person watches, and what it says."""

from __future__ import annotations

import io
import time

import pytest

from analyzer import progress
from analyzer.sources import Coverage, Source


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wanted_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert progress.wanted(None, Terminal()) is True
    assert progress.wanted(None, io.StringIO()) is False  # a pipe or a file
    assert progress.wanted(False, Terminal()) is False  # --no-progress
    assert progress.wanted(True, io.StringIO()) is True  # --progress
    monkeypatch.setenv("CI", "true")
    assert progress.wanted(None, Terminal()) is False
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "dumb")
    assert progress.wanted(None, Terminal()) is False


def test_the_line_says_share_rate_and_time_left() -> None:
    mb = progress.MB
    assert progress.line(256 * mb, 1024 * mb, 2.0) == (
        "bnlog: read 256 MB of 1,024 MB (25%) · 128 MB/s · 6 s left"
    )
    assert progress.line(1024 * mb, 1024 * mb, 8.0) == (
        "bnlog: read 1,024 MB (100%) · analysing the events"
    )
    # a stream (size unknown) or compressed input (more bytes than the file): no share
    assert progress.line(300 * mb, None, 3.0) == "bnlog: read 300 MB · 100 MB/s"
    assert progress.line(300 * mb, 100 * mb, 3.0) == "bnlog: read 300 MB · 100 MB/s"


def test_total_is_the_files_sizes_past_a_resume_and_unknown_for_a_stream(tmp_path) -> None:
    (tmp_path / "a.log").write_bytes(b"x" * 100)
    (tmp_path / "b.log").write_bytes(b"y" * 50)
    sources = [Source(str(tmp_path / "a.log"), start=40), Source(str(tmp_path / "b.log"))]
    assert progress.total_bytes(sources) == 110
    assert progress.total_bytes([*sources, Source("-")]) is None


def test_shown_writes_after_the_delay_and_clears_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY_S", 0.05)
    monkeypatch.setattr(progress, "EVERY_S", 0.05)
    out, coverage = Terminal(), Coverage()
    coverage.bytes = 5 * progress.MB
    with progress.shown(coverage, 10 * progress.MB, True, out):
        time.sleep(0.3)
    text = out.getvalue()
    assert text.startswith("\rbnlog: read 5 MB of 10 MB (50%)")
    assert text.endswith("\r")  # the line is blanked: the report starts on a clean line
    quick = Terminal()
    with progress.shown(coverage, 10 * progress.MB, True, quick):
        pass  # a run shorter than the delay shows nothing
    assert quick.getvalue() == ""
    off = Terminal()
    with progress.shown(coverage, 10 * progress.MB, False, off):
        time.sleep(0.2)
    assert off.getvalue() == ""
