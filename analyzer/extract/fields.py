"""Record text → event fields: code/msg/status by shape, time, symbol, endpoint, client, headers."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

import polars as pl

from analyzer.extract import shapes
from analyzer.reference import known_message_regex

_MAX_INT = 2**62
# Times outside these years are a corrupt line or a misparse, not a bot's clock (Binance opened
# in 2017): they become null, like month 13 or hour 25, and cannot stretch the timeline.
_EARLIEST, _LATEST = datetime(2000, 1, 1), datetime(2100, 1, 1)
_NAMED = re.compile(r"\(\?P<(\w+)>")


def _renamed(pattern: str, suffix: str) -> str:
    """The pattern with every named group `g` renamed `g__suffix` (to join patterns in one)."""
    return _NAMED.sub(lambda m: f"(?P<{m.group(1)}__{suffix}>", pattern)


@cache
def _alternation(patterns: tuple[str, ...]) -> tuple[str, tuple[frozenset[str], ...]]:
    """One regex trying the patterns as alternatives (leftmost match first, then the earlier
    pattern), and for each alternative the group names it had."""
    parts = [f"(?:{_renamed(p, str(i))})" for i, p in enumerate(patterns)]
    names = tuple(frozenset(re.compile(p).groupindex) for p in patterns)
    return "|".join(parts), names


def _unescape(msg: pl.Expr) -> pl.Expr:
    return msg.str.replace_all(r'\\(["\'/\\])', "$1").str.strip_chars(" \t\"'")


def with_code_fields(records: pl.DataFrame) -> pl.DataFrame:
    """Add code_str, msg, http_code_shape and shape from `text`.

    The leftmost code/msg pair in the record wins (the first code-bearing line of a traceback),
    ties going to the shape listed first. Each shape's position is found without captures
    (fast), then its own capturing regex supplies the fields: one big alternation with
    captures is an order of magnitude slower. Positions and captures are materialised as
    columns first, so no regex runs more than once per record.
    """
    text = pl.col("text")
    n = len(shapes.CODE_SHAPES)
    staged = records.with_columns(
        *(
            text.str.find(shape.pattern).alias(f"_p{i}")
            for i, shape in enumerate(shapes.CODE_SHAPES)
        ),
        *(
            text.str.extract_groups(s.pattern).alias(f"_g{i}")
            for i, s in enumerate(shapes.CODE_SHAPES)
        ),
    ).with_columns(_left=pl.min_horizontal(*(pl.col(f"_p{i}") for i in range(n))))
    none = pl.lit(None, pl.String)
    pick_code = pick_msg = pick_http = pick_shape = pl.when(pl.lit(False)).then(none)
    for i, shape in enumerate(shapes.CODE_SHAPES):
        groups = set(re.compile(shape.pattern).groupindex)
        found = pl.col(f"_g{i}")
        if "msg" in groups:
            msg = found.struct.field("msg")
        elif "msg_sq" in groups:
            msg = pl.coalesce(found.struct.field("msg_sq"), found.struct.field("msg_dq"))
        else:
            msg = none
        http = found.struct.field("http") if "http" in groups else none
        hit = pl.col(f"_p{i}") == pl.col("_left")
        pick_code = pick_code.when(hit).then(found.struct.field("code"))
        pick_msg = pick_msg.when(hit).then(msg)
        pick_http = pick_http.when(hit).then(http)
        pick_shape = pick_shape.when(hit).then(pl.lit(shape.name))
    # The connector's "Found error" form may carry `error code: None` (no code, status only).
    connector_http = text.str.extract(r"Found error\. status: (\d{3}), error code: None", 1)
    picked = staged.with_columns(
        code_str=pick_code.otherwise(none),
        _msg=pick_msg.otherwise(none),
        _http=pick_http.otherwise(none),
        _shape=pick_shape.otherwise(none),
    )
    has_code = pl.col("code_str").is_not_null()
    return picked.with_columns(
        msg=pl.when(has_code).then(_unescape(pl.col("_msg"))),
        http_code_shape=pl.coalesce(pl.when(has_code).then(pl.col("_http")), connector_http),
        shape=pl.when(has_code).then(pl.col("_shape")),
    ).drop(
        *(f"_p{i}" for i in range(n)),
        *(f"_g{i}" for i in range(n)),
        "_left",
        "_msg",
        "_http",
        "_shape",
    )


def _first(patterns: tuple[str, ...], name: str) -> pl.Expr:
    """The named group of the leftmost match among the patterns."""
    pattern, _ = _alternation(patterns)
    found = pl.col("text").str.extract_groups(pattern)
    return pl.coalesce([found.struct.field(f"{name}__{i}") for i in range(len(patterns))])


def extract_fields(records: pl.DataFrame) -> pl.DataFrame:
    """Add event fields to candidate records (rid, line, head, text[, docker_time])."""
    known = f"(?P<known>(?:{known_message_regex()})[^\\n\"'{{}}]*)"
    text = pl.col("text")
    df = with_code_fields(records).with_columns(
        http_str=pl.coalesce(pl.col("http_code_shape"), _first(shapes.HTTP_PATTERNS, "http")),
        known_msg=text.str.extract(known, 1),
        bare_msg=text.str.extract(shapes.CCXT_BARE_MSG, 1).str.strip_chars(),
        net=text.str.extract(shapes.NETWORK_PATTERN, 1),
        netmsg=text.str.extract(shapes.NETWORK_PATTERN, 2),
        unrecognised=text.str.contains(shapes.UNRECOGNISED_PATTERN),
    )
    code = pl.col("code_str").cast(pl.Int64, strict=False)
    code = pl.when(code.is_between(-_MAX_INT, _MAX_INT, closed="none")).then(code)  # abs() wraps
    http = pl.col("http_str").cast(pl.Int64, strict=False)
    df = df.with_columns(
        code=pl.when(code != 0).then(code),
        http_status=http,
    )
    has_code = pl.col("code_str").is_not_null()
    error_status = pl.col("http_status") >= 400
    # Timeouts and dropped connections count only where the record names Binance.
    transport = pl.col("net").is_not_null() | pl.col("known_msg").str.contains(shapes.NETWORK_WORDS)
    off_topic = transport.fill_null(False) & ~text.str.contains(shapes.BINANCE_CONTEXT)
    df = df.with_columns(
        known_msg=pl.when(off_topic).then(None).otherwise(pl.col("known_msg")),
        net=pl.when(off_topic).then(None).otherwise(pl.col("net")),
    )
    df = df.with_columns(
        msg=pl.when(has_code)
        .then(pl.col("msg"))
        .when(pl.col("known_msg").is_not_null())
        .then(
            pl.when(pl.col("bare_msg").str.contains(pl.col("known_msg"), literal=True))
            .then(pl.col("bare_msg"))
            .otherwise(pl.col("known_msg").str.strip_chars())
        )
        .when(pl.col("net").is_not_null())
        .then(pl.concat_str(pl.col("net"), pl.lit(": "), pl.col("netmsg").str.slice(0, 200)))
        .when(error_status)
        .then(None)
        .when(pl.col("unrecognised"))
        .then(pl.col("head").str.slice(0, 300)),
        shape=pl.when(has_code)
        .then(pl.col("shape"))
        .when(pl.col("known_msg").is_not_null())
        .then(pl.lit("message"))
        .when(error_status)
        .then(pl.lit("http"))
        .when(pl.col("net").is_not_null())
        .then(pl.lit("network"))
        .when(pl.col("unrecognised"))
        .then(pl.lit("unrecognised")),
    ).filter(pl.col("shape").is_not_null())
    return df.with_columns(
        symbol=_first(shapes.SYMBOL_PATTERNS, "sym")
        .str.replace_all(r"[/-]", "")
        .str.to_uppercase(),
        endpoint=text.str.extract(shapes.ENDPOINT_PATTERN, 1),
        client=_client(),
        retry_after=text.str.extract(shapes.RETRY_AFTER_PATTERN, 1).cast(pl.Int64, strict=False),
        used_weight=text.str.extract(shapes.USED_WEIGHT_PATTERN, 1).cast(pl.Int64, strict=False),
        ban_until=text.str.extract(shapes.BAN_UNTIL_PATTERN, 1).cast(pl.Int64, strict=False),
        echo=text.str.contains(shapes.ECHO_PATTERN),
    )


def _client() -> pl.Expr:
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for name, pattern in shapes.CLIENT_PATTERNS:
        expr = expr.when(pl.col("text").str.contains("(?m)" + pattern)).then(pl.lit(name))
    return expr.otherwise(None)


def parse_ts(head: pl.Expr, tz: str) -> pl.Expr:
    """UTC datetime from the start of a record's first line; null when there is none."""
    parts = head.str.extract_groups(shapes.TS_PATTERN)
    frac = parts.struct.field("frac").fill_null("0").str.slice(0, 6).str.pad_end(6, "0")
    naive = pl.concat_str(
        parts.struct.field("date"), pl.lit(" "), parts.struct.field("time"), pl.lit("."), frac
    ).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    naive = pl.when(naive.is_between(_EARLIEST, _LATEST, closed="left")).then(naive)
    zone = parts.struct.field("tz")
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    digits = zone.str.replace_all(r"[^0-9]", "")
    hours = digits.str.slice(0, 2).cast(pl.Int64, strict=False)
    minutes = digits.str.slice(2, 2).cast(pl.Int64, strict=False)
    offset_min = pl.when((hours <= 14) & (minutes < 60)).then(sign * (hours * 60 + minutes))
    local = naive.dt.replace_time_zone(
        tz, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")
    utc_from_offset = (naive - pl.duration(minutes=offset_min)).dt.replace_time_zone("UTC")
    stated = (
        pl.when(zone.is_in(["Z", "UTC"]))
        .then(naive.dt.replace_time_zone("UTC"))
        .when(zone.is_not_null())
        .then(utc_from_offset)
        .otherwise(local)
    )
    php = head.str.extract_groups(shapes.PHP_TS_PATTERN)
    php_naive = pl.concat_str(
        php.struct.field("day"),
        pl.lit("-"),
        php.struct.field("mon"),
        pl.lit("-"),
        php.struct.field("year"),
        pl.lit(" "),
        php.struct.field("time"),
    ).str.to_datetime("%d-%b-%Y %H:%M:%S", strict=False, time_unit="us")
    from_php = (
        pl.when(php.struct.field("tz") == "UTC")
        .then(php_naive.dt.replace_time_zone("UTC"))
        .otherwise(
            php_naive.dt.replace_time_zone(
                tz, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
        )
    )
    epoch = head.str.extract(shapes.EPOCH_PATTERN, 1)
    epoch_us = (
        pl.when(epoch.str.len_chars() == 13)
        .then(epoch.cast(pl.Int64, strict=False) * 1000)
        .otherwise((epoch.cast(pl.Float64, strict=False) * 1e6).cast(pl.Int64, strict=False))
    )
    from_epoch = epoch_us.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    found = pl.coalesce(stated, from_php, from_epoch)
    return pl.when(
        found.dt.replace_time_zone(None).is_between(_EARLIEST, _LATEST, closed="left")
    ).then(found)
