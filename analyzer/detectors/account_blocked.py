"""Account blocks: the account may not trade, or not this symbol; since when, and if it ended."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from analyzer.detectors.base import (
    AUTH_FAILURE_REASONS,
    DetectContext,
    Finding,
    codes_of,
    evidence_of,
    explained,
    iso,
    listing,
    plural,
    reason_in,
    symbols_of,
    time_span,
    utc,
    value_counts,
    when,
)
from analyzer.schema import Category, Severity

REASONS = ("account_trading_disabled", "symbol_not_permitted")
# Order errors that are neither these blocks nor key problems: the matching engine got the
# order, so the account (or symbol) passed the permission check.
NOT_PROOF = (*REASONS, *AUTH_FAILURE_REASONS)
MAX_MESSAGES = 5

ADVICE = {
    "account_trading_disabled": (
        "'This account may not place or cancel orders.' / 'This action is disabled on this "
        "account.': the block is on the Binance.US account, not on the API key or the bot, so "
        "new keys and restarts will not help. Contact Binance.US support and check the "
        "account's status and verification tier (pending verification, a restriction or a "
        "closed account) in the Binance.US account settings."
    ),
    "symbol_not_permitted": (
        "'This symbol is not permitted / restricted for this account.': the symbol's "
        "permissions do not include this account's (account tier or restrictions on the "
        "account). Remove the pair from the bot's list, or check the account tier and the "
        "symbol's permissions (symbols[].permissions in GET /api/v3/exchangeInfo) with "
        "Binance.US support."
    ),
}


class AccountBlocked:
    """Recognises orders refused because the account may not trade at all, or not a symbol."""

    name = "account_blocked"
    story = (
        "Orders are refused because the Binance.US account itself may not trade, or may not "
        "trade the symbol, which no change to the bot can fix."
    )
    explains = reason_in(*REASONS)

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding per reason, with since when it fails and whether trading resumed."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        proof = events.filter(
            (pl.col("category") == Category.ORDER.value)
            & ~pl.col("reason").is_in(list(NOT_PROOF)).fill_null(False)
            & pl.col("ts").is_not_null()
        )
        groups = hits.partition_by("reason", as_dict=True, maintain_order=True)
        return [
            self._finding(reason, groups[(reason,)], proof)
            for reason in REASONS
            if (reason,) in groups
        ]

    def _finding(self, reason: str, group: pl.DataFrame, proof: pl.DataFrame) -> Finding:
        first, last = time_span(group)
        symbols = symbols_of(group)
        if reason == "symbol_not_permitted":
            # Orders on other symbols prove nothing about these ones.
            proof = proof.filter(pl.col("symbol").is_in(list(symbols)))
        after = proof.filter(pl.col("ts") > last) if last is not None else proof.clear()
        worked_again = utc(after.get_column("ts").min()) if after.height else None
        by_symbol = value_counts(group, "symbol")
        details: dict[str, object] = {
            "reason": reason,
            "status": "recovered" if worked_again else "failing",
            "blocked_since": iso(first),
            "worked_again_at": iso(worked_again),
            "by_symbol": by_symbol,
            "messages": dict(list(value_counts(group, "msg").items())[:MAX_MESSAGES]),
        }
        return Finding(
            kind=self.name,
            severity=Severity.ERROR if worked_again else Severity.CRITICAL,
            title=_title(reason, group.height, tuple(by_symbol), first, last, worked_again),
            count=group.height,
            first_seen=first,
            last_seen=last,
            symbols=symbols,
            codes=codes_of(group),
            evidence=evidence_of(group),
            fix=ADVICE[reason],
            details=details,
            impact=float(group.height),
        )


def _title(
    reason: str,
    count: int,
    symbols: tuple[str, ...],
    first: datetime | None,
    last: datetime | None,
    worked_again: datetime | None,
) -> str:
    if reason == "account_trading_disabled":
        head = "Trading disabled on this account"
        what = f"{plural(count, 'request')} refused: this account may not place or cancel orders"
    else:
        shown = listing(symbols) if symbols else "A symbol"
        verb = "is" if len(symbols) <= 1 else "are"
        head = f"{shown} {verb} not permitted for this account"
        what = f"{plural(count, 'order')} refused"
    if worked_again is not None:
        again = f"later orders got past this check from {worked_again:%H:%M} UTC"
        return f"{head}{when(first, last)}: {what}; {again}"
    since = f" since {first:%H:%M} UTC on {first:%Y-%m-%d}" if first else ""
    return f"{head}{since}: {what}, still failing at the end of the log"
