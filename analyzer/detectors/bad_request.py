"""Malformed requests (-11xx): one finding per code and reason, with the parameters named."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Finding,
    codes_of,
    evidence_of,
    explained,
    listed,
    listing,
    plural,
    symbols_of,
    time_span,
    top_fix,
    value_counts,
    when,
)
from analyzer.schema import Category, Severity

HANDLED_ELSEWHERE = ("precision", "price_qty_zero")  # filter_violation reports these
PARAM = r"(?i)param(?:eter)? '([^']+)'"
NO_KEY = -(10**9)  # sorts events without a code first

REASON_ADVICE = {
    "recv_window_too_large": (
        "recvWindow must be at most 60000 ms: lower it (ccxt options['recvWindow'], "
        "python-binance client.REQUEST_RECVWINDOW, node-binance-api recvWindow). A larger "
        "window would not cure clock drift anyway."
    ),
    "bad_symbol": (
        "The symbol is not listed on Binance.US: write it uppercase with no separator (BTCUSD, "
        "not BTC/USD or btcusd) and check GET /api/v3/exchangeInfo; Binance.US lists fewer "
        "pairs than binance.com."
    ),
}
GENERIC_ADVICE = "Check the request against the endpoint's documented parameters."


def _label(reason: str | None, code: int | None) -> str:
    if reason is None:
        return f"code {code}" if code is not None else "a malformed request"
    return reason.split(":", 1)[-1].replace("_", " ")


class BadRequest:
    """Recognises requests the API rejected as malformed (parameter errors, -1100..-1199)."""

    name = "bad_request"
    story = (
        "The bot builds requests the API rejects as malformed (missing, unknown or invalid "
        "parameters, a bad symbol or recvWindow): a bug in the calling code."
    )

    explains = (
        (pl.col("category") == Category.REQUEST.value)
        & pl.col("known").fill_null(True)
        & ~pl.col("reason").is_in(list(HANDLED_ELSEWHERE)).fill_null(False)
        & ~pl.col("reason").str.starts_with("filter:").fill_null(False)
    ).fill_null(False)

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding per (code, reason) among known request-category errors."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        keyed = hits.with_columns(
            pl.col("code").fill_null(NO_KEY).alias("_code"),
            pl.col("reason").fill_null("").alias("_reason"),
        )
        groups = keyed.partition_by(["_code", "_reason"], as_dict=True, maintain_order=True)
        return [
            self._finding(group.drop("_code", "_reason"))
            for _, group in sorted(groups.items(), key=lambda item: item[0])
        ]

    def _finding(self, group: pl.DataFrame) -> Finding:
        first, last = time_span(group)
        code, reason = group.select(pl.col("code").first(), pl.col("reason").first()).row(0)
        params = value_counts(
            group.select(pl.col("msg").str.extract(PARAM, 1).alias("param")), "param"
        )
        shown_code = f" with {code}" if code is not None else ""
        title = f"{plural(group.height, 'request')} rejected{shown_code} ({_label(reason, code)})"
        title += when(first, last)
        if params:
            title += f"; parameter {listing([repr(p) for p in params])}"
        if reason == "bad_symbol" and symbols_of(group):
            title += f"; symbol {listing(symbols_of(group))}"
        lines = [REASON_ADVICE.get(reason or "") or top_fix(group) or GENERIC_ADVICE]
        if params:
            named = listed([f"{p} ({n})" for p, n in params.items()])
            lines.append(f"Parameters named in the errors: {named}.")
        details: dict[str, object] = {
            "code": code,
            "reason": reason,
            "params": params,
            "endpoints": value_counts(group, "endpoint"),
            "messages": dict(list(value_counts(group, "msg").items())[:5]),
        }
        return Finding(
            kind=self.name,
            severity=Severity.ERROR,
            title=title,
            count=group.height,
            first_seen=first,
            last_seen=last,
            symbols=symbols_of(group),
            codes=codes_of(group),
            evidence=evidence_of(group),
            fix="\n".join(lines),
            details=details,
            impact=float(group.height),
        )
