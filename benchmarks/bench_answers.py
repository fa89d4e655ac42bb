"""Reading each tool's answer (grep, loop, lnav, bnlog) and comparing it with the truth file.

Used by bench.py. Count differences are reported, never fatal: this is a speed benchmark,
correctness lives in tests/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench_measure import Run

# The peers that report events per code, in table order.
COUNTERS = ("loop", "lnav", "bnlog")


@dataclass
class Counts:
    """A tool's answer: total error events, and events per visible code, HTTP status, reason."""

    events: int | None = None
    # None: the tool does not report that breakdown (lnav: no HTTP status; the loop and lnav
    # do not classify; bnlog when no per-code rows were found in its JSON).
    by_code: dict[str, int] | None = None
    by_http: dict[str, int] | None = None
    by_reason: dict[str, int] | None = None
    # bnlog lists the busiest (code, HTTP status) rows only and sums the rest in
    # codes_omitted {rows, events}: its breakdowns are then partial and not compared.
    omitted_rows: int = 0
    omitted_events: int = 0


def grep_count(run: Run) -> int | None:
    try:
        return int(run.stdout.strip())
    except ValueError:
        return None


def loop_counts(run: Run) -> Counts:
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        return Counts()
    return Counts(
        doc.get("events"),
        {str(k): int(v) for k, v in doc.get("by_code", {}).items()},
        {str(k): int(v) for k, v in doc.get("by_http", {}).items()},
    )


def lnav_counts(run: Run) -> Counts:
    """Counts from lnav's `:write-json-to -` of the group-by: [{"code": -1021, "n": 5}, ...]."""
    try:
        rows = json.loads(run.stdout)
    except ValueError:
        return Counts()
    if not isinstance(rows, list):
        return Counts()
    by_code: dict[str, int] = {}
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("n"), int) and row.get("code") is not None:
            code = _key(row["code"])
            by_code[code] = by_code.get(code, 0) + row["n"]
    return Counts(sum(by_code.values()), by_code)


def _dig(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def bnlog_counts(run: Run) -> Counts:
    """Counts from `bnlog report --format json`, read tolerantly of the layout.

    Total from totals.events / summary.events / total_events / events; per code and per HTTP
    status (and per reason slug) from a `codes` list of {code, http_status, count, reasons}
    rows, or from a by_code mapping.
    """
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        return Counts()
    counts = Counts()
    for path in (("totals", "events"), ("summary", "events"), ("total_events",), ("events",)):
        value = _dig(doc, *path)
        if isinstance(value, int) and not isinstance(value, bool):
            counts.events = value
            break
    raw = None
    for path in (("codes",), ("by_code",), ("totals", "by_code"), ("summary", "codes")):
        raw = _dig(doc, *path)
        if raw is not None:
            break
    if isinstance(raw, dict):
        counts.by_code = {_key(k): int(v) for k, v in raw.items() if isinstance(v, int)}
    elif isinstance(raw, list):
        counts.by_code, counts.by_http, counts.by_reason = {}, {}, {}
        for row in raw:
            if not isinstance(row, dict):
                continue
            n = row.get("count", row.get("events", row.get("n")))
            if not isinstance(n, int):
                continue
            code = _key(row.get("code"))
            counts.by_code[code] = counts.by_code.get(code, 0) + n
            http = row.get("http_status", row.get("http"))
            if http is not None:
                counts.by_http[_key(http)] = counts.by_http.get(_key(http), 0) + n
            reasons = row.get("reasons")
            if isinstance(reasons, dict):
                for reason, k in reasons.items():
                    counts.by_reason[reason] = counts.by_reason.get(reason, 0) + int(k)
    omitted = _dig(doc, "codes_omitted")
    if isinstance(omitted, dict):
        counts.omitted_rows = int(omitted.get("rows") or 0)
        counts.omitted_events = int(omitted.get("events") or 0)
    return counts


def _key(code: Any) -> str:
    if code is None or code in ("null", "None", "none", ""):
        return "none"
    try:
        return str(int(code))
    except (TypeError, ValueError):
        return str(code)


READERS = {"loop": loop_counts, "lnav": lnav_counts, "bnlog": bnlog_counts}


def _compare(
    label: str, truth: dict[str, int], counts: dict[str, Counts | None], only_diffs: bool
) -> dict[str, Any]:
    """Truth next to each tool per key of `label` (by_code / by_http / by_reason)."""
    got: dict[str, dict[str, int] | None] = {
        name: None if c is None or c.omitted_rows else getattr(c, label)
        for name, c in counts.items()
    }
    keys = set(truth)
    for table in got.values():
        keys |= set(table or {})
    rows, differing = [], dict.fromkeys(got, 0)
    for key in sorted(keys, key=lambda k: (-truth.get(k, 0), k)):
        t = truth.get(key, 0)
        row: dict[str, Any] = {"key": key, "truth": t}
        for name, table in got.items():
            value = None if table is None else table.get(key, 0)
            row[name] = value
            row[f"{name}_diff"] = None if value is None else value - t
            differing[name] += bool(value is not None and value != t)
        if not only_diffs or any(row[f"{n}_diff"] for n in got):
            rows.append(row)
    return {"keys": len(keys), "differing": differing, "rows": rows}


def accuracy(truth: dict[str, Any], runs: dict[str, Run], only_diffs: bool) -> dict[str, Any]:
    """Counts per tool next to the truth, with differences (tool - truth).

    `only_diffs` keeps just the keys where some tool differs (the suite: the random-codes
    row has thousands of codes).
    """
    counts = {n: READERS[n](runs[n]) if runs[n].ok else None for n in COUNTERS}
    doc: dict[str, Any] = {
        "truth_events": truth["error_events"],
        "truth_grep_lines": truth["grep_lines"],
        "grep_lines": grep_count(runs["grep"]) if runs["grep"].ok else None,
    }
    for name, c in counts.items():
        doc[f"{name}_events"] = c.events if c else None
    bn = counts["bnlog"]
    doc["bnlog_breakdown_found"] = bool(bn and bn.by_code is not None)
    doc["bnlog_codes_omitted"] = (
        {"rows": bn.omitted_rows, "events": bn.omitted_events} if bn and bn.omitted_rows else None
    )
    doc["by_code"] = _compare("by_code", truth["by_code"], counts, only_diffs)
    doc["by_http"] = _compare("by_http", truth["by_http"], counts, only_diffs)
    if truth.get("by_reason_recorded", True):
        doc["by_reason"] = _compare("by_reason", truth["by_reason"], {"bnlog": bn}, only_diffs)
    return doc
