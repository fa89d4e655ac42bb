"""Clock drift: -1021 timestamp rejections, their direction, trend and the fix for the client."""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl

from analyzer.detectors.advice import advice_lines
from analyzer.detectors.base import (
    DetectContext,
    Finding,
    clients_of,
    codes_of,
    evidence_of,
    explained,
    plural,
    reason_in,
    symbols_of,
    time_span,
    value_counts,
    when,
)
from analyzer.schema import Severity

REASONS = ("clock_ahead", "clock_behind", "clock_skew")
TREND_RATIO = 1.5  # second half this many times the first (after +1 smoothing) = worsening

OS_ADVICE = (
    "OS clock: `chronyc tracking` shows the offset and `chronyc makestep` steps the clock now "
    "(add `makestep 1 -1` to chrony.conf to always step large offsets); with "
    "systemd-timesyncd run `timedatectl set-ntp true`. Do not rely on ntpdate: on Debian 12 "
    "it is only a transitional package."
)
DIRECTION_LABEL = {
    "ahead": " (local clock ahead)",
    "behind": " (outside recvWindow)",
    "mixed": " (clock both ahead and behind)",
    "unknown": "",
}
DIRECTION_ADVICE = {
    "ahead": (
        "The local clock runs more than 1 s ahead of Binance's: raising recvWindow cannot "
        "help (the +1000 ms bound is fixed); correct the clock or the timestamp offset."
    ),
    "behind": (
        "Timestamps arrive older than recvWindow: the local clock is slow or requests are "
        "slow. Sync the clock first; raising recvWindow (at most 60000) only masks it."
    ),
    "mixed": (
        "Both 'ahead' and 'outside recvWindow' rejections: the clock jumps back and forth. "
        "Keep it synced continuously instead of stepping it by hand."
    ),
    "unknown": "The message does not say which way the clock is off; sync it first.",
}


class ClockDrift:
    """Recognises requests rejected with -1021 because the local clock disagrees with Binance."""

    name = "clock_drift"
    story = (
        "Signed requests are rejected with -1021 because the machine's clock (or the "
        "library's offset) disagrees with Binance's server time."
    )
    explains = reason_in(*REASONS)

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding for all -1021 events, with direction, rate, trend and offsets."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        by_reason = value_counts(hits, "reason")
        direction = _direction(by_reason)
        span_h = (last - first).total_seconds() / 3600 if first and last else 0.0
        first_half, second_half = _halves(hits, first, last)
        trend = _trend(first_half, second_half)
        count = hits.height
        timed = first_half + second_half
        details: dict[str, object] = {
            "direction": direction,
            "by_reason": by_reason,
            "rate_per_hour": round(timed / max(span_h, 1.0), 1) if first else None,
            "span_hours": round(span_h, 2),
            "trend": trend,
            "first_half": first_half,
            "second_half": second_half,
            "offsets": _offsets(hits, ctx.time_offsets),
        }
        trend_text = {"worsening": ", getting worse", "improving": ", easing off"}.get(trend, "")
        title = (
            f"{plural(count, 'request')} failed with -1021{DIRECTION_LABEL[direction]}"
            f"{when(first, last)}{trend_text}"
        )
        lines = [DIRECTION_ADVICE[direction]]
        lines += advice_lines("clock_sync", clients_of(hits, ctx))
        lines.append(OS_ADVICE)
        return [
            Finding(
                kind=self.name,
                severity=Severity.ERROR,
                title=title,
                count=count,
                first_seen=first,
                last_seen=last,
                symbols=symbols_of(hits),
                codes=codes_of(hits),
                evidence=evidence_of(hits),
                fix="\n".join(lines),
                details=details,
                impact=float(count),
            )
        ]


def _direction(by_reason: dict[str, int]) -> str:
    """ahead / behind from the messages; mixed when both occur; unknown otherwise."""
    ahead, behind = "clock_ahead" in by_reason, "clock_behind" in by_reason
    if ahead and behind:
        return "mixed"
    return "ahead" if ahead else "behind" if behind else "unknown"


def _halves(hits: pl.DataFrame, first: datetime | None, last: datetime | None) -> tuple[int, int]:
    """Timed events in the first and second half of their own span."""
    if first is None or last is None or first == last:
        return 0, hits.filter(pl.col("ts").is_not_null()).height
    mid = first + (last - first) / 2
    early, late = hits.select(
        (pl.col("ts") < mid).sum().alias("early"), (pl.col("ts") >= mid).sum().alias("late")
    ).row(0)
    return int(early), int(late)


def _trend(first_half: int, second_half: int) -> str:
    """worsening / improving when one half clearly outweighs the other, else steady."""
    if first_half == 0 and second_half <= 1:
        return "steady"  # a single event or all at one instant: no direction to speak of
    ratio = (second_half + 1) / (first_half + 1)
    if ratio >= TREND_RATIO:
        return "worsening"
    if ratio <= 1 / TREND_RATIO:
        return "improving"
    return "steady"


def _offsets(hits: pl.DataFrame, offsets: pl.DataFrame) -> dict[str, object] | None:
    """What the bot's own offset lines say: range, drift per hour, offset before each error."""
    samples = offsets.filter(pl.col("ts").is_not_null() & pl.col("offset_ms").is_not_null())
    if samples.is_empty():
        return None
    samples = samples.sort(["ts", "offset_ms"])
    hours = (pl.col("ts") - pl.col("ts").min()).dt.total_milliseconds() / 3_600_000
    stats = samples.select(
        pl.len().alias("samples"),
        pl.col("offset_ms").first().alias("first_ms"),
        pl.col("offset_ms").last().alias("last_ms"),
        pl.col("offset_ms").abs().max().alias("max_abs_ms"),
        (pl.cov(hours, pl.col("offset_ms")) / hours.var()).alias("slope"),
    ).row(0, named=True)
    slope = stats.pop("slope")
    finite = slope is not None and math.isfinite(slope)
    stats["drift_ms_per_hour"] = round(float(slope), 1) if finite else None
    timed = hits.filter(pl.col("ts").is_not_null()).select("ts").sort("ts")
    before = timed.join_asof(samples.select("ts", "offset_ms"), on="ts", strategy="backward")
    stats["max_abs_ms_at_errors"] = before.select(pl.col("offset_ms").abs().max()).item()
    return stats
