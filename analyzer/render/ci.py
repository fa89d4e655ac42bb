"""`bnlog check` output for CI systems: a short summary, GitHub annotations, JUnit XML, JSON."""

from __future__ import annotations

import dataclasses
from xml.sax.saxutils import escape, quoteattr

from analyzer.check import CheckResult
from analyzer.detectors import Finding
from analyzer.render.inert import inert
from analyzer.render.json import dumps, report_dict
from analyzer.render.text import one_line, plural

_GITHUB_LEVEL = {"critical": "error", "error": "error", "warning": "warning", "info": "notice"}


def _shown(result: CheckResult) -> CheckResult:
    """The result as it may be printed: the report made inert (file names redacted, control
    characters escaped), the failing findings picked out of it again."""
    report = inert(result.report)
    failing = tuple(
        shown
        for shown, f in zip(report.findings, result.report.findings, strict=True)
        if f in result.failing
    )
    return dataclasses.replace(result, report=report, failing=failing)


def _where(f: Finding) -> str:
    if not f.evidence:
        return ""
    e = f.evidence[0]
    return f"{e.path}:{e.line}"


def summary(result: CheckResult) -> str:
    """Plain text: one line per finding, then PASS/FAIL with the reason."""
    result = _shown(result)
    r = result.report
    out = []
    for f in r.findings:
        mark = "FAIL" if f in result.failing else "    "
        out.append(f"{mark} [{f.severity.value}] {f.kind}: {f.title} ({_where(f)})")
    reason = (
        f"{plural(r.totals.events, 'event')} with the requested codes"
        if result.codes
        else f"{plural(len(result.failing), 'finding')} at {result.fail_on.value} or worse"
    )
    if r.totals.incomplete:
        reason += f"; incomplete: {r.totals.incomplete}"
        reason += " (allowed)" if result.allow_unreadable else " (--allow-unreadable to pass)"
    status = "FAIL" if result.failed else "PASS"
    out.append(
        f"bnlog check: {status}: {reason} (verdict {r.verdict}, {plural(r.totals.events, 'event')})"
    )
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
    """GitHub Actions workflow commands: one annotation per finding, at its first evidence."""
    result = _shown(result)
    out = []
    for f in result.report.findings:
        level = _GITHUB_LEVEL[f.severity.value]
        props = [f"title={_prop(f'bnlog {f.kind} ({f.severity.value})')}"]
        if f.evidence:
            props = [f"file={_prop(f.evidence[0].path)}", f"line={f.evidence[0].line}", *props]
        out.append(f"::{level} {','.join(props)}::{_data(f.title + chr(10) + f.fix)}")
    if result.report.totals.incomplete:
        level = "error" if result.unread else "warning"
        note = "\n".join(
            (f"incomplete: {result.report.totals.incomplete}", *result.report.warnings)
        )
        out.append(f"::{level} title={_prop('bnlog: not every input was read')}::{_data(note)}")
    out.append(summary(result).splitlines()[-1])
    return "\n".join(out) + "\n"


def junit(result: CheckResult) -> str:
    """JUnit XML: one test case per finding; a failing finding is a <failure>. Any text from the
    logs stays well-formed XML (control characters and lone surrogates shown escaped)."""
    result = _shown(result)
    r = result.report
    cases = []
    for f in r.findings:
        name = quoteattr(f"{f.kind}: {f.title}")
        classname = quoteattr(f"bnlog.{f.kind}")
        body = (
            f"{f.title}\n\n"
            + "\n".join(f"{e.path}:{e.line} {one_line(e.text, 300)}" for e in f.evidence)
            + f"\n\nfix: {f.fix}"
        )
        if f in result.failing:
            cases.append(
                f"  <testcase classname={classname} name={name}>\n"
                f'    <failure type="{f.severity.value}" message={quoteattr(f.title)}>'
                f"{escape(body)}</failure>\n  </testcase>"
            )
        else:
            cases.append(
                f"  <testcase classname={classname} name={name}>\n"
                f"    <system-out>{escape(body)}</system-out>\n  </testcase>"
            )
    if not r.findings:
        cases.append('  <testcase classname="bnlog" name="no findings"/>')
    if r.totals.incomplete:
        text = escape(f"incomplete: {r.totals.incomplete}\n" + "\n".join(r.warnings))
        if result.unread:
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
    matched = int(r.totals.events > 0)  # with --code, any matching event is the one failure
    failures = (len(result.failing) if not result.codes else matched) + int(result.unread)
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="bnlog check" tests="{max(1, len(cases))}" '
        f'failures="{failures}" errors="0" skipped="0">'
    )
    return head + "\n" + "\n".join(cases) + "\n</testsuite>\n"


def as_json(result: CheckResult) -> str:
    """The report JSON with a `check` section."""
    data = report_dict(result.report)  # file names redacted there
    data["check"] = {
        "failed": result.failed,
        "fail_on": result.fail_on.value,
        "codes": list(result.codes),
        "failing": [f.kind for f in result.failing],
        "incomplete_fails": result.unread,
    }
    return dumps(data)


CHECK_FORMATS = {"text": summary, "github": github, "junit": junit, "json": as_json}
