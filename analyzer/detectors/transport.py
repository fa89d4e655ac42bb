"""Transport failures: timeouts, WAF blocks (HTTP 403) and other code-less 4xx answers."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.advice import advice_lines
from analyzer.detectors.base import (
    DetectContext,
    Finding,
    clients_of,
    codes_of,
    evidence_of,
    explained,
    listing,
    plural,
    reason_in,
    symbols_of,
    time_span,
    top_fix,
    value_counts,
    when,
)
from analyzer.schema import Category, Severity
from analyzer.texts import with_raw

# recv_window_too_large (-1131) is a request error: bad_request reports it.
REASONS = ("network_timeout", "waf_block", "http_error")
# POST/DELETE on these change orders: order, order/oco, order/cancelReplace, orderList/*.
ORDER_ENDPOINT = r"^/api/v3/order"
READ_ONLY = r"\bGET\b"

TIMEOUT_ADVICE = (
    "The request got no HTTP answer (a timeout, or a reset or refused connection): check the "
    "host's network, DNS and any proxy or VPN, and retry with exponential back-off."
)
RECONCILE_ADVICE = (
    "For order requests (POST/DELETE /api/v3/order, OCO, cancelReplace) no answer means the "
    "execution status is UNKNOWN: the exchange may have placed or cancelled the order. "
    "Reconcile before retrying: query the order by its client order id (GET /api/v3/order with "
    "origClientOrderId) or check GET /api/v3/openOrders or the user-data stream, and retry "
    "with the same newClientOrderId so a copy of a still-open order is refused."
)
WAF_ADVICE = (
    "HTTP 403 is Binance's web application firewall (WAF): the request looked abusive or "
    "malicious. Remove unusual content from parameters (e.g. SQL-like keywords or odd "
    "characters in newClientOrderId or other free text), fix malformed URLs and encoding, and "
    "slow down; on binance.com a 403 can also be a rate-limit or security block. If every "
    "request gets 403, the IP itself may be blocked (a VPN or cloud address): try another "
    "network and contact support."
)
STATUS_ADVICE = {
    400: (
        "HTTP 400 without a Binance code: the URL or body was mangled on the way (a proxy, a "
        "wrong base URL or encoding); a normal 400 carries a code and msg in its body."
    ),
    401: (
        "HTTP 401: the request was not authenticated: check the X-MBX-APIKEY header and the "
        "signature."
    ),
    404: (
        "HTTP 404: the endpoint does not exist: Binance.US is https://api.binance.us, and "
        "binance.com-only endpoints (sapi, futures) do not exist there."
    ),
    405: "HTTP 405: the endpoint does not take this HTTP method (e.g. GET instead of POST).",
    409: (
        "HTTP 409: a cancelReplace partially succeeded: re-sync open orders "
        "(GET /api/v3/openOrders) before acting again."
    ),
}
GENERIC_HTTP_ADVICE = "Read the response body and check the base URL, path, method and parameters."


def _left_to_unknown_code() -> pl.Expr:
    """Events the unknown_code detector reports (so they are not counted twice)."""
    return (
        ~pl.col("known").fill_null(True)
        | (pl.col("category") == Category.UNKNOWN.value).fill_null(False)
        | (pl.col("reason") == "unknown_code").fill_null(False)
    )


def _order_requests(events: pl.DataFrame) -> int:
    """How many requests may have changed an order: an order endpoint not shown as a GET."""
    to_orders = with_raw(events.filter(pl.col("endpoint").str.contains(ORDER_ENDPOINT)))
    return to_orders.filter(~pl.col("raw").str.contains(READ_ONLY).fill_null(False)).height


class Transport:
    """Recognises requests that got no usable answer: timeouts, WAF blocks, code-less 4xx."""

    name = "transport"
    story = (
        "Requests time out, are blocked by the web application firewall (HTTP 403) or come "
        "back with a bare HTTP 4xx, so the bot never learns what the exchange did."
    )
    explains = reason_in(*REASONS) & ~_left_to_unknown_code()

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding per transport reason."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        build = {"network_timeout": _timeouts, "waf_block": _waf, "http_error": _http}
        groups = hits.partition_by("reason", as_dict=True, maintain_order=True)
        return [build[r](self.name, groups[(r,)], ctx) for r in REASONS if (r,) in groups]


def _timeouts(kind: str, group: pl.DataFrame, ctx: DetectContext) -> Finding:
    first, last = time_span(group)
    orders = _order_requests(group)
    title = f"{plural(group.height, 'request')} timed out or lost the connection{when(first, last)}"
    if orders:
        title += f"; {plural(orders, 'order request')} with unknown outcome"
    lines = [TIMEOUT_ADVICE]
    if orders:
        lines.append(RECONCILE_ADVICE)
    lines += advice_lines("timeouts", clients_of(group, ctx))
    details: dict[str, object] = {
        "order_requests": orders,
        "endpoints": value_counts(group, "endpoint"),
    }
    return _finding(kind, group, Severity.WARNING, title, lines, details)


def _waf(kind: str, group: pl.DataFrame, ctx: DetectContext) -> Finding:
    first, last = time_span(group)
    title = (
        f"{plural(group.height, 'request')} blocked by the web application firewall (HTTP 403)"
        f"{when(first, last)}"
    )
    details: dict[str, object] = {"endpoints": value_counts(group, "endpoint")}
    return _finding(kind, group, Severity.ERROR, title, [WAF_ADVICE], details)


def _http(kind: str, group: pl.DataFrame, ctx: DetectContext) -> Finding:
    first, last = time_span(group)
    by_status = value_counts(group, "http_status")
    counted = [f"{s} ×{n}" for s, n in by_status.items()]
    statuses = (
        f"HTTP {next(iter(by_status))}"
        if len(by_status) == 1
        else f"HTTP {listing(counted)}"
        if by_status
        else "an HTTP error"
    )
    title = f"{plural(group.height, 'request')} failed with {statuses} and no Binance code"
    title += when(first, last)
    lines: list[str] = []
    for status in by_status:
        advice = STATUS_ADVICE.get(int(status))
        if advice is None:
            same = group.filter(pl.col("http_status") == int(status))
            advice = top_fix(same) or f"HTTP {status}: {GENERIC_HTTP_ADVICE}"
        if advice not in lines:
            lines.append(advice)
    details: dict[str, object] = {
        "by_status": by_status,
        "endpoints": value_counts(group, "endpoint"),
    }
    return _finding(kind, group, Severity.ERROR, title, lines or [GENERIC_HTTP_ADVICE], details)


def _finding(
    kind: str,
    group: pl.DataFrame,
    severity: Severity,
    title: str,
    lines: list[str],
    details: dict[str, object],
) -> Finding:
    first, last = time_span(group)
    reason = group.item(0, "reason")
    return Finding(
        kind=kind,
        severity=severity,
        title=title,
        count=group.height,
        first_seen=first,
        last_seen=last,
        symbols=symbols_of(group),
        codes=codes_of(group),
        evidence=evidence_of(group),
        fix="\n".join(lines),
        details={"reason": reason, **details},
        impact=float(group.height),
    )
