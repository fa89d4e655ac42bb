"""Unexplained errors: the API error events that no other detector reports, never dropped."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Detector,
    Finding,
    about,
    explained,
    listing,
    plural,
    time_span,
    when,
)
from analyzer.schema import EventKind, Severity

MAX_LISTED = 5

ADVICE = (
    "bnlog has no diagnosis for these errors yet: the codes table gives the fix the reference "
    "data knows for each code, and the evidence lines show what the exchange said. Please "
    "report them with those lines, so that a detector can learn them."
)


def _label() -> pl.Expr:
    """How an event is named in the title: its code, else its status, else its message."""
    return (
        pl.when(pl.col("code").is_not_null())
        .then(pl.col("code").cast(pl.String))
        .when(pl.col("http_status").is_not_null())
        .then(pl.lit("HTTP ") + pl.col("http_status").cast(pl.String))
        .otherwise(pl.lit("'") + pl.col("msg").fill_null("no message").str.slice(0, 40) + "'")
    )


class Unexplained:
    """Collects the Binance API error events that none of the other detectors explains."""

    name = "unexplained"
    story = (
        "Binance answered with errors that no other finding accounts for; they are listed so "
        "that no error goes unexplained and the verdict never calls such a log healthy."
    )

    def __init__(self, others: Sequence[Detector]) -> None:
        self.others = tuple(others)
        accounted = pl.any_horizontal([d.explains for d in self.others]).fill_null(False)
        self.explains = (pl.col("kind") == EventKind.API.value) & ~accounted

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding for all the events the other detectors leave, named by code."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        by_label = (
            hits.group_by(_label().alias("label"))
            .len()
            .sort(["len", "label"], descending=[True, False])
        )
        labels = by_label["label"].to_list()
        return [
            Finding(
                kind=self.name,
                severity=Severity.WARNING,
                title=f"{plural(hits.height, 'error')} that no finding explains "
                f"({listing(labels, MAX_LISTED)})" + when(first, last),
                first_seen=first,
                last_seen=last,
                fix=ADVICE,
                details={"by_code": dict(zip(labels, by_label["len"].to_list(), strict=True))},
                impact=hits.height,
                **about(hits),  # type: ignore[arg-type]
            )
        ]
