"""Error spikes: minutes with far more errors than the log's own per-minute baseline."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    RATE_LIMITED,
    DetectContext,
    Finding,
    about,
    iso,
    listing,
    per_minute,
    plural,
    reason_in,
    time_span,
    utc,
    value_counts,
)
from analyzer.schema import Severity

SPIKE_FACTOR = 5  # a spike minute has at least this many times the median …
SPIKE_MIN = 10  # … and at least this many events

ADVICE = (
    "A spike is a symptom: the other findings for its top reasons ({reasons}) say why. Bursts "
    "like this usually come from a retry loop without back-off or many workers failing at "
    "once: retry with exponential back-off and a cap, and stop on errors that cannot succeed "
    "on retry."
)


class ErrorSpike:
    """Recognises minutes whose error count towers over the log's usual rate."""

    name = "error_spike"
    story = (
        "In a few minutes the bot logs many times more errors than it usually does per "
        "minute: a burst worth looking at first."
    )
    explains = pl.lit(False)  # a burst in time: it explains no event of its own

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding listing every spike minute with its count and top reason. Rate-limit
        warnings and bans are bursts by nature and have findings of their own: a spike they
        make is folded into those, not reported twice."""
        events = events.filter(~(RATE_LIMITED | reason_in("ip_ban")))
        minutes = per_minute(events)
        if minutes.is_empty():
            return []
        median = float(minutes.select(pl.col("len").median()).item())
        mad = float(minutes.select((pl.col("len") - median).abs().median()).item())
        threshold = float(max(SPIKE_FACTOR * median, SPIKE_MIN))
        spikes = minutes.filter(pl.col("len") >= threshold)
        if spikes.is_empty():
            return []
        minute = pl.col("ts").dt.truncate("1m").alias("minute")
        hits = events.filter(pl.col("ts").is_not_null()).with_columns(minute)
        hits = hits.join(spikes.select("minute"), on="minute", how="semi")
        top = (
            hits.group_by("minute", pl.col("reason").fill_null("unclassified"))
            .len()
            .sort(["minute", "len", "reason"], descending=[False, True, False])
            .group_by("minute", maintain_order=True)
            .first()
            .select("minute", pl.col("reason").alias("top_reason"))
        )
        rows = spikes.join(top, on="minute").sort("minute").rows()
        listed = [{"minute": iso(utc(m)), "count": int(n), "top_reason": r} for m, n, r in rows]
        first, last = time_span(hits)
        peak_minute, peak, peak_reason = max(rows, key=lambda row: (row[1], -row[0].timestamp()))
        reasons = value_counts(
            hits.with_columns(pl.col("reason").fill_null("unclassified")), "reason"
        )
        head = "Error spike:" if len(rows) == 1 else f"{len(rows)} error spikes, the worst"
        title = (
            f"{head} {plural(peak, 'error')} in the minute of {utc(peak_minute):%H:%M} UTC "
            f"on {utc(peak_minute):%Y-%m-%d} (mostly {peak_reason}) against a usual "
            f"{median:g} per minute"
        )
        details: dict[str, object] = {
            "baseline_median_per_minute": median,
            "baseline_mad": mad,
            "threshold": threshold,
            "active_minutes": minutes.height,
            "spikes": listed,
        }
        return [
            Finding(
                kind=self.name,
                severity=Severity.WARNING,
                title=title,
                first_seen=first,
                last_seen=last,
                **about(hits),  # type: ignore[arg-type]
                fix=ADVICE.format(reasons=listing(list(reasons)[:3])),
                details=details,
                impact=float(hits.height),
            )
        ]
