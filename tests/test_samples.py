"""Every sample log gives exactly the events its hand count in sample_expectations.toml says."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from analyzer import analyze_events

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = tomllib.loads((ROOT / "tests" / "sample_expectations.toml").read_text())


def key(code: int | None, http: int | None) -> str:
    """The expectation file's key for a (code, http_status) pair."""
    if code is not None and http is not None:
        return f"{code}/{http}"
    if code is not None:
        return str(code)
    if http is not None:
        return f"http:{http}"
    return "none"


def files() -> list[str]:
    return sorted(EXPECTED["files"]) if "files" in EXPECTED else sorted(EXPECTED)


@pytest.mark.parametrize("name", files())
def test_sample_file_has_the_hand_counted_events(name: str) -> None:
    spec = EXPECTED["files"][name] if "files" in EXPECTED else EXPECTED[name]
    events, coverage = analyze_events([str(ROOT / name)])
    got = Counter(key(c, h) for c, h in events.select("code", "http_status").iter_rows())
    assert dict(got) == dict(spec["codes"])
    assert events.height == spec["events"]
    assert coverage.warnings == []


def test_every_sample_log_is_listed() -> None:
    logs = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "sample_logs").rglob("*")
        if p.is_file() and p.suffix != ".md"
    )
    assert logs == files()
