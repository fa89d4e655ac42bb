"""IP bans: 418 windows from 'banned until', requests sent during them, and ignored 429s before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from analyzer.detectors.advice import advice_lines
from analyzer.detectors.base import (
    RATE_LIMITED,
    WEIGHT_PER_IP,
    DetectContext,
    Finding,
    also_recorded,
    clients_of,
    clock_text,
    codes_of,
    duration_text,
    evidence_of,
    explained,
    iso,
    one_per_request,
    plural,
    reason_in,
    symbols_of,
    time_span,
    utc,
    when,
)
from analyzer.schema import Severity

MIN_BAN_S = 120  # the shortest ban Binance hands out; assumed when a 418 does not say
LOOKBACK_S = 600  # rate-limit events this long before a ban count as the ignored back-off

BAN_ADVICE = (
    "Stop every request from this IP until the ban ends (the 'banned until' time, or the "
    "418's Retry-After seconds): each request sent during a ban extends it, and repeat bans "
    "escalate from 2 minutes up to 3 days."
)
BACKOFF_ADVICE = (
    "The ban follows 429s that were not honoured: on the first 429 wait for Retry-After "
    "seconds before sending anything else."
)


class IpBan:
    """Recognises IP bans (HTTP 418 / 'IP banned until') and what the bot did around them."""

    name = "ip_ban"
    story = (
        "The bot kept sending requests after rate-limit warnings, Binance banned its IP with "
        "HTTP 418, and every request during the ban made it longer."
    )
    explains = reason_in("ip_ban")

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding with the merged ban windows, requests during them and prior 429s."""
        hits, repeats = one_per_request(explained(events, self))
        if hits.is_empty():
            return []
        windows = _windows(hits, events)
        first, last = time_span(hits)
        count = hits.height
        during = int(windows.get_column("during").sum()) if windows.height else 0
        ignored = int(windows.get_column("preceding_429s").sum()) if windows.height else 0
        banned_s = windows.filter("end_known").get_column("seconds").sum() if windows.height else 0
        details: dict[str, object] = {
            "bans": windows.height,
            "total_banned_s": int(banned_s),
            "requests_during_ban": during,
            "ignored_backoff": ignored > 0,
            "preceding_429s": ignored,
            "max_retry_after_s": hits.get_column("retry_after").max(),
            "untimed_events": hits.filter(pl.col("ts").is_null()).height,
            "windows": [_window_dict(row) for row in windows.iter_rows(named=True)],
        }
        title = f"IP banned{_times(windows.height)}"
        if banned_s:
            total = " in total" if windows.height > 1 else ""
            title += f" for {duration_text(float(banned_s))}{total}"
        title += when(first, last)
        ends = windows.filter("end_known").get_column("end").max() if windows.height else None
        if ends is not None:
            title += f"; the last ban ends {clock_text(utc(ends), first)}"
        if during:
            title += f"; {plural(during, 'request')} refused during a ban"
        if ignored:
            title += f", after {plural(ignored, 'rate-limit warning')} in the 10 minutes before"
        lines = [BAN_ADVICE]
        if ignored:
            lines.append(BACKOFF_ADVICE)
        lines.append(WEIGHT_PER_IP)
        lines += advice_lines("rate_limits", clients_of(hits, ctx))
        if repeats:
            lines.append(also_recorded(repeats))
            details["counted_once"] = repeats
        return [
            Finding(
                kind=self.name,
                severity=Severity.CRITICAL,
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


def _times(n: int) -> str:
    return "" if n <= 1 else f" {n} times"


def _windows(hits: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Merged ban windows: start, end, events, requests during, 429s before, seconds."""
    until = pl.from_epoch("ban_until", time_unit="ms").dt.replace_time_zone("UTC")
    until = until.dt.cast_time_unit("us")
    after = pl.col("ts") + pl.duration(seconds=pl.col("retry_after"))
    assumed = pl.col("start") + pl.duration(seconds=MIN_BAN_S)
    bans = (
        hits.filter(pl.col("ts").is_not_null())
        .select(
            pl.col("ts").alias("start"),
            pl.coalesce(until, after).alias("end"),
            pl.col("retry_after"),
        )
        .with_columns(
            pl.col("end").is_not_null().alias("end_known"),
            pl.max_horizontal("start", pl.col("end").fill_null(assumed)).alias("stop"),
        )
        .sort(["start", "stop"])
    )
    if bans.is_empty():
        return bans
    opens = (pl.col("start") > pl.col("stop").cum_max().shift(1)).fill_null(True)
    windows = (
        bans.with_columns(window=opens.cum_sum())
        .group_by("window")
        .agg(
            pl.col("start").min(),
            pl.col("stop").max().alias("end"),
            pl.col("stop").first().alias("first_end"),
            pl.len().alias("events"),
            pl.col("end_known").all(),
            pl.col("retry_after").max(),
        )
        .sort("start")
        .with_columns(
            (pl.col("events") - 1).alias("during"),
            (pl.col("end") > pl.col("first_end")).alias("extended"),
            (pl.col("end") - pl.col("start")).dt.total_seconds().alias("seconds"),
        )
    )
    warned, _ = one_per_request(events.filter(RATE_LIMITED))
    limited = warned.get_column("ts").drop_nulls().sort()
    starts = windows.get_column("start")
    upto = limited.search_sorted(starts, side="right").cast(pl.Int64)
    # warnings before the previous ban's end belong to that ban: none is counted twice
    lookback = (starts - timedelta(seconds=LOOKBACK_S)).to_frame("from")
    lookback = lookback.with_columns(previous=windows.get_column("end").shift(1))
    floor = lookback.select(pl.max_horizontal("from", "previous")).to_series()
    since = limited.search_sorted(floor, side="left")
    return windows.with_columns(preceding_429s=upto - since.cast(pl.Int64))


def _window_dict(row: dict[str, Any]) -> dict[str, object]:
    """One window as JSON-ready data."""
    return {
        "start": iso(utc(row["start"])),
        "end": iso(utc(row["end"])) if row["end_known"] else None,
        "duration_s": int(row["seconds"]) if row["end_known"] else None,
        "events": row["events"],
        "requests_during_ban": row["during"],
        "extended": row["extended"],
        "preceding_429s": row["preceding_429s"],
        "max_retry_after_s": row["retry_after"],
    }
