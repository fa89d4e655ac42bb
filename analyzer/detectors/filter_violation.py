"""Symbol filter failures (LOT_SIZE, PRICE_FILTER, NOTIONAL, precision …) per filter and symbol."""

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
    symbols_of,
    time_span,
    value_counts,
    when,
)
from analyzer.schema import Severity

OTHER_REASONS = ("precision", "price_qty_zero")
NO_SYMBOL = "unnamed symbols"

LABELS = {"precision": "precision (-1111)", "price_qty_zero": "'Price * QTY is zero'"}
WHAT = {
    "LOT_SIZE": "your quantity rounding for {s} ignores stepSize (or leaves minQty..maxQty)",
    "MARKET_LOT_SIZE": "market-order quantities for {s} break MARKET_LOT_SIZE (min, max, step)",
    "PRICE_FILTER": "your price rounding for {s} ignores tickSize (or leaves minPrice..maxPrice)",
    "PERCENT_PRICE": "limit prices for {s} are too far from the average price",
    "PERCENT_PRICE_BY_SIDE": "limit prices for {s} are too far from the average price",
    "MIN_NOTIONAL": "orders on {s} are worth less than the minimum notional (price × quantity)",
    "NOTIONAL": "orders on {s} are worth less (or more) than the allowed notional",
    "ICEBERG_PARTS": "iceberg orders on {s} are split into too many parts",
    "MAX_POSITION": "the position in {s} would exceed maxPosition",
    "TRAILING_DELTA": "trailingDelta for {s} is outside the allowed range",
    "precision": "quantities or prices for {s} carry too many decimals",
    "price_qty_zero": "quantities for {s} round down to zero",
}
DEFAULT_WHAT = "orders on {s} break the {f} filter"
TOO_MANY_ORDERS = "too many open orders on {s}"

ADVICE = {
    "quantity": (
        "Round quantities down to the symbol's LOT_SIZE stepSize (Binance.US checks "
        "quantity % stepSize == 0) and keep them within minQty..maxQty; check the minimum "
        "before rounding so nothing rounds to zero."
    ),
    "price": "Round prices to the symbol's PRICE_FILTER tickSize, within minPrice..maxPrice.",
    "notional": (
        "Make price × quantity at least the symbol's minNotional (MIN_NOTIONAL / NOTIONAL "
        "filter; do not assume a fixed $10) after rounding the quantity down."
    ),
    "percent": (
        "Keep limit prices within multiplierUp / multiplierDown of the weighted average price "
        "(GET /api/v3/avgPrice), not of the last trade."
    ),
    "orders": "Cancel stale open orders before placing new ones; the filter caps open orders.",
    "other": "Read the filter's limits for the symbol and check orders against them.",
}
SOURCE_ADVICE = (
    "Read each symbol's filters from GET /api/v3/exchangeInfo (they differ per symbol and can "
    "change) and format numbers with Decimal, not float."
)


def _advice_kind(name: str) -> str:
    if name in ("LOT_SIZE", "MARKET_LOT_SIZE", "price_qty_zero"):
        return "quantity"
    if name == "PRICE_FILTER":
        return "price"
    if name in ("MIN_NOTIONAL", "NOTIONAL"):
        return "notional"
    if name.startswith("PERCENT_PRICE"):
        return "percent"
    if "MAX_NUM" in name:
        return "orders"
    return "other"


# advice.toml topics for each kind of filter
TOPICS = {
    "quantity": "quantity_rounding",
    "price": "price_rounding",
    "notional": "min_notional",
}


def _fix(name: str, clients: tuple[str, ...]) -> str:
    kinds = ["quantity", "price"] if name == "precision" else [_advice_kind(name)]
    lines = [ADVICE[k] for k in kinds]
    lines += advice_lines("symbol_filters", clients)
    for kind in kinds:
        if kind in TOPICS:
            lines += advice_lines(TOPICS[kind], clients)
    lines.append(SOURCE_ADVICE)
    return "\n".join(line for line in lines if line)


class FilterViolation:
    """Recognises orders rejected by a symbol filter: one finding per filter, with its
    symbols."""

    name = "filter_violation"
    story = (
        "Orders are rejected by a symbol filter (LOT_SIZE, PRICE_FILTER, NOTIONAL, …) or for "
        "precision, because the bot rounds or sizes orders without the symbol's exchangeInfo."
    )

    explains = (
        pl.col("reason").str.starts_with("filter:") | pl.col("reason").is_in(list(OTHER_REASONS))
    ).fill_null(False)

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding per filter, listing the symbols it rejected orders on."""
        reason = pl.col("reason")
        hits = explained(events, self).with_columns(
            pl.when(reason.str.starts_with("filter:"))
            .then(reason.str.strip_prefix("filter:"))
            .otherwise(reason)
            .alias("filter"),
        )
        if hits.is_empty():
            return []
        groups = hits.partition_by("filter", as_dict=True, maintain_order=True)
        return [self._finding(str(name), group, ctx) for (name,), group in sorted(groups.items())]

    def _finding(self, name: str, group: pl.DataFrame, ctx: DetectContext) -> Finding:
        first, last = time_span(group)
        by_symbol = value_counts(group, "symbol")
        shown = listing(by_symbol) if by_symbol else NO_SYMBOL
        where = f" on {shown}" + (" only" if len(by_symbol) == 1 else "")
        if group.get_column("symbol").null_count() and by_symbol:
            where = f" on {shown} and unnamed symbols"
        what = WHAT.get(name) or (TOO_MANY_ORDERS if "MAX_NUM" in name else DEFAULT_WHAT)
        failures = "failure" if group.height == 1 else "failures"
        title = (
            f"{group.height} {LABELS.get(name, name)} {failures}{where}{when(first, last)}: "
            f"{what.format(s=shown, f=name)}"
        )
        details: dict[str, object] = {"filter": name, "by_symbol": by_symbol}
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
            fix=_fix(name, clients_of(group, ctx)),
            details=details,
            impact=float(group.height),
        )
