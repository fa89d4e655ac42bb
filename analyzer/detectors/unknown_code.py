"""Unknown codes: errors the reference data does not know, counted and shown, never dropped."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Finding,
    about,
    explained,
    listing,
    plural,
    time_span,
    when,
)
from analyzer.schema import Category, EventKind, Severity

MAX_SHAPES = 10  # distinct (code, status, message) shapes listed in details

ADVICE = (
    "These errors are not in bnlog's reference table. Look the code and message up in the "
    "Binance.US API docs (errors.md) and the library's error mapping, and please report them "
    "with the evidence lines so the table can learn them."
)


def _shape_label(code: int | None, status: int | None) -> str:
    if code is not None and code != 0:
        return str(code)
    if status is not None:
        return f"HTTP {status}"
    return "no code"


class UnknownCode:
    """Recognises error events that classification could not match to the reference data."""

    name = "unknown_code"
    story = (
        "The log holds Binance errors that the reference data does not know; they are counted "
        "and shown so nothing is silently dropped."
    )

    # API error events the reference data does not know (other errors have their own section)
    explains = (pl.col("kind") == EventKind.API.value) & (
        ~pl.col("known").fill_null(True)
        | (pl.col("category") == Category.UNKNOWN.value).fill_null(False)
        | (pl.col("reason") == "unknown_code").fill_null(False)
    )

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding listing every unknown (code, status, message) shape with its count."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        shapes = (
            hits.group_by("code", "http_status", "msg")
            .agg(pl.len().alias("count"))
            .sort(
                ["count", "code", "http_status", "msg"],
                descending=[True, False, False, False],
                nulls_last=True,
            )
        )
        listed = [
            {"code": code, "http_status": status, "msg": msg, "count": n}
            for code, status, msg, n in shapes.head(MAX_SHAPES).rows()
        ]
        labels: dict[str, int] = {}
        for code, status, _msg, n in shapes.rows():
            label = _shape_label(code, status)
            labels[label] = labels.get(label, 0) + n
        ranked = sorted(labels.items(), key=lambda item: (-item[1], item[0]))
        shown = listing([f"{label} ×{n}" for label, n in ranked])
        title = f"{plural(hits.height, 'error')} with codes bnlog does not know: {shown}"
        title += when(first, last)
        return [
            Finding(
                kind=self.name,
                severity=Severity.WARNING,
                title=title,
                first_seen=first,
                last_seen=last,
                **about(hits),  # type: ignore[arg-type]
                fix=ADVICE,
                details={"shapes": shapes.height, "top_shapes": listed},
                impact=float(hits.height),
            )
        ]
