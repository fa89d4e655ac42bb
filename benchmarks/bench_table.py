"""The benchmark's table (text or Markdown) and its counts section, from bench.py's JSON result.

Rendering reads only the JSON document bench.py prints with --json, so the table and the JSON
cannot disagree.
"""

from __future__ import annotations

from typing import Any

from bench_answers import COUNTERS
from bench_measure import MB

HEADER = [
    "input",
    "tool",
    "seconds",
    "MB/s",
    "events/s",
    "peak MB",
    "time/grep",
    "time/loop",
    "report KB",
    "target (bnlog)",
    "met",
]
LEFT = {0, 1, 9, 10}  # left-aligned columns; the figures are right-aligned


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _seconds(s: float) -> str:
    return f"{s:.2f}" if s < 100 else f"{s:.0f}"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _about(row: dict[str, Any]) -> list[str]:
    """What the input is, one cell per tool line under its title."""
    if row.get("gzip"):
        size = f"{row['bytes'] / MB:,.0f} MB gz ({row['uncompressed_bytes'] / MB:,.0f} MB)"
    else:
        size = f"{row['bytes'] / MB:,.0f} MB, {row['lines']:,} lines"
    return [
        row["title"],
        size,
        f"{row['truth_events']:,} events",
        f"{row['error_line_share']:.1%} error lines, {_n(row['distinct_codes'], 'code')}",
    ]


def _cells(row: dict[str, Any]) -> list[list[str]]:
    about = _about(row)
    lines = []
    for i, tool in enumerate(row["tools"]):
        first = about[i] if i < len(about) else ""
        name = tool["name"]
        if not tool["ok"]:
            what = "n/a" if not tool["available"] else "FAILED"
            reason = (tool.get("error") or "")[:80]
            lines.append([first, name, what, *[""] * 6, "", reason])
            continue
        is_bnlog = name == "bnlog"
        lines.append(
            [
                first,
                name,
                _seconds(tool["seconds"]),
                f"{tool['mb_per_s']:,.0f}",
                f"{tool['events_per_s']:,.0f}",
                f"{tool['peak_rss_mb']:,.0f}",
                _x(tool["time_vs_grep"]),
                _x(tool["time_vs_loop"]),
                f"{tool['stdout_bytes'] / 1024:,.0f}" if is_bnlog else "",
                row["targets"]["text"] if is_bnlog else "",
                row["targets"]["verdict"] if is_bnlog else "",
            ]
        )
    return lines


def table(rows: list[dict[str, Any]], markdown: bool = False) -> str:
    """One table: a group of tool lines per input, bnlog's target and verdict on its line."""
    groups = [_cells(r) for r in rows]
    if markdown:
        out = ["| " + " | ".join(HEADER) + " |"]
        out.append("|" + "|".join("---" if i in LEFT else "---:" for i in range(len(HEADER))) + "|")
        for group in groups:
            out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in group]
        return "\n".join(out)
    every = [HEADER] + [line for group in groups for line in group]
    widths = [max(len(line[i]) for line in every) for i in range(len(HEADER))]

    def fmt(line: list[str]) -> str:
        cells = [
            c.ljust(w) if i in LEFT else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [fmt(HEADER)]
    for group in groups:
        out.append(rule)
        out += [fmt(line) for line in group]
    return "\n".join(out)


def notes(rows: list[dict[str, Any]]) -> list[str]:
    """What the columns mean, and what the gzip row and lnav did."""
    found = [
        "seconds: wall time, spawn to exit, one run each, page cache warm. MB/s and events/s: the "
        "input's (uncompressed) bytes and planted error events / seconds.",
        "time/grep, time/loop: seconds / grep's or the loop's seconds on the same input "
        "(smaller is faster). report KB: size of bnlog's JSON report.",
        "target (bnlog): grep<=N = time/grep at most N; loop>=6x = at least 6x as fast as the "
        "loop; mem<=512 = peak MB; report<=N K = JSON report size; <=2x default = seconds vs "
        "the default row's bnlog.",
    ]
    if any(r.get("gzip") for r in rows):
        found.append(
            "gzip row: grep is `gzip -dc FILE | grep -cE` (peak = its largest process), the loop "
            "reads through Python's gzip module, lnav and bnlog read the .gz themselves."
        )
    lnav = [t for r in rows for t in r["tools"] if t["name"] == "lnav"]
    if lnav and not lnav[0]["available"]:
        found.append(f"lnav: n/a, {lnav[0].get('error')}.")
    elif lnav:
        found.append(
            "lnav: headless SQL group-by of the code regex over its parsed messages (no "
            "Binance folding, no classification); lines it cannot parse join the message "
            "before them, so it finds at most one code per message."
        )
    return found


def _vs(value: int | None, truth: int) -> str:
    if value is None:
        return "-"
    return f"{value:,} (=)" if value == truth else f"{value:,} ({value - truth:+,})"


def counts_summary(rows: list[dict[str, Any]]) -> list[str]:
    """One line per input: events per tool next to the truth, and codes that differ."""
    out = ["counts (tool vs the generator's truth; reported, not fatal):"]
    for row in rows:
        acc = row["accuracy"]
        t = acc["truth_events"]
        tools = " | ".join(f"{n} {_vs(acc[f'{n}_events'], t)}" for n in COUNTERS)
        codes = acc["by_code"]
        omitted = acc.get("bnlog_codes_omitted")
        off = ", ".join(
            f"{n} {codes['differing'][n]:,}"
            for n in COUNTERS
            if acc[f"{n}_events"] is not None and not (n == "bnlog" and omitted)
        )
        listed = (
            f"; bnlog's codes not compared: it lists its busiest rows only "
            f"({omitted['rows']:,} rows with {omitted['events']:,} events omitted)"
            if omitted
            else ""
        )
        out.append(
            f"  {row['key']}: events truth {t:,} | {tools}; grep lines "
            f"{_vs(acc['grep_lines'], acc['truth_grep_lines'])}; codes that differ "
            f"(of {codes['keys']:,}): {off or '-'}{listed}"
        )
    return out


def counts_detail(row: dict[str, Any]) -> list[str]:
    """The per-code, per-HTTP-status and per-reason tables of one input (runs without --suite)."""

    def num(v: int | None, spec: str) -> str:
        return "-" if v is None else f"{v:{spec}}"

    acc = row["accuracy"]
    out: list[str] = []
    for label, title, width in (
        ("by_code", "code", 6),
        ("by_http", "http", 6),
        ("by_reason", "reason", 28),
    ):
        if label not in acc:
            continue
        names = [
            n for n in COUNTERS if n in acc[label]["differing"] and acc[f"{n}_events"] is not None
        ]
        head = "".join(f" {n:>8}" for n in names) + "".join(f" {n + '-truth':>12}" for n in names)
        out += ["", f"  {title:>{width}} {'truth':>8}{head}"]
        for r in acc[label]["rows"]:
            vals = "".join(f" {num(r[n], ','):>8}" for n in names)
            diffs = "".join(f" {num(r[n + '_diff'], '+d'):>12}" for n in names)
            out.append(f"  {r['key']:>{width}} {r['truth']:>8,}{vals}{diffs}")
    if not acc["bnlog_breakdown_found"] and acc["bnlog_events"] is not None:
        out.append("  (no per-code counts found in bnlog's JSON)")
    return out
