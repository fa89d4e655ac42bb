"""Geo-blocking: HTTP 451 'restricted location', a Binance.US user talking to binance.com."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Finding,
    about,
    client_lines,
    clients_of,
    explained,
    plural,
    reason_in,
    time_span,
    value_counts,
    when,
)
from analyzer.schema import Severity

HOST = r"https?://([A-Za-z0-9.-]*binance\.[a-z]+)"

CLIENT_ADVICE = {
    "ccxt": "use the exchange id binanceus: ccxt.binanceus({...}), not ccxt.binance.",
    "freqtrade": 'set "exchange": {"name": "binanceus"} in the config.',
    "python-binance": "create the client with Client(api_key, api_secret, tld='us').",
    "hummingbot": (
        "the binance connector talks to binance.com, and current hummingbot has no Binance.US "
        "connector (binance_us was removed in 2025)."
    ),
}
BASE_ADVICE = (
    "Binance.com refuses requests from the US (HTTP 451). A Binance.US account must use the "
    "Binance.US API: base URL https://api.binance.us, with Binance.US API keys."
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
        """One finding for all geo-blocked requests, with the hosts they went to."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        hosts = value_counts(hits.select(pl.col("raw").str.extract(HOST, 1).alias("host")), "host")
        details: dict[str, object] = {
            "hosts": hosts,
            "endpoints": value_counts(hits, "endpoint"),
        }
        target = " and ".join(sorted(hosts)) if hosts else "binance.com"
        title = (
            f"{plural(hits.height, 'request')} refused from a restricted location (HTTP 451)"
            f"{when(first, last)}: the bot talks to {target}, not Binance.US"
        )
        lines = [BASE_ADVICE, *client_lines(clients_of(hits, ctx), CLIENT_ADVICE)]
        return [
            Finding(
                kind=self.name,
                severity=Severity.CRITICAL,
                title=title,
                first_seen=first,
                last_seen=last,
                **about(hits),  # type: ignore[arg-type]
                fix="\n".join(lines),
                details=details,
                impact=float(hits.height),
            )
        ]
