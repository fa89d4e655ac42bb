"""The README is tested: its set-up commands are what CI runs, every command and option is
documented, and its output samples are what bnlog prints today."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from analyzer import Options, analyze
from analyzer.cli import cli
from analyzer.reference import lookup
from analyzer.render import Style, renderers
from analyzer.render.codes import render_codes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest"
)
EXCERPT_LINES = 18  # the README shows the start of `bnlog codes -1013`, not all of it
RUN_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/bnlog report sample_logs/"
)


def block_after(marker: str, text: str = README) -> re.Match[str]:
    """The first ```text block after the line containing `marker`."""
    start = text.index(marker)
    match = re.compile(r"```text\n(.*?)```", re.S).search(text, start)
    assert match, f"no text block after {marker!r}"
    return match


def check_block(marker: str, expected: str, update: bool) -> None:
    """The README block after `marker` is `expected`; with --update-golden, make it so."""
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    match = block_after(marker, text)
    if update and match.group(1) != expected:
        text = text[: match.start(1)] + expected + text[match.end(1) :]
        path.write_text(text, encoding="utf-8")
        match = block_after(marker, text)
    assert match.group(1) == expected


def test_the_two_setup_commands_are_in_the_readme_and_ci_runs_the_test_one() -> None:
    assert RUN_COMMAND in README
    assert TEST_COMMAND in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in ci


def test_every_command_and_option_is_documented() -> None:
    for name, command in cli.commands.items():
        assert f"bnlog {name}" in README, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert any(opt in README for opt in param.opts), (name, param.opts)


def test_report_sample_in_readme_is_current(
    monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    monkeypatch.chdir(ROOT)
    report = analyze(["sample_logs/clock_drift"], Options())
    expected = renderers()["text"](report, Style(color=False, width=80, chart=True))
    check_block("`bnlog report --width 80 sample_logs/clock_drift`", expected, update_golden)


def test_codes_sample_in_readme_is_current(update_golden: bool) -> None:
    lines = render_codes(lookup("-1013"), detail=True).splitlines(keepends=True)
    excerpt = "".join(lines[:EXCERPT_LINES]) + f"  … ({len(lines) - EXCERPT_LINES} more lines)\n"
    check_block("### `bnlog codes [QUERY]`", excerpt, update_golden)
