"""The CI gate: which findings (or events) break a pipeline, decided from a Report."""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.detectors import Finding
from analyzer.report import Report
from analyzer.schema import Severity


@dataclass(frozen=True)
class CheckResult:
    """The verdict of `bnlog check`: what failed it, and against which threshold."""

    report: Report
    fail_on: Severity
    failing: tuple[Finding, ...]  # findings at or above the threshold, worst first
    codes: tuple[int, ...]  # --code values the run was limited to (any event then fails)
    allow_unreadable: bool = False  # --allow-unreadable: an incomplete read does not fail

    @property
    def unread(self) -> bool:
        """True when some input could not be read and that fails the check."""
        return bool(self.report.totals.incomplete) and not self.allow_unreadable

    @property
    def failed(self) -> bool:
        """True when the pipeline should fail (exit status 1): a failing finding or event, or
        input that could not be read (unless --allow-unreadable)."""
        if self.unread:
            return True
        if self.codes:
            return self.report.totals.events > 0
        return bool(self.failing)


def check(
    report: Report,
    fail_on: Severity,
    codes: tuple[int, ...] = (),
    allow_unreadable: bool = False,
) -> CheckResult:
    """Findings at `fail_on` or worse fail the check; with --code, any matching event does;
    input that could not be read does too, unless allowed."""
    failing = tuple(f for f in report.findings if f.severity.rank <= fail_on.rank)
    return CheckResult(
        report=report,
        fail_on=fail_on,
        failing=failing,
        codes=codes,
        allow_unreadable=allow_unreadable,
    )
