"""Matching-engine rejections: one finding per reason, with its symbols and the fix for it."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Finding,
    codes_of,
    evidence_of,
    explained,
    listing,
    plural,
    reason_in,
    symbols_of,
    time_span,
    value_counts,
    when,
)
from analyzer.schema import Severity

REPEATED = 10  # this many rejections for one reason make it an error, not a warning
MAX_MESSAGES = 5  # distinct exchange messages listed in details

# reason -> (what was rejected, the label in the title, what the rejections mean)
WHAT: dict[str, tuple[str, str, str]] = {
    "duplicate_order": (
        "order",
        "'Duplicate order sent.'",
        "the bot reuses client order ids",
    ),
    "market_closed": (
        "order",
        "'Market is closed.'",
        "the symbol is not TRADING",
    ),
    "api_trading_disabled": (
        "order request",
        "'Rest API trading is not enabled.'",
        "the exchange had trading switched off on its API (maintenance)",
    ),
    "would_match_take": (
        "order",
        "'Order would immediately match and take.'",
        "LIMIT_MAKER orders are priced through the book",
    ),
    "would_trigger_immediately": (
        "order",
        "stop would trigger immediately",
        "stop prices are already crossed by the last price",
    ),
    "oco_price_relationship": (
        "order",
        "OCO price relationship",
        "OCO prices are not ordered around the last price",
    ),
    "order_type_unsupported": (
        "order",
        "order type not supported",
        "the symbol does not allow this order type now",
    ),
    "cancel_restrictions": (
        "cancel",
        "cancel restrictions",
        "cancelRestrictions did not match the order's status",
    ),
    "cancel_replace_failed": (
        "cancel-replace request",
        "cancelReplace",
        "one leg (-2021) or both legs (-2022) of the cancel-replace failed",
    ),
}
REASONS = tuple(WHAT)
CANCEL_REPLACE_MEANING: dict[tuple[int, ...], str] = {
    (-2021,): "the cancel or the new order failed, not both (-2021)",
    (-2022,): "both the cancel and the new order failed (-2022)",
}

ADVICE = {
    "duplicate_order": (
        "'Duplicate order sent.': the newClientOrderId is already used by an open order. Make "
        "client order ids unique per order (a prefix plus a counter or a UUID), never reuse "
        "one for a new order. A duplicate right after a timeout or 5xx usually means the "
        "first attempt went through: look the order up by that id instead of placing it again."
    ),
    "market_closed": (
        "'Market is closed.': the symbol's status is not TRADING (halted, in a break or "
        "delisted). Check symbols[].status in GET /api/v3/exchangeInfo before ordering, skip "
        "symbols that are not TRADING, and drop delisted pairs from the bot's list."
    ),
    "api_trading_disabled": (
        "'Rest API trading is not enabled.': Binance.US had switched trading off on the REST "
        "API, as it does during maintenance; no change to the bot fixes it. Pause order "
        "placement and cancels while it lasts (check GET /sapi/v1/system/status and the "
        "status page), then re-sync open orders before trading again."
    ),
    "would_match_take": (
        "A LIMIT_MAKER (post-only) order priced at or through the best price on the other "
        "side would take liquidity, so the matching engine rejects it. Price buys below the "
        "best ask and sells above the best bid (read GET /api/v3/ticker/bookTicker right "
        "before ordering), or use a LIMIT GTC order if taking liquidity is acceptable."
    ),
    "would_trigger_immediately": (
        "The stop price is already reached at the last price, so the order would trigger at "
        "once. A SELL stop-loss needs stopPrice below the last price and a BUY stop-loss "
        "above it (take-profit the other way round): refresh the last price before placing "
        "it, and send a plain LIMIT or MARKET order when the level has already been crossed."
    ),
    "oco_price_relationship": (
        "OCO prices must be ordered around the last price: SELL limit price > last price > "
        "stopPrice; BUY limit price < last price < stopPrice. Re-read the last price right "
        "before placing the OCO and check all three prices after rounding them to tickSize."
    ),
    "order_type_unsupported": (
        "The symbol does not allow this order type (MARKET, stop-loss, take-profit, iceberg, "
        "OCO, quoteOrderQty, trailing) or not in its current trading phase. Read the symbol's "
        "orderTypes, icebergAllowed, ocoAllowed and quoteOrderQtyMarketAllowed from GET "
        "/api/v3/exchangeInfo and use only what it lists; 'Limit orders require GTC for this "
        "phase' asks for timeInForce GTC, and 'Unsupported order combination' (-1014) for a "
        "type, timeInForce, stopPrice and icebergQty that fit together."
    ),
    "cancel_restrictions": (
        "The cancel carried cancelRestrictions (ONLY_NEW or ONLY_PARTIALLY_FILLED) and the "
        "order was in the other state, so it is still open: fetch its status and cancel it "
        "without the restriction (or with the one that matches) if it should go."
    ),
    "cancel_replace_failed": (
        "POST /api/v3/order/cancelReplace on spot: -2021 (HTTP 409) means it partially "
        "failed (one of the cancel and the new order succeeded), -2022 that both failed. Read "
        "cancelResponse and newOrderResponse in the error's data for the nested reason and "
        "re-sync open orders (GET /api/v3/openOrders) before acting again. The reference "
        "table's meanings for -2021 / -2022 (would trigger immediately, ReduceOnly) are "
        "futures-only."
    ),
}


class OrderRejected:
    """Recognises orders and cancels the matching engine rejects for a reason of their own."""

    name = "order_rejected"
    story = (
        "The matching engine rejects orders or cancels (duplicate ids, closed markets, "
        "post-only or stop prices on the wrong side, OCO price rules, unsupported order types, "
        "cancel restrictions, failed cancel-replaces) because of how the bot builds them."
    )
    explains = reason_in(*REASONS)

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding per rejection reason, counted per symbol."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        groups = hits.partition_by("reason", as_dict=True, maintain_order=True)
        return [
            self._finding(reason, groups[(reason,)]) for reason in REASONS if (reason,) in groups
        ]

    def _finding(self, reason: str, group: pl.DataFrame) -> Finding:
        first, last = time_span(group)
        noun, label, meaning = WHAT[reason]
        codes = codes_of(group)
        if reason == "cancel_replace_failed":
            meaning = CANCEL_REPLACE_MEANING.get(codes[:1] if len(codes) == 1 else (), meaning)
        by_symbol = value_counts(group, "symbol")
        on = f" on {listing(by_symbol)}" if by_symbol else ""
        verb = "failed" if reason == "cancel_replace_failed" else "rejected"
        title = f"{plural(group.height, noun)} {verb} ({label}){on}{when(first, last)}: {meaning}"
        details: dict[str, object] = {
            "reason": reason,
            "by_symbol": by_symbol,
            "messages": dict(list(value_counts(group, "msg").items())[:MAX_MESSAGES]),
        }
        return Finding(
            kind=self.name,
            severity=Severity.ERROR if group.height >= REPEATED else Severity.WARNING,
            title=title,
            count=group.height,
            first_seen=first,
            last_seen=last,
            symbols=symbols_of(group),
            codes=codes,
            evidence=evidence_of(group),
            fix=ADVICE[reason],
            details=details,
            impact=float(group.height),
        )
