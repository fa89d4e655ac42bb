"""Order-state errors: unknown / missing / archived orders, sporadic race or a tracking bug."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Finding,
    about,
    codes_of,
    explained,
    iso,
    plural,
    reason_in,
    time_span,
    utc,
    value_counts,
    when,
)
from analyzer.schema import Severity

REASONS = ("unknown_order", "order_not_found", "order_archived")
STORM_PER_HOUR = 10  # this many in one clock hour is a storm
STORM_SHARE = 0.2  # so is more than this share of all events …
STORM_SHARE_MIN = 5  # … once there are at least this many

RACE_ADVICE = (
    "A cancel that races with a fill gets -2011 'Unknown order sent.': treat it as 'already "
    "gone' and fetch the order's final status instead of retrying the cancel."
)
STORM_ADVICE = (
    "The bot keeps acting on order ids that no longer exist: rebuild its list of open orders "
    "from GET /api/v3/openOrders or the user-data stream (executionReport), drop ids of "
    "filled or cancelled orders, and use the same origClientOrderId when placing and "
    "cancelling."
)
ARCHIVED_ADVICE = (
    "-2026: the order was cancelled or expired without fills more than 90 days ago and has "
    "been archived: stop querying it."
)


class OrderState:
    """Recognises requests about orders that the exchange no longer knows."""

    name = "order_state"
    story = (
        "Cancels and lookups hit orders that do not exist (-2011, -2013, -2026): now and then "
        "a harmless race with fills, in a storm a bug in how the bot tracks its orders."
    )
    explains = reason_in(*REASONS)

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding; its severity depends on whether the errors form a storm."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        hours = (
            hits.filter(pl.col("ts").is_not_null())
            .group_by(pl.col("ts").dt.truncate("1h").alias("hour"))
            .len()
            .sort(["len", "hour"], descending=[True, False])
        )
        peak_hour, peak_count = (
            (utc(hours.item(0, 0)), int(hours.item(0, 1))) if hours.height else (None, 0)
        )
        share = hits.height / events.height
        by_rate = peak_count >= STORM_PER_HOUR
        by_share = share > STORM_SHARE and hits.height >= STORM_SHARE_MIN
        severity = (
            Severity.ERROR
            if by_rate and by_share
            else Severity.WARNING
            if by_rate or by_share
            else Severity.INFO
        )
        storm = by_rate or by_share
        by_reason = value_counts(hits, "reason")
        details: dict[str, object] = {
            "pattern": "storm" if storm else "sporadic",
            "by_reason": by_reason,
            "peak_hour": iso(peak_hour),
            "peak_hour_count": peak_count,
            "share_of_events": round(share, 3),
        }
        codes = "/".join(str(c) for c in codes_of(hits))
        asked = f"{plural(hits.height, 'request')} for orders that do not exist ({codes})"
        if storm:
            title = (
                f"Order-state storm: {asked}{when(first, last)}, up to {peak_count} in one hour: "
                "the bot tracks stale order ids"
            )
        else:
            title = f"{asked}{when(first, last)}: a normal race with fills"
        lines = [STORM_ADVICE, RACE_ADVICE] if storm else [RACE_ADVICE]
        if "order_archived" in by_reason:
            lines.append(ARCHIVED_ADVICE)
        return [
            Finding(
                kind=self.name,
                severity=severity,
                title=title,
                first_seen=first,
                last_seen=last,
                **about(hits),  # type: ignore[arg-type]
                fix="\n".join(lines),
                details=details,
                impact=float(hits.height),
            )
        ]
