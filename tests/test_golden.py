"""Golden reports: each sample_logs/ story rendered as text, Markdown and JSON, byte for byte.

Regenerate deliberately with `python -m pytest tests/test_golden.py --update-golden`, then
read the diff (`git diff tests/golden`) before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer import Options, analyze
from analyzer.render import Style, renderers

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
STORIES = sorted(p.name for p in (ROOT / "sample_logs").iterdir() if p.is_dir())
SUFFIX = {"text": "txt", "markdown": "md", "json": "json"}
STYLE = Style(color=False, width=100, chart=True)

# What each story must be diagnosed as: its verdict and the kind of its top finding.
DIAGNOSIS = {
    "ban_storm": ("critical", "ip_ban"),
    "clock_drift": ("degraded", "clock_drift"),
    "lot_size": ("degraded", "filter_violation"),
    "maintenance": ("degraded", "outage"),
    "revoked_key": ("critical", "auth"),
    "shapes": ("critical", "geo_block"),
}


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root so evidence paths read sample_logs/…, as in the README."""
    monkeypatch.chdir(ROOT)


def test_every_story_has_a_diagnosis() -> None:
    assert sorted(DIAGNOSIS) == STORIES


@pytest.mark.parametrize("story", STORIES)
def test_story_diagnosis(story: str, in_repo: None) -> None:
    report = analyze([f"sample_logs/{story}"], Options())
    verdict, top = DIAGNOSIS[story]
    assert report.verdict == verdict
    assert report.findings[0].kind == top
    for finding in report.findings:
        assert finding.evidence, finding.kind
        assert finding.fix.strip(), finding.kind


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("story", STORIES)
def test_golden_report(story: str, fmt: str, in_repo: None, update_golden: bool) -> None:
    report = analyze([f"sample_logs/{story}"], Options())
    output = renderers()[fmt](report, STYLE)
    path = GOLDEN / f"{story}.{SUFFIX[fmt]}"
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(output, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with --update-golden and review it"
    assert output == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("story", STORIES)
def test_formats_agree(story: str, in_repo: None) -> None:
    """The three formats tell the same story: same verdict, findings, counts."""
    report = analyze([f"sample_logs/{story}"], Options())
    data = json.loads(renderers()["json"](report, STYLE))
    text = renderers()["text"](report, STYLE)
    markdown = renderers()["markdown"](report, STYLE)
    assert data["verdict"] == report.verdict
    assert len(data["findings"]) == len(report.findings)
    flat = " ".join(text.split())  # the text report wraps titles at its width
    for finding in data["findings"]:
        assert " ".join(finding["title"].split()) in flat
        assert finding["title"] in markdown
        for ev in finding["evidence"]:
            assert f"{ev['path']}:{ev['line']}" in text
    assert data["verdict"].upper() in text
