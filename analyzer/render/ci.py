"""`bnlog check` output for CI systems: a short summary, GitHub annotations, JUnit XML, JSON, and
the Markdown step summary."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from analyzer.check import BASELINED, BUDGETED, FAIL, IGNORED, BudgetResult, CheckResult, Judged
from analyzer.detectors import Finding
from analyzer.redact import redact_text
from analyzer.render import DEFAULT_STYLE, Style
from analyzer.render.inert import escape_controls, inert
from analyzer.render.json import dumps, report_dict
from analyzer.render.markdown import code_span, plain_text
from analyzer.render.markdown import render as markdown_report
from analyzer.render.text import one_line, plural

_GITHUB_LEVEL = {"critical": "error", "error": "error", "warning": "warning", "info": "notice"}
GITHUB_LEVELS = ("error", "warning", "notice")  # the most severe first
GITHUB_CAP = 10  # GitHub shows at most this many annotations of each level per step
_MARK = {FAIL: "FAIL", IGNORED: "ignored", BUDGETED: "budget", BASELINED: "known"}


def _shown(result: CheckResult) -> CheckResult:
    """The result as it may be printed: the report made inert (file names redacted, control
    characters escaped), the judged and failing findings picked out of it again."""
    report = inert(result.report)
    judged = tuple(
        dataclasses.replace(j, finding=shown)
        for j, shown in zip(result.judged, report.findings, strict=True)
    )
    failing = tuple(
        shown
        for shown, f in zip(report.findings, result.report.findings, strict=True)
        if f in result.failing
    )
    return dataclasses.replace(result, report=report, judged=judged, failing=failing)


def _where(f: Finding) -> str:
    """`path:line` of the first evidence, else the source (or '-')."""
    if not f.evidence:
        return f.source or "-"
    e = f.evidence[0]
    return f"{e.path}:{e.line}"


def _config(result: CheckResult) -> str | None:
    return escape_controls(redact_text(result.config)) if result.config else None


def status_line(result: CheckResult) -> str:
    """`bnlog check: PASS|FAIL: <why> (verdict …, N events)` (of an already shown result)."""
    r = result.report
    fails = len(result.failing)
    if result.baseline is not None:
        reason = f"{plural(fails, 'new or grown finding')} at {result.fail_on.value} or worse"
    else:
        reason = f"{plural(fails, 'finding')} at {result.fail_on.value} or worse"
    if result.budgets:
        reason += f"; {len(result.over_budget)} of {plural(len(result.budgets), 'budget')} exceeded"
    ignored = sum(j.status == IGNORED for j in result.judged)
    if ignored:
        reason += f"; {ignored} ignored"
    if r.totals.incomplete:
        reason += f"; incomplete: {r.totals.incomplete}"
        reason += " (allowed)" if result.allow_unreadable else " (--allow-unreadable to pass)"
    status = "FAIL" if result.failed else "PASS"
    return (
        f"bnlog check: {status}: {reason} (verdict {r.verdict}, {plural(r.totals.events, 'event')})"
    )


def _budget_text(b: BudgetResult) -> str:
    """'43 events with -1003, at most 5 allowed (--max)'."""
    origin = escape_controls(redact_text(b.budget.origin))
    return f"{b.what}, at most {b.budget.limit} allowed ({origin})"


def _budget_lines(result: CheckResult) -> list[str]:
    return [
        f"budget {b.budget.key}: {'FAIL' if b.failed else 'pass'}: {_budget_text(b)}"
        for b in result.budgets
    ]


def summary(result: CheckResult) -> str:
    """Plain text: one line per finding, `path:line: ` first (editors jump to it), then one per
    budget, then PASS/FAIL with the reason."""
    result = _shown(result)
    out = []
    for j in result.judged:
        f = j.finding
        mark = _MARK.get(j.status, "pass")
        note = f" ({j.note})" if j.note else ""
        out.append(f"{_where(f)}: {mark} [{f.severity.value}] {f.kind}: {f.title}{note}")
    out.extend(_budget_lines(result))
    out.append(status_line(result))
    return "\n".join(out) + "\n"


def _prop(value: str) -> str:
    """A GitHub workflow-command property value."""
    return (
        value.replace("%", "%25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace(":", "%3A")
        .replace(",", "%2C")
    )


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: a failing budget, each finding (at its first evidence)
    and an incomplete read as annotations — at most GITHUB_CAP per level, the most severe (and
    failing) first, then one line counting what was left out — then the status line."""
    result = _shown(result)
    items: list[tuple[str, tuple[int, int, int], str]] = []  # (level, order, command)
    for i, b in enumerate(result.over_budget):
        title = _prop(f"bnlog budget {b.budget.key} exceeded")
        text = _budget_text(b)
        items.append(("error", (0, -1, i), f"::error title={title}::{_data(text)}"))
    for i, j in enumerate(result.judged):
        if j.status == IGNORED:
            continue
        f = j.finding
        level = _GITHUB_LEVEL[f.severity.value]
        props = [f"title={_prop(f'bnlog {f.kind} ({f.severity.value})')}"]
        if f.evidence:
            props = [f"file={_prop(f.evidence[0].path)}", f"line={f.evidence[0].line}", *props]
        note = f"{j.note}\n" if j.note else ""
        message = _data(f.title + "\n" + note + f.fix)
        order = (0 if j.status == FAIL else 1, f.severity.rank, i)
        items.append((level, order, f"::{level} {','.join(props)}::{message}"))
    if result.report.totals.incomplete:
        level = "error" if result.unread else "warning"
        note = "\n".join(
            (f"incomplete: {result.report.totals.incomplete}", *result.report.warnings)
        )
        title = _prop("bnlog: not every input was read")
        order = (0 if result.unread else 1, 0, -1)
        items.append((level, order, f"::{level} title={title}::{_data(note)}"))
    out: list[str] = []
    left: list[str] = []
    for level in GITHUB_LEVELS:
        ranked = sorted((item for item in items if item[0] == level), key=lambda item: item[1])
        out.extend(command for _, _, command in ranked[:GITHUB_CAP])
        if len(ranked) > GITHUB_CAP:
            left.append(f"{len(ranked) - GITHUB_CAP} {level}")
    if left:
        out.append(
            f"bnlog check: {' and '.join(left)} annotations left out (GitHub shows "
            f"{GITHUB_CAP} per level); the step summary and -f text list every finding"
        )
    out.append(status_line(result))
    return "\n".join(out) + "\n"


def _evidence(findings: Iterable[Finding]) -> str:
    return "\n".join(
        f"{e.path}:{e.line}: {one_line(e.text, 300)}" for f in findings for e in f.evidence
    )


def _grouped(judged: Iterable[Judged]) -> dict[str, list[Judged]]:
    """Judged findings by fingerprint, in the order of their first finding."""
    groups: dict[str, list[Judged]] = {}
    for j in judged:
        groups.setdefault(j.fingerprint, []).append(j)
    return groups


def junit(result: CheckResult) -> str:
    """JUnit XML: one test case per budget (`budget -1003`) and per finding fingerprint
    (`ip_ban sample_logs/ban_storm -1003 BTCUSD`): names carry no counts or times, so CI
    history follows one case across runs. A failure carries the evidence (file:line and text).
    Any text from the logs stays well-formed XML (control characters, lone surrogates escaped)."""
    result = _shown(result)
    r = result.report
    cases = []
    failures = skipped = 0
    for b in result.budgets:
        text = _budget_text(b)
        name = quoteattr(f"budget {b.budget.key}")
        if b.failed:
            failures += 1
            cases.append(
                f'  <testcase classname="bnlog.budget" name={name}>\n'
                f'    <failure type="budget" message={quoteattr(text)}>{escape(text)}</failure>\n'
                "  </testcase>"
            )
        else:
            cases.append(
                f'  <testcase classname="bnlog.budget" name={name}>\n'
                f"    <system-out>{escape(text)}</system-out>\n  </testcase>"
            )
    for key, group in _grouped(result.judged).items():
        kind = group[0].finding.kind
        attrs = f"classname={quoteattr(f'bnlog.{kind}')} name={quoteattr(key)}"
        parts = []
        for j in group:
            f = j.finding
            status = _MARK.get(j.status, "pass")
            note = f" ({j.note})" if j.note else ""
            parts.append(
                f"[{f.severity.value}] {status}: {f.title}{note}\n{_evidence([f])}\n\nfix: {f.fix}"
            )
        body = escape("\n\n".join(parts))
        failing = [j for j in group if j.status == FAIL]
        if failing:
            failures += 1
            first = failing[0]
            message = first.finding.title + (f" ({first.note})" if first.note else "")
            message += "; " + _where(first.finding)
            cases.append(
                f"  <testcase {attrs}>\n"
                f'    <failure type="{first.finding.severity.value}" message={quoteattr(message)}>'
                f"{body}</failure>\n  </testcase>"
            )
        elif all(j.status == IGNORED for j in group):
            skipped += 1
            cases.append(
                f"  <testcase {attrs}>\n    <skipped message={quoteattr(group[0].note)}/>\n"
                f"    <system-out>{body}</system-out>\n  </testcase>"
            )
        else:
            cases.append(
                f"  <testcase {attrs}>\n    <system-out>{body}</system-out>\n  </testcase>"
            )
    if not r.findings:
        cases.append('  <testcase classname="bnlog" name="no findings"/>')
    if r.totals.incomplete:
        text = escape(f"incomplete: {r.totals.incomplete}\n" + "\n".join(r.warnings))
        if result.unread:
            failures += 1
            message = quoteattr(f"incomplete: {r.totals.incomplete}")
            cases.append(
                '  <testcase classname="bnlog.coverage" name="every input read">\n'
                f'    <failure type="incomplete" message={message}>{text}</failure>\n'
                "  </testcase>"
            )
        else:
            cases.append(
                '  <testcase classname="bnlog.coverage" name="every input read">\n'
                f"    <system-out>{text}</system-out>\n  </testcase>"
            )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="bnlog check" tests="{len(cases)}" '
        f'failures="{failures}" errors="0" skipped="{skipped}">'
    )
    return head + "\n" + "\n".join(cases) + "\n</testsuite>\n"


def as_json(result: CheckResult) -> str:
    """The report JSON with a `check` section."""
    data = report_dict(result.report)  # file names redacted there
    shown = _shown(result)
    data["check"] = {
        "failed": result.failed,
        "fail_on": result.fail_on.value,
        "codes": list(result.codes),
        "failing": [f.kind for f in result.failing],
        "incomplete_fails": result.unread,
        "findings": [
            {"fingerprint": j.fingerprint, "status": j.status, "note": j.note} for j in shown.judged
        ],
        "budgets": [
            {
                "key": str(b.budget.key),
                "max": b.budget.limit,
                "count": b.count,
                "failed": b.failed,
                "from": escape_controls(redact_text(b.budget.origin)),
            }
            for b in result.budgets
        ],
        "ignore": [str(k) for k in result.ignore],
        "baseline": (
            {"file": escape_controls(redact_text(result.baseline)), "tolerance": result.tolerance}
            if result.baseline is not None
            else None
        ),
        "config": _config(result),
    }
    return dumps(data)


def step_summary(result: CheckResult, style: Style = DEFAULT_STYLE) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: the check's status, budgets and judged findings, then
    the full report."""
    shown = _shown(result)
    out = [f"## bnlog check: {'FAIL' if result.failed else 'PASS'}", ""]
    out.append(plain_text(status_line(shown).split(": ", 2)[-1]))
    out.append("")
    if shown.budgets:
        out.extend(["| budget | events | at most | |", "|---|---:|---:|---|"])
        for b in shown.budgets:
            mark = "**FAIL**" if b.failed else "pass"
            out.append(
                f"| {code_span(str(b.budget.key))} | {b.count} | {b.budget.limit} | {mark} |"
            )
        out.append("")
    for j in shown.judged:
        mark = "**FAIL**" if j.status == FAIL else _MARK.get(j.status, "pass")
        note = f" — {plain_text(j.note)}" if j.note else ""
        out.append(f"- {mark} {code_span(j.fingerprint)}{note}")
    if shown.judged:
        out.append("")
    return "\n".join(out) + "\n" + markdown_report(result.report, style) + "\n"


CHECK_FORMATS = {"text": summary, "github": github, "junit": junit, "json": as_json}
