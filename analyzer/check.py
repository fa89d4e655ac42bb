"""The CI gate: which findings, budgets or baseline changes break a pipeline, decided from a
Report (and the event counts the budgets are measured against)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from analyzer.baseline import DEFAULT_TOLERANCE, compare, entries, fingerprint
from analyzer.budgets import CATEGORY, CODE, HTTP, Budget, EventCounts, Key
from analyzer.detectors import Finding
from analyzer.report import Report
from analyzer.schema import Severity

# How check judged a finding: over --fail-on (FAIL), below it (PASS), taken out by --ignore,
# judged by a budget that covers it, or known to the baseline and not grown past the tolerance.
FAIL, PASS, IGNORED, BUDGETED, BASELINED = "fail", "pass", "ignored", "budget", "baseline"


@dataclass(frozen=True)
class Judged:
    """One finding with its fingerprint and what the check made of it."""

    finding: Finding
    fingerprint: str
    status: str  # FAIL, PASS, IGNORED, BUDGETED or BASELINED
    note: str = ""  # "ignored: -2011", "budget -1003", "grew 40 → 90 (+125 %)"


@dataclass(frozen=True)
class BudgetResult:
    """A budget and the events it counted."""

    budget: Budget
    count: int

    @property
    def failed(self) -> bool:
        return self.count > self.budget.limit

    @property
    def what(self) -> str:
        """What was counted: '43 events with -1003', '27 events in ip_ban findings'."""
        key = self.budget.key
        events = f"{self.count} {'event' if self.count == 1 else 'events'}"
        if key.type in (CODE, HTTP):
            return f"{events} with {key}"
        if key.type == CATEGORY:
            return f"{events} in category {key}"
        return f"{events} in {key} findings"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of `bnlog check`: what failed it, and against which settings."""

    report: Report
    fail_on: Severity
    failing: tuple[Finding, ...]  # findings that fail the check, worst first
    codes: tuple[int, ...] = ()  # --code values (each a budget of 0)
    allow_unreadable: bool = False  # --allow-unreadable: an incomplete read does not fail
    judged: tuple[Judged, ...] = ()  # one per report finding, in the report's order
    budgets: tuple[BudgetResult, ...] = ()
    ignore: tuple[Key, ...] = ()
    baseline: str | None = None  # the --baseline file compared with
    tolerance: float = DEFAULT_TOLERANCE
    config: str | None = None  # the config file the settings came from

    @property
    def unread(self) -> bool:
        """True when some input could not be read and that fails the check."""
        return bool(self.report.totals.incomplete) and not self.allow_unreadable

    @property
    def over_budget(self) -> tuple[BudgetResult, ...]:
        return tuple(b for b in self.budgets if b.failed)

    @property
    def failed(self) -> bool:
        """True when the pipeline should fail (exit status 1): a failing finding, a budget
        exceeded, or input that could not be read (unless --allow-unreadable)."""
        return self.unread or bool(self.failing) or bool(self.over_budget)


def code_budgets(codes: Sequence[int]) -> tuple[Budget, ...]:
    """--code N as a budget of 0: a negative N is a Binance code, a positive one an HTTP status."""
    return tuple(
        Budget(Key(CODE, str(c), c) if c < 0 else Key(HTTP, f"http:{c}", c), 0, "--code")
        for c in sorted(set(codes))
    )


def check(
    report: Report,
    fail_on: Severity,
    codes: tuple[int, ...] = (),
    allow_unreadable: bool = False,
    *,
    budgets: Sequence[Budget] = (),
    ignore: Sequence[Key] = (),
    counts: EventCounts | None = None,
    baseline: Mapping[str, int] | None = None,
    baseline_file: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    config: str | None = None,
) -> CheckResult:
    """Judge every finding and budget. A finding an --ignore key covers is left out; one a
    budget covers is judged by the budget; the rest fail at `fail_on` or worse — with a
    baseline, only when new or grown beyond `tolerance` percent. Each --code is a budget of 0
    (unless a budget names the same key). Input that could not be read fails too, unless
    allowed."""
    from analyzer.render.inert import inert  # fingerprints of what is shown (paths redacted)

    counts = counts if counts is not None else EventCounts.from_report(report)
    named = {b.key for b in budgets}
    all_budgets = (*budgets, *(b for b in code_budgets(codes) if b.key not in named))
    budget_keys = [b.key for b in all_budgets]
    prints = [fingerprint(f) for f in inert(report).findings]
    grouped = {k: e.count for k, e in entries(inert(report).findings).items()}
    judged = []
    for finding, key in zip(report.findings, prints, strict=True):
        status, note = PASS, ""
        if counts.covers(ignore, finding):
            status, note = IGNORED, "ignored: " + _matching(counts, ignore, finding)
        elif counts.covers(budget_keys, finding):
            status, note = BUDGETED, "budget " + _matching(counts, budget_keys, finding)
        elif finding.severity.rank <= fail_on.rank:
            status = FAIL
            if baseline is not None:
                compared = compare(baseline.get(key), grouped[key], tolerance)
                status, note = (FAIL if compared.fails else BASELINED), compared.text()
        judged.append(Judged(finding, key, status, note))
    return CheckResult(
        report=report,
        fail_on=fail_on,
        failing=tuple(j.finding for j in judged if j.status == FAIL),
        codes=codes,
        allow_unreadable=allow_unreadable,
        judged=tuple(judged),
        budgets=tuple(
            BudgetResult(b, counts.count(b.key, report.findings))
            for b in sorted(all_budgets, key=lambda b: b.key)
        ),
        ignore=tuple(sorted(ignore)),
        baseline=baseline_file if baseline is not None else None,
        tolerance=tolerance,
        config=config,
    )


def _matching(counts: EventCounts, keys: Sequence[Key], finding: Finding) -> str:
    """The keys that speak for `finding`, as the output names them."""
    return ", ".join(str(k) for k in counts.naming(keys, finding))
