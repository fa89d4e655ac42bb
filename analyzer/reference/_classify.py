"""Vectorised classification of events against the reference data (no per-row Python)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import polars as pl

from analyzer.reference._load import load_entries
from analyzer.reference._model import RANGES, Entry
from analyzer.schema import CLASSIFIED_SCHEMA, EXTRACTED_SCHEMA, Category, Severity

_KEYS = ("code", "http_status", "msg")
_MISSING = "This code is not in bnlog's reference data"

_OUT_OF_RANGE_FIX = (
    f"{_MISSING}, and it lies outside the spot API's ranges: it may come from another Binance "
    "API (wallet, margin, futures) or the client library; read the msg."
)
_HTTP_4XX_FIX = (
    "HTTP 4xx without a Binance code and not in the reference data: the request was refused "
    "as malformed or not allowed; read the response body and check the URL."
)
_HTTP_5XX_FIX = (
    "HTTP 5xx without a Binance code: a Binance-side error whose execution status is unknown; "
    "query the order before retrying."
)
_NOTHING_FIX = (
    "Neither a Binance code, an HTTP status nor a known message: read the raw line; if it is "
    "an exchange error, the log left the code out."
)


def _lookup(
    key: pl.Expr, keys: Sequence[Any], values: Sequence[Any], dtype: pl.DataType
) -> pl.Expr:
    """Map key to value through a small table; null where the key is absent."""
    if not keys:
        return pl.lit(None, dtype=dtype)
    return key.replace_strict(list(keys), list(values), default=None, return_dtype=dtype)


def _template(text: str, name: pl.Expr) -> pl.Expr:
    """`text` with each '{name}' replaced by the extracted group."""
    parts = text.split("{name}")
    pieces: list[pl.Expr] = [pl.lit(parts[0])]
    for part in parts[1:]:
        pieces += [name, pl.lit(part)]
    return pl.concat_str(pieces)


class _Rules:
    """The reference data split into the lookup lists classify needs (built once)."""

    def __init__(self, data: Sequence[Entry]) -> None:
        self.rules = [e for e in data if e.kind == "message"]
        self.codes = [e for e in data if e.kind == "code"]
        self.http = [e for e in data if e.kind == "http"]
        self.winners = [e for e in self.http if e.wins]


@cache
def _rules() -> _Rules:
    return _Rules(load_entries())


def _message_index(rules: Sequence[Entry], msg: pl.Expr, code: pl.Expr, status: pl.Expr) -> pl.Expr:
    """Index of the first message rule that matches msg and accepts the event's code."""
    chain: Any = None
    for index, rule in enumerate(rules):
        if rule.bare:
            accepts = code.is_null() & status.is_null()
        elif rule.codes:
            accepts = code.is_null() | code.is_in(list(rule.codes))
        else:
            accepts = pl.lit(True)
        cond = msg.str.contains(rule.match or "") & accepts
        value = pl.lit(index, dtype=pl.Int32)
        chain = pl.when(cond).then(value) if chain is None else chain.when(cond).then(value)
    if chain is None:
        return pl.lit(None, dtype=pl.Int32)
    return chain.otherwise(pl.lit(None, dtype=pl.Int32))


def _rule_field(rules: Sequence[Entry], field: str, msg: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The matched rule's field, with '{name}' templates filled from the message."""
    index = pl.col("_mi")
    values = [getattr(rule, field) for rule in rules]
    expr = _lookup(index, list(range(len(rules))), values, dtype)
    for i, rule in enumerate(rules):
        value = getattr(rule, field)
        if isinstance(value, str) and "{name}" in value:
            group = re.compile(rule.match or "").groupindex["name"]
            name = msg.str.extract(rule.match or "", group)
            expr = pl.when(index == i).then(_template(value, name)).otherwise(expr)
    return expr


def _range_expr(code: pl.Expr, pick: int) -> pl.Expr:
    """Category (pick=2) or generic fix (pick=3) by the code's numeric range."""
    expr: Any = None
    for row in RANGES:
        value = row[2].value if pick == 2 else f"{_MISSING}; codes {row[3]}: read the msg."
        cond = code.is_between(row[0], row[1])
        expr = (
            pl.when(cond).then(pl.lit(value))
            if expr is None
            else expr.when(cond).then(pl.lit(value))
        )
    fallback = Category.UNKNOWN.value if pick == 2 else _OUT_OF_RANGE_FIX
    return expr.otherwise(pl.lit(fallback))


def _classify_keys(keys: pl.DataFrame, rules: _Rules) -> pl.DataFrame:
    """Classify the distinct (code, http_status, msg) combinations."""
    msg, status = pl.col("msg"), pl.col("http_status")
    code = pl.col("_c")
    string = pl.String()
    frame = keys.with_columns(_c=pl.when(pl.col("code") != 0).then(pl.col("code")))
    frame = frame.with_columns(_mi=_message_index(rules.rules, msg, code, status))

    def table(field: str, dtype: pl.DataType = string) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
        return (
            _rule_field(rules.rules, field, msg, dtype),
            _lookup(
                code, [e.code for e in rules.codes], [getattr(e, field) for e in rules.codes], dtype
            ),
            _lookup(
                status, [e.http for e in rules.http], [getattr(e, field) for e in rules.http], dtype
            ),
        )

    has_msg = pl.col("_mi").is_not_null()
    has_code = code.is_in([e.code for e in rules.codes]).fill_null(False)
    has_http = code.is_null() & status.is_in([e.http for e in rules.http]).fill_null(False)
    http_4xx = code.is_null() & status.is_between(400, 499).fill_null(False)
    http_5xx = code.is_null() & status.is_between(500, 599).fill_null(False)

    def pick(field: str, by_range: pl.Expr, http_any: pl.Expr, nothing: pl.Expr) -> pl.Expr:
        from_msg, from_code, from_http = table(field)
        return (
            pl.when(has_msg)
            .then(from_msg)
            .when(has_code)
            .then(from_code)
            .when(has_http)
            .then(from_http)
            .when(code.is_not_null())
            .then(by_range)
            .when(http_4xx | http_5xx)
            .then(http_any)
            .otherwise(nothing)
            .alias(field)
        )

    error = pl.lit(Severity.ERROR.value)
    http_reason = (
        pl.when(http_5xx).then(pl.lit("execution_unknown")).otherwise(pl.lit("http_error"))
    )
    http_fix = pl.when(http_5xx).then(pl.lit(_HTTP_5XX_FIX)).otherwise(pl.lit(_HTTP_4XX_FIX))
    default_code = _rule_field(rules.rules, "implied_code", msg, pl.Int64())
    implied_status = _rule_field(rules.rules, "status", msg, pl.Int64())
    frame = frame.with_columns(
        pick(
            "category",
            _range_expr(code, 2),
            pl.lit(Category.HTTP.value),
            pl.lit(Category.UNKNOWN.value),
        ),
        pick("reason", pl.lit("unknown_code"), http_reason, pl.lit(None, dtype=string)),
        pick("severity", error, error, error),
        pick("fix", _range_expr(code, 3), http_fix, pl.lit(_NOTHING_FIX)),
        (has_msg | has_code | has_http).alias("known"),
        pl.when(pl.col("code").is_null() & has_msg)
        .then(default_code)
        .otherwise(pl.col("code"))
        .alias("_code_out"),
        pl.coalesce(status, pl.when(has_msg).then(implied_status)).alias("_status_out"),
    )
    return frame.with_columns(_winning_status(rules.winners)).drop("_c", "_mi")


def _winning_status(winners: Sequence[Entry]) -> list[pl.Expr]:
    """HTTP 418/429/451 set reason, severity and fix even when a code or message matched."""
    status, reason = pl.col("http_status"), pl.col("reason")
    out = []
    for field in ("reason", "severity", "fix"):
        expr: Any = pl.col(field)
        for row in winners:
            keeps = (
                reason.is_in(list(row.yields_to)).fill_null(False)
                if row.yields_to
                else pl.lit(False)
            )
            cond = (status == row.http).fill_null(False) & ~keeps
            expr = pl.when(cond).then(pl.lit(getattr(row, field))).otherwise(expr)
        out.append(expr.alias(field))
    return out


def classify(events: pl.DataFrame) -> pl.DataFrame:
    """Append CLASSIFIED_SCHEMA columns (and fill code from message rules) in input order."""
    rules = _rules()
    base = events.drop([c for c in CLASSIFIED_SCHEMA if c in events.columns])
    base = base.with_columns(pl.col(k).cast(EXTRACTED_SCHEMA[k], strict=False) for k in _KEYS)
    keys = base.select(_KEYS).unique(maintain_order=True)
    classified = _classify_keys(keys, rules)
    joined = base.join(
        classified, on=list(_KEYS), how="left", nulls_equal=True, maintain_order="left"
    )
    joined = joined.with_columns(
        pl.col("_code_out").alias("code"), pl.col("_status_out").alias("http_status")
    )
    return joined.select(
        *base.columns,
        *(pl.col(name).cast(dtype) for name, dtype in CLASSIFIED_SCHEMA.items()),
    )
