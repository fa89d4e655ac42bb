"""No error goes unexplained: every Binance API error event lands in a finding, and a log that
holds any is never called healthy. Checked on every sample log, the hostile corpus and the
real-world corpus."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analyzer import analyze, analyze_events
from analyzer.detectors import REGISTRY
from analyzer.schema import api_events

REPO = Path(__file__).resolve().parent.parent
SAMPLES = sorted(
    p for p in (REPO / "sample_logs").rglob("*") if p.is_file() and p.name != "README.md"
)
EXCERPTS = sorted((REPO / "tests" / "corpus" / "excerpts").rglob("*.log"))


def unexplained(events: pl.DataFrame) -> pl.DataFrame:
    """API error events that no detector of the registry explains (the `unexplained` detector
    included: it is the one that catches the rest)."""
    explains = pl.any_horizontal([d.explains for d in REGISTRY])
    return api_events(events).filter(~explains)


def test_the_explaining_is_declared_once_per_detector() -> None:
    for detector in REGISTRY:
        assert isinstance(detector.explains, pl.Expr), detector.name


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_sample_event_is_explained(path: Path) -> None:
    events, _ = analyze_events([str(path)])
    assert unexplained(events).height == 0
    report = analyze([str(path)])
    if api_events(events).height:
        assert report.verdict != "healthy"
        counted = sum(f.count for f in report.findings if f.kind != "error_spike")
        assert counted >= api_events(events).height


def test_every_real_world_event_is_explained_and_never_healthy() -> None:
    events, _ = analyze_events([str(p) for p in EXCERPTS])
    assert unexplained(events).height == 0
    errors = api_events(events)
    by_file = errors.group_by("path").len()
    for path, n in by_file.rows():
        report = analyze([path])
        assert report.verdict != "healthy", (path, n)


def test_every_hostile_event_is_explained(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    from hostile.corpus import build_corpus, cleanup

    root = tmp_path / "hostile"
    root.mkdir()
    try:
        cases = build_corpus(root)
        for name, case in sorted(cases.items()):
            if case.skip or case.exit_code != 0 or case.args:
                continue
            events, _ = analyze_events([str(root / p) for p in case.paths])
            assert unexplained(events).height == 0, name
            if api_events(events).height:
                assert analyze([str(root / p) for p in case.paths]).verdict != "healthy", name
    finally:
        cleanup(root)
