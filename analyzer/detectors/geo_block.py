"""Geo-blocking: HTTP 451 'restricted location', a Binance.US user talking to binance.com."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.advice import advice_lines
from analyzer.detectors.base import (
    DetectContext,
    Finding,
    about,
    clients_of,
    explained,
    plural,
    reason_in,
    time_span,
    value_counts,
    when,
)
from analyzer.schema import Severity
from analyzer.texts import with_raw

HOST = r"https?://([A-Za-z0-9.-]*binance\.[a-z]+)"

BASE_ADVICE = (
    "Binance.com refuses requests from the US (HTTP 451). A Binance.US account must use the "
    "Binance.US API: base URL https://api.binance.us, with Binance.US API keys."
)


US_ADVICE = (
    "The bot already calls Binance.US, and Binance.US itself refuses it: HTTP 451 from "
    "api.binance.us means the machine's public IP is outside the area Binance.US serves "
    "(another country, or a US state where it does not operate). Changing the endpoint does "
    "not help; run the bot where Binance.US serves — a server whose public IP is in a "
    "permitted US state (check it with `curl ifconfig.me`), not a cloud region or VPN exit "
    "abroad."
)


class GeoBlock:
    """Recognises a Binance.US user whose bot is pointed at binance.com and gets HTTP 451."""

    name = "geo_block"
    story = (
        "Requests are refused 'from a restricted location' (HTTP 451) because the bot talks "
        "to api.binance.com instead of the Binance.US API."
    )
    explains = reason_in("geo_block")

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding for the requests to binance.com (wrong API), one for those to
        Binance.US itself (the machine is where Binance.US does not serve)."""
        hits = with_raw(explained(events, self)).with_columns(
            _host=pl.col("raw").str.extract(HOST, 1).str.to_lowercase()
        )
        if hits.is_empty():
            return []
        to_us = pl.col("_host").str.ends_with("binance.us").fill_null(False)
        found = [self._wrong_api(hits.filter(~to_us), ctx), self._wrong_place(hits.filter(to_us))]
        return [f for f in found if f is not None]

    def _wrong_api(self, hits: pl.DataFrame, ctx: DetectContext) -> Finding | None:
        if hits.is_empty():
            return None
        first, last = time_span(hits)
        hosts = value_counts(hits, "_host")
        target = " and ".join(sorted(hosts)) if hosts else "binance.com"
        title = (
            f"{plural(hits.height, 'request')} refused from a restricted location (HTTP 451)"
            f"{when(first, last)}: the bot talks to {target}, not Binance.US"
        )
        lines = [BASE_ADVICE, *advice_lines("wrong_exchange", clients_of(hits, ctx))]
        return self._finding(hits, title, "\n".join(lines), hosts)

    def _wrong_place(self, hits: pl.DataFrame) -> Finding | None:
        if hits.is_empty():
            return None
        first, last = time_span(hits)
        title = (
            f"{plural(hits.height, 'request')} to Binance.US refused from a restricted location "
            f"(HTTP 451){when(first, last)}: the machine's IP is outside the area Binance.US "
            "serves"
        )
        return self._finding(hits, title, US_ADVICE, value_counts(hits, "_host"))

    def _finding(self, hits: pl.DataFrame, title: str, fix: str, hosts: dict[str, int]) -> Finding:
        first, last = time_span(hits)
        return Finding(
            kind=self.name,
            severity=Severity.CRITICAL,
            title=title,
            first_seen=first,
            last_seen=last,
            **about(hits.drop("_host")),  # type: ignore[arg-type]
            fix=fix,
            details={"hosts": hosts, "endpoints": value_counts(hits, "endpoint")},
            impact=float(hits.height),
        )
