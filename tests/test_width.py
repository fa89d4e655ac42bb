"""The text report fits its width: every line but the chart's, for every sample story, at the
widths terminals have (80 and 100 columns among them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import analyze
from analyzer.render import Style
from analyzer.render.text import render

REPO = Path(__file__).resolve().parent.parent
STORIES = sorted(p for p in (REPO / "sample_logs").iterdir() if p.is_dir())
CHART = set("┌└│┤┬┼─┐┘")


@pytest.fixture(scope="module")
def reports() -> dict[str, object]:
    return {story.name: analyze([str(story)]) for story in STORIES}


@pytest.mark.parametrize("width", [60, 80, 100, 132])
@pytest.mark.parametrize("story", [s.name for s in STORIES])
def test_every_line_fits_the_width(reports, story: str, width: int) -> None:
    text = render(reports[story], Style(color=False, width=width, chart=True))  # type: ignore[arg-type]
    too_wide = [line for line in text.splitlines() if len(line) > width and not CHART & set(line)]
    assert too_wide == []


@pytest.mark.parametrize("story", [s.name for s in STORIES])
def test_no_internal_field_names_in_the_text(reports, story: str) -> None:
    text = render(reports[story], Style(color=False, width=80, chart=False))  # type: ignore[arg-type]
    for internal in ("details:", "only_symbol", "log_quiet_before_s", "_s ", "by_reason:"):
        assert internal not in text
