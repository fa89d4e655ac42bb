"""Rate limiting: 429 / -1003 / -1015 bursts, their peak minute, and whether a ban followed."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.advice import advice_lines
from analyzer.detectors.base import (
    RATE_LIMITED,
    WEIGHT_PER_IP,
    DetectContext,
    Finding,
    also_recorded,
    clients_of,
    codes_of,
    evidence_of,
    explained,
    iso,
    one_per_request,
    per_minute,
    plural,
    symbols_of,
    time_span,
    utc,
    value_counts,
    when,
)
from analyzer.schema import Severity

BAN_FOLLOW_S = 600  # a ban within this many seconds of a rate-limit event "followed" it

BACKOFF_ADVICE = (
    "On a 429 stop and wait for Retry-After seconds: carrying on gets the IP banned with HTTP "
    "418, for 2 minutes up to 3 days for repeat offenders."
)
ORDER_ADVICE = (
    "-1015 counts new orders per account (not per IP): place orders less often; "
    "GET /api/v3/rateLimit/order shows the current order counts."
)


class RateLimit:
    """Recognises bursts of rate-limit rejections (request weight or order count)."""

    name = "rate_limit"
    story = (
        "The bot sends more request weight or new orders than Binance allows and gets 429 / "
        "-1003 / -1015 rejections, which turn into an IP ban if it keeps going."
    )
    explains = RATE_LIMITED

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding for all rate-limit events, with the peak minute and any ban after them."""
        hits, repeats = one_per_request(explained(events, self))
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        minutes = per_minute(hits)
        peak = minutes.sort(["len", "minute"], descending=[True, False]).head(1).rows()
        peak_minute, peak_count = (utc(peak[0][0]), int(peak[0][1])) if peak else (None, 0)
        maxima = hits.select(pl.col("retry_after").max(), pl.col("used_weight").max()).row(0)
        ban_at = _first_ban_after(hits, events)
        count = hits.height
        by_reason = value_counts(hits, "reason")
        details: dict[str, object] = {
            "by_reason": by_reason,
            "active_minutes": minutes.height,
            "peak_minute": iso(peak_minute),
            "peak_per_minute": peak_count,
            "max_retry_after_s": maxima[0],
            "max_used_weight": maxima[1],
            "followed_by_ban": ban_at is not None,
            "ban_at": ban_at,
        }
        title = f"{plural(count, 'request')} rate-limited{when(first, last)}"
        if peak_minute is not None and peak_count > 1:
            title += f", peak {peak_count} in the minute of {peak_minute:%H:%M} UTC"
        if ban_at is not None:
            title += ", followed by an IP ban"
        lines = [BACKOFF_ADVICE, WEIGHT_PER_IP]
        if "order_rate_limit" in by_reason:
            lines.append(ORDER_ADVICE)
        lines += advice_lines("rate_limits", clients_of(hits, ctx))
        if repeats:
            lines.append(also_recorded(repeats))
            details["counted_once"] = repeats
        return [
            Finding(
                kind=self.name,
                severity=Severity.ERROR if ban_at is not None else Severity.WARNING,
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


def _first_ban_after(hits: pl.DataFrame, events: pl.DataFrame) -> str | None:
    """ISO time of the first ban event within BAN_FOLLOW_S after some rate-limit event."""
    limited = hits.filter(pl.col("ts").is_not_null()).select(pl.col("ts").alias("limited_at"))
    bans = events.filter((pl.col("reason") == "ip_ban") & pl.col("ts").is_not_null())
    if limited.is_empty() or bans.is_empty():
        return None
    matched = (
        bans.select("ts")
        .sort("ts")
        .join_asof(
            limited.sort("limited_at"),
            left_on="ts",
            right_on="limited_at",
            strategy="backward",
            tolerance=f"{BAN_FOLLOW_S}s",
        )
        .filter(pl.col("limited_at").is_not_null())
    )
    return iso(utc(matched.get_column("ts").min())) if matched.height else None
