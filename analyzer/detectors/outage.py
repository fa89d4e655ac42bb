"""Exchange-side incidents: server errors clustered in time across symbols or endpoints."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Finding,
    about,
    explained,
    iso,
    plural,
    sessions,
    time_span,
    utc,
    value_counts,
    when,
)
from analyzer.schema import Severity

REASONS = ("execution_unknown", "server_busy", "disconnected", "service_retired", "unknown_error")
CODES = (-1001, -1006, -1007, -1008, -1016)
GAP_S = 300  # events closer than this belong to one cluster
MIN_EVENTS = 5  # a cluster this big is an incident even on one symbol and endpoint
MIN_SPREAD = 2  # or one that touches this many symbols or endpoints

RECONCILE_ADVICE = (
    "-1006 / -1007 / 5xx mean execution status UNKNOWN: the order may have gone through. "
    "Query the order (GET /api/v3/order by origClientOrderId) or follow the user-data stream "
    "before retrying, or you risk duplicate orders."
)
BACKOFF_ADVICE = (
    "Back off with growing delays while the exchange is struggling, and check the Binance.US "
    "status page / announcements for maintenance."
)
RETIRED_ADVICE = (
    "-1016 means the service or endpoint is no longer available: retrying will not help, "
    "update the library or move to the endpoint that replaced it."
)


def _is_server_side() -> pl.Expr:
    status = pl.col("http_status")
    return (
        pl.col("reason").is_in(list(REASONS))
        | pl.col("code").is_in(list(CODES))
        | ((status >= 500) & (status <= 599))
    ).fill_null(False)


class Outage:
    """Recognises bursts of server-side errors that point at the exchange, not the bot."""

    name = "outage"
    story = (
        "Binance itself is failing (timeouts, overload, unknown execution status, 5xx) for "
        "several symbols or endpoints at once: an exchange-side incident, not your bug."
    )
    explains = _is_server_side()

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """An incident finding for qualifying clusters and an info finding for the rest."""
        hits = explained(events, self).with_row_index("_row")
        if hits.is_empty():
            return []
        clustered = sessions(hits, GAP_S)
        clusters = (
            clustered.group_by("session")
            .agg(
                pl.col("ts").min().alias("start"),
                pl.col("ts").max().alias("end"),
                pl.len().alias("count"),
                pl.col("symbol").drop_nulls().unique().sort().alias("symbols"),
                pl.col("endpoint").drop_nulls().unique().sort().alias("endpoints"),
            )
            .filter(
                (pl.col("count") >= MIN_EVENTS)
                | (pl.col("symbols").list.len() >= MIN_SPREAD)
                | (pl.col("endpoints").list.len() >= MIN_SPREAD)
            )
            .sort("start")
        )
        in_incident = clustered.join(clusters.select("session"), on="session", how="semi")
        isolated = hits.filter(~pl.col("_row").is_in(in_incident.get_column("_row").implode()))
        findings = []
        if in_incident.height:
            findings.append(self._incident(in_incident.drop("session", "_row"), clusters))
        if isolated.height:
            findings.append(self._isolated(isolated.drop("_row")))
        return findings

    def _incident(self, hits: pl.DataFrame, clusters: pl.DataFrame) -> Finding:
        first, last = time_span(hits)
        windows = [
            {
                "start": iso(utc(row["start"])),
                "end": iso(utc(row["end"])),
                "count": row["count"],
                "symbols": row["symbols"],
                "endpoints": row["endpoints"],
            }
            for row in clusters.iter_rows(named=True)
        ]
        title = (
            f"Exchange-side incident: {plural(hits.height, 'server error')} in "
            f"{plural(len(windows), 'burst')}{when(first, last)}, not your bug"
        )
        return self._finding(hits, Severity.WARNING, title, windows)

    def _isolated(self, hits: pl.DataFrame) -> Finding:
        first, last = time_span(hits)
        title = f"{plural(hits.height, 'isolated server-side error')}{when(first, last)}"
        return self._finding(hits, Severity.INFO, title, [])

    def _finding(
        self, hits: pl.DataFrame, severity: Severity, title: str, windows: list[dict[str, object]]
    ) -> Finding:
        first, last = time_span(hits)
        by_reason = value_counts(hits, "reason")
        lines = []
        if _has_unknown_execution(hits):
            lines.append(RECONCILE_ADVICE)
        lines.append(BACKOFF_ADVICE)
        if "service_retired" in by_reason:
            lines.append(RETIRED_ADVICE)
        details: dict[str, object] = {
            "by_reason": by_reason,
            "endpoints": value_counts(hits, "endpoint"),
            "windows": windows,
        }
        return Finding(
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


def _has_unknown_execution(hits: pl.DataFrame) -> bool:
    unknown = (
        (pl.col("reason") == "execution_unknown")
        | pl.col("code").is_in([-1006, -1007])
        | (pl.col("http_status") >= 500)
    ).fill_null(False)
    return bool(hits.select(unknown.any()).item())
