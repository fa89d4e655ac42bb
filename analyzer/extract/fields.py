"""Record text → events: every error a record mentions, then one event per error it holds.

A record (a log line and its continuation lines) can mention one error several times — the
logged line, the traceback's exception line, the JSON body, a status line — and, rarely, hold
two different errors. So extraction works in two steps:

1. **Mentions**: every match of every code/msg shape, status shape and known message, with the
   record line (`k`) it starts on.
2. **Events**: one per distinct code in a record (the mention with a message wins); known
   messages that no coded mention carries are events of their own; each such event takes the
   HTTP status mentioned nearest to it; a record with statuses alone gives one event per
   distinct status. An error on byte-identical lines repeated inside one record (a loop that
   prints without timestamps) counts once per line.

Transport failures and unrecognised error lines become events only where a record holds no API
error; they are kept apart from API events by `kind` (schema.EventKind).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from analyzer.extract import patterns
from analyzer.extract.shapes import Shape, layout_regex, load_shapes
from analyzer.reference import known_message_regex, message_code
from analyzer.schema import EventKind

_MAX_INT = 2**62
# Times outside these years are a corrupt line or a misparse, not a bot's clock (Binance opened
# in 2017): they become null, like month 13 or hour 25, and cannot stretch the timeline.
_EARLIEST, _LATEST = datetime(2000, 1, 1), datetime(2100, 1, 1)
_STR = pl.String()
_MAX_REPEAT_LINE = 2000
# A message is kept to this many characters (a 1 MB line is no message), and a mention is found
# in its record by its first _FIND_CHARS: a pattern built from a whole 1 MB match would exceed
# the regex engine's size limit (polars compiles even literal patterns taken from a column).
# The record text is redacted before it gets here (extract._events_of), so no cap below can
# leave a piece of a secret that redaction would no longer recognise.
MSG_MAX_CHARS = 500
_FIND_CHARS = 200

_MENTION_SCHEMA: dict[str, pl.DataType] = {
    "rid": pl.Int64(),
    "k": pl.Int64(),
    "kind": pl.String(),  # "code" | "message" | "status"
    "order": pl.Int64(),  # the shape's place in shapes.toml (earlier wins a tie)
    "code_str": pl.String(),
    "msg": pl.String(),
    "http_str": pl.String(),
    "shape": pl.String(),
}


def _unescape(msg: pl.Expr) -> pl.Expr:
    return msg.str.replace_all(r'\\(["\'/\\])', "$1").str.strip_chars(" \t\"'")


def _line_of(match: pl.Expr) -> pl.Expr:
    """The record line (0-based) where `match` first occurs in `text`."""
    at = pl.col("text").str.find(match.str.slice(0, _FIND_CHARS), literal=True)
    before = pl.col("text").cast(pl.Binary).bin.head(at).cast(pl.String)
    return before.str.count_matches("\n", literal=True).cast(pl.Int64)


def _with_multiplicity(found: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Add `mult`: how many times the line a mention starts on occurs as a whole line of its
    record. An error printed on identical lines (a retry loop without timestamps) is that many
    events. Counted by a join on the lines of the multi-line records, no regex per row."""
    several = records.filter(pl.col("text").str.contains("\n", literal=True)).select("rid", "text")
    if several.height == 0 or found.height == 0:
        return found.with_columns(mult=pl.lit(1, pl.Int64))
    lines = several.select("rid", line=pl.col("text").str.split("\n"))
    counts = (
        lines.explode("line")
        .filter(pl.col("line").str.len_bytes().is_between(1, _MAX_REPEAT_LINE))
        .group_by("rid", "line")
        .agg(mult=pl.len().cast(pl.Int64))
    )
    located = found.join(lines, on="rid", how="left").with_columns(
        line=pl.col("line").list.get(pl.col("k"), null_on_oob=True)
    )
    return (
        located.join(counts, on=["rid", "line"], how="left")
        .with_columns(mult=pl.col("mult").fill_null(1))
        .drop("line")
    )


def _shape_mentions(records: pl.DataFrame, shape: Shape, order: int, kind: str) -> pl.DataFrame:
    """Every match of one shape in the records, with its fields."""
    found = (
        records.select("rid", "text", match=pl.col("text").str.extract_all(shape.pattern))
        .explode("match")
        .drop_nulls("match")
    )
    if found.height == 0:
        return pl.DataFrame(schema=_MENTION_SCHEMA)
    groups = shape.groups
    parts = pl.col("match").str.extract_groups(shape.pattern)
    quoted = [parts.struct.field(g) for g in ("msg_dq", "msg_sq", "msg") if g in groups]
    msg = pl.coalesce(quoted) if quoted else pl.lit(None, _STR)
    if "http" in groups:
        http = parts.struct.field("http")
    elif "phrase" in groups:
        phrases = load_shapes().phrases
        said = parts.struct.field("phrase")
        if "phrase2" in groups:
            said = pl.coalesce(said, parts.struct.field("phrase2"))
        http = said.replace_strict(
            list(phrases), [str(v) for v in phrases.values()], default=None, return_dtype=_STR
        )
    else:
        http = pl.lit(None if shape.status is None else str(shape.status), _STR)
    code = parts.struct.field("code") if "code" in groups else pl.lit(None, _STR)
    k = _line_of(pl.col("match"))
    return found.select(
        "rid",
        k=k,
        kind=pl.lit(kind),
        order=pl.lit(order, pl.Int64),
        code_str=code,
        msg=_unescape(msg).str.slice(0, MSG_MAX_CHARS),
        http_str=http,
        shape=pl.lit(shape.name if kind == "code" else None, _STR),
    ).cast(_MENTION_SCHEMA)  # type: ignore[arg-type]


def _message_mentions(records: pl.DataFrame) -> pl.DataFrame:
    """Known exchange messages (reference data) wherever a record holds them."""
    # From the message's first capitalised word (not across ':' or quotes) to its end.
    known = f"(?:[A-Z][^\\n\"'{{}}:]*?)?(?:{known_message_regex()})[^\\n\"'{{}}]*"
    found = (
        records.select("rid", "text", match=pl.col("text").str.extract_all(known))
        .explode("match")
        .drop_nulls("match")
    )
    if found.height == 0:
        return pl.DataFrame(schema=_MENTION_SCHEMA)
    k = _line_of(pl.col("match"))
    return found.select(
        "rid",
        k=k,
        kind=pl.lit("message"),
        order=pl.lit(0, pl.Int64),
        code_str=pl.lit(None, _STR),
        msg=pl.col("match").str.strip_chars().str.slice(0, MSG_MAX_CHARS),
        http_str=pl.lit(None, _STR),
        shape=pl.lit("message"),
    ).cast(_MENTION_SCHEMA)  # type: ignore[arg-type]


# Up to this many records, mentions() first asks which shapes are there at all.
GATE_ROWS = 4096


def mentions(records: pl.DataFrame) -> pl.DataFrame:
    """Every code/msg, status and known-message mention of the records (_MENTION_SCHEMA and
    `mult`)."""
    shapes = load_shapes()
    wanted = [(s, i, "code") for i, s in enumerate(shapes.codes)]
    wanted += [(s, i, "status") for i, s in enumerate(shapes.statuses)]
    if records.height <= GATE_ROWS:
        # Few records (a storm's distinct ones): first ask, in one query, which shapes match
        # at all. Looking for a shape takes several steps even where it finds nothing (on one
        # record: 37 ms for the 39 shapes, 12 ms with this question first).
        present = records.select(
            pl.col("text").str.contains(s.pattern).any().alias(str(n))
            for n, (s, _, _) in enumerate(wanted)
        ).row(0)
        wanted = [w for w, hit in zip(wanted, present, strict=True) if hit]
    parts = [_shape_mentions(records, s, i, kind) for s, i, kind in wanted]
    parts.append(_message_mentions(records))
    return _with_multiplicity(pl.concat(parts, how="vertical"), records)


def _code_events(found: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct code in a record: the mention with a message, else the first."""
    coded = found.filter(pl.col("kind") == "code")
    return (
        coded.with_columns(
            _code=pl.col("code_str").str.strip_chars_start("+"), _nomsg=pl.col("msg").is_null()
        )
        .sort("rid", "_nomsg", "k", "order")
        .group_by("rid", "_code", maintain_order=True)
        .agg(
            k=pl.col("k").min(),
            code_str=pl.col("code_str").first(),
            msg=pl.col("msg").first(),
            http_str=pl.col("http_str").drop_nulls().first(),
            shape=pl.col("shape").first(),
            mult=pl.col("mult").max(),
        )
        .drop("_code")
    )


def _stem(msg: pl.Expr) -> pl.Expr:
    """A message's first words, without escapes: one message printed two ways compares equal."""
    return msg.str.replace_all(r"\\", "").str.slice(0, 24)


def _message_events(found: pl.DataFrame, coded: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Known messages that are errors of their own, and the coded events with the messages
    their record gives them.

    A message in a record that holds a code belongs to that code's error when the coded
    mention carries it, when it implies that code, or when it implies none and a coded mention
    has no message of its own (binance-api-node prints the message, the stack, then
    `code: -1013`). Any other message is an event of its own, one per distinct message (or
    implied code)."""
    said = found.filter(pl.col("kind") == "message").with_columns(
        m_code=message_code(pl.col("msg"))
    )
    columns = ["rid", "k", "code_str", "msg", "http_str", "shape", "mult"]
    if said.height == 0:
        return said.select(columns), coded
    number = pl.col("code_str").cast(pl.Int64, strict=False)
    readable = pl.when(number.is_between(-_MAX_INT, _MAX_INT, closed="none")).then(number)
    per_record = coded.group_by("rid").agg(
        _codes=readable,
        _msgs=pl.col("msg"),
        _unreadable=readable.is_null().any(),
        _msgless=pl.col("msg").is_null().any(),
    )
    said = said.join(per_record, on="rid", how="left")
    # It implies one of the record's codes; or it implies none and a coded mention lacks its
    # message; or a code too big to read is there (it may be any code).
    absorbed = pl.col("_codes").is_not_null() & (
        (pl.col("m_code").is_null() & pl.col("_msgless"))
        | pl.col("_codes").list.contains(pl.col("m_code"))
        | pl.col("_unreadable")
    )
    said = said.with_columns(_absorbed=absorbed.fill_null(False))
    # a message carried in a coded mention's own msg is that error too, whatever it implies;
    # so is one that carries it ("ERROR -1013 Filter failure: LOT_SIZE": the message read from
    # the level word on holds the coded mention's "Filter failure: LOT_SIZE")
    inside = (
        said.filter(~pl.col("_absorbed") & pl.col("_codes").is_not_null())
        .select("rid", "msg", "_msgs")
        .explode("_msgs")
        .filter(
            pl.col("_msgs").str.contains(pl.col("msg"), literal=True)
            | (
                pl.col("msg").str.contains(pl.col("_msgs"), literal=True)
                & (pl.col("_msgs").str.len_chars() >= 8)  # a message, not "" or "OK"
            )
            | (_stem(pl.col("_msgs")) == _stem(pl.col("msg")))
        )
        .select("rid", "msg")
        .unique()
    )
    said = said.join(inside.with_columns(_in=pl.lit(True)), on=["rid", "msg"], how="left")
    said = said.with_columns(_absorbed=pl.col("_absorbed") | pl.col("_in").fill_null(False))
    # coded events without a message take the nearest absorbed message of their record
    given = said.filter(pl.col("_absorbed")).select("rid", "k", given="msg").sort("k")
    if given.height:
        coded = (
            coded.with_columns(_row=pl.int_range(pl.len()))
            .sort("k")
            .join_asof(given, on="k", by="rid", strategy="nearest", check_sortedness=False)
            .sort("_row")
            .with_columns(msg=pl.coalesce("msg", "given"))
            .drop("given", "_row")
        )
    alone = (
        said.filter(~pl.col("_absorbed"))
        .with_columns(_key=pl.coalesce(pl.col("m_code").cast(pl.String), pl.col("msg")))
        .sort("rid", "k")
        .group_by("rid", "_key", maintain_order=True)
        .agg(
            k=pl.col("k").min(),
            msg=pl.col("msg").first(),
            mult=pl.col("mult").max(),
        )
        .select(
            "rid",
            "k",
            code_str=pl.lit(None, _STR),
            msg="msg",
            http_str=pl.lit(None, _STR),
            shape=pl.lit("message"),
            mult="mult",
        )
    )
    return alone, coded


def _with_status(anchors: pl.DataFrame, statuses: pl.DataFrame) -> pl.DataFrame:
    """Each anchor event takes the error status mentioned nearest to it in its record."""
    if statuses.height == 0 or anchors.height == 0:
        return anchors
    nearest = statuses.select("rid", "k", near=pl.col("http_str")).sort("rid", "k")
    joined = (
        anchors.with_columns(_row=pl.int_range(pl.len()))
        .sort("k")
        .join_asof(nearest.sort("k"), on="k", by="rid", strategy="nearest", check_sortedness=False)
    )
    return (
        joined.sort("_row")
        .with_columns(http_str=pl.coalesce("http_str", "near"))
        .drop("near", "_row")
    )


def _status_events(statuses: pl.DataFrame, anchored: pl.Series) -> pl.DataFrame:
    """Records that mention error statuses and no error: one event per distinct status."""
    alone = statuses.filter(~pl.col("rid").is_in(anchored.implode()))
    return (
        alone.sort("rid", "k", "order")
        .group_by("rid", "http_str", maintain_order=True)
        .agg(k=pl.col("k").min(), mult=pl.col("mult").max())
        .select(
            "rid",
            "k",
            code_str=pl.lit(None, _STR),
            msg=pl.lit(None, _STR),
            http_str="http_str",
            shape=pl.lit("http"),
            mult="mult",
        )
    )


def _record_flags(records: pl.DataFrame) -> pl.DataFrame:
    """Record-level facts: does it point at another host, a transport failure, an error word."""
    text = pl.col("text")
    binance = text.str.contains(patterns.BINANCE_CONTEXT)
    hosts = text.str.extract_all(patterns.URL_HOST)
    foreign = hosts.list.eval(pl.element().str.contains(patterns.NOT_FOREIGN).not_()).list.any()
    other_host = (text.str.contains(patterns.OTHER_HOST) | foreign.fill_null(False)) & ~(
        text.str.contains(patterns.BINANCE_HOST)
    )
    return records.with_columns(
        _binance=binance,
        _other_host=other_host,
        net=pl.when(binance).then(text.str.extract(patterns.NETWORK_PATTERN, 1)),
        netmsg=text.str.extract(patterns.NETWORK_PATTERN, 2),
        net_word=binance & text.str.contains(patterns.NETWORK_WORDS),
        unrecognised=text.str.contains(patterns.UNRECOGNISED_PATTERN),
        bare_msg=text.str.extract(patterns.CCXT_BARE_MSG, 1)
        .str.strip_chars(" \t\"'")
        .str.slice(0, MSG_MAX_CHARS),
    )


def extract_fields(records: pl.DataFrame) -> pl.DataFrame:
    """Events of candidate records (rid, line, head, text[, src, outer_time]): one row per
    event, with code_str/msg/http_status/shape/kind/k/mult and the record-level fields."""
    records = _record_flags(records)
    found = mentions(records)
    statuses = found.filter(pl.col("kind") == "status").filter(
        pl.col("http_str").cast(pl.Int64, strict=False).is_between(400, 599)
    )
    coded = _code_events(found)
    # A status of another host's request (Telegram's 409, a webhook's 404) is not Binance's;
    # a status beside a Binance code is that response's, whatever URL it went through.
    binance_status = ~pl.col("_other_host") | pl.col("rid").is_in(coded["rid"].implode())
    statuses = statuses.join(records.filter(binance_status).select("rid"), on="rid", how="semi")
    said, coded = _message_events(found, coded)
    anchors = pl.concat([coded, said], how="vertical_relaxed")
    anchors = _with_status(anchors, statuses)
    alone = _status_events(statuses, anchors["rid"])
    events = pl.concat([anchors, alone], how="vertical_relaxed").with_columns(
        kind=pl.lit(EventKind.API.value)
    )
    quiet = records.join(events.select("rid"), on="rid", how="anti")
    others = quiet.filter(
        pl.col("net").is_not_null() | pl.col("net_word") | pl.col("unrecognised")
    ).select(
        "rid",
        k=pl.lit(0, pl.Int64),
        code_str=pl.lit(None, _STR),
        msg=pl.when(pl.col("net").is_not_null())
        .then(pl.concat_str("net", pl.lit(": "), pl.col("netmsg").str.slice(0, 200)))
        .otherwise(pl.col("head").str.slice(0, 300)),
        http_str=pl.lit(None, _STR),
        shape=pl.when(pl.col("net").is_not_null() | pl.col("net_word"))
        .then(pl.lit("network"))
        .otherwise(pl.lit("unrecognised")),
        mult=pl.lit(1, pl.Int64),
        kind=pl.when(pl.col("net").is_not_null() | pl.col("net_word"))
        .then(pl.lit(EventKind.TRANSPORT.value))
        .otherwise(pl.lit(EventKind.UNRECOGNISED.value)),
    )
    events = pl.concat([events, others], how="vertical_relaxed")
    code = pl.col("code_str").cast(pl.Int64, strict=False)
    code = pl.when(code.is_between(-_MAX_INT, _MAX_INT, closed="none")).then(code)  # abs() wraps
    events = events.with_columns(
        code=pl.when(code != 0).then(code),
        http_status=pl.col("http_str").cast(pl.Int64, strict=False),
        mult=pl.col("mult").clip(1, None),
    )
    joined = events.join(records, on="rid", how="left")
    # ccxt prints a message-matched error bare, after the exchange id: keep its full wording.
    joined = joined.with_columns(
        msg=pl.when(
            (pl.col("shape") == "message")
            & pl.col("bare_msg").str.contains(pl.col("msg"), literal=True).fill_null(False)
        )
        .then(pl.col("bare_msg"))
        .otherwise(pl.col("msg"))
    )
    text = pl.col("text")
    return joined.with_columns(
        symbol=_first(patterns.SYMBOL_PATTERNS, "sym")
        .str.replace_all(r"[/-]", "")
        .str.to_uppercase(),
        endpoint=text.str.extract(patterns.ENDPOINT_PATTERN, 1),
        client=_client(),
        retry_after=text.str.extract(patterns.RETRY_AFTER_PATTERN, 1).cast(pl.Int64, strict=False),
        used_weight=text.str.extract(patterns.USED_WEIGHT_PATTERN, 1).cast(pl.Int64, strict=False),
        ban_until=text.str.extract(patterns.BAN_UNTIL_PATTERN, 1).cast(pl.Int64, strict=False),
        attempt=text.str.contains(patterns.ATTEMPT_PATTERN),
        wrapper=pl.col("head").str.contains(patterns.WRAPPER_PATTERN),
        fragment=pl.col("head").str.contains(r"^[ \t]"),
        method=text.str.extract(patterns.METHOD_PATTERN, 1),
    ).sort("rid", "k", maintain_order=True)


def _first(regexes: tuple[str, ...], name: str) -> pl.Expr:
    """The named group of the leftmost match among the patterns (earlier pattern on a tie)."""
    parts = [f"(?:{p.replace(f'(?P<{name}>', f'(?P<{name}__{i}>')})" for i, p in enumerate(regexes)]
    found = pl.col("text").str.extract_groups("|".join(parts))
    return pl.coalesce([found.struct.field(f"{name}__{i}") for i in range(len(regexes))])


def _client() -> pl.Expr:
    expr: Any = pl.when(pl.lit(False)).then(pl.lit(None, _STR))
    for client in load_shapes().clients:
        expr = expr.when(pl.col("text").str.contains("(?m)" + client.pattern)).then(
            pl.lit(client.name)
        )
    return expr.otherwise(None)


# --- times ----------------------------------------------------------------------------------


def times_of(
    frame: pl.DataFrame, columns: Sequence[pl.Expr], tz: str, year: int | None
) -> pl.Series:
    """The time of each row (a `ts` Series): from the first of `columns` that holds one. Only
    the layouts that occur in this frame are parsed (one cheap scan each): a log uses one or
    two of them. Each column and each layout's captures are computed once, as columns: an
    expression that used them ten times (year, month, day…) would run the regex ten times."""
    layouts = load_shapes().timestamps
    year = year if year is not None else datetime.now().year
    values = frame.select([column.alias(f"c{i}") for i, column in enumerate(columns)])
    seen = values.select(
        [
            pl.col(f"c{i}").str.contains(layout_regex(layout)).any().alias(f"{i}_{j}")
            for i in range(len(columns))
            for j, layout in enumerate(layouts)
        ]
    ).row(0)
    found: list[pl.Expr] = []  # per column: its first layout's time, if in range
    parts: dict[str, pl.Series] = {}
    for i in range(len(columns)):
        mine: list[pl.Expr] = []
        for j, layout in enumerate(layouts):
            if seen[i * len(layouts) + j] and _has_date(layout):
                name = f"p{i}_{j}"
                parts[name] = values.select(
                    pl.col(f"c{i}").str.extract_groups(layout_regex(layout)).alias(name)
                ).to_series()
                mine.append(_layout_ts(pl.col(name), layout, tz, year))
        if mine:
            found.append(_in_range(pl.coalesce(mine)))
    if not found:
        return pl.Series("ts", [None] * frame.height, pl.Datetime("us", "UTC"))
    return pl.DataFrame(parts).select(ts=pl.coalesce(found)).to_series()


def _has_date(layout: Shape) -> bool:
    """A layout that gives a date (a time of day alone gives no time)."""
    return "day" in layout.groups or bool({"epoch", "epoch_ms"} & layout.groups)


def _in_range(found: pl.Expr) -> pl.Expr:
    return pl.when(
        found.dt.replace_time_zone(None).is_between(_EARLIEST, _LATEST, closed="left")
    ).then(found)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _layout_ts(parts: pl.Expr, layout: Shape, tz: str, year: int) -> pl.Expr:
    """The time of one layout, as UTC, from its captures (`parts`, a struct: the layout's
    regex's extract_groups); null when it did not match."""
    groups = layout.groups
    if not _has_date(layout):
        return pl.lit(None, pl.Datetime("us", "UTC"))  # a time of day alone: no time

    def part(name: str) -> pl.Expr:
        return parts.struct.field(name).cast(pl.Int64, strict=False)

    if "epoch_ms" in groups or "epoch" in groups:
        ms = part("epoch_ms") if "epoch_ms" in groups else pl.lit(None, pl.Int64)
        seconds = parts.struct.field("epoch").cast(pl.Float64, strict=False)
        frac = (
            ("0." + parts.struct.field("frac")).cast(pl.Float64, strict=False).fill_null(0.0)
            if "frac" in groups
            else pl.lit(0.0)
        )
        us = pl.coalesce(ms * 1000, ((seconds + frac) * 1e6).cast(pl.Int64, strict=False))
        return us.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if "month" in groups:
        month = part("month")
    else:
        name = parts.struct.field("mon").str.to_lowercase().str.slice(0, 3)
        month = name.replace_strict(list(_MONTHS), list(range(1, 13)), default=None).cast(pl.Int64)
    hour = part("hour")
    if "ampm" in groups:
        pm = parts.struct.field("ampm").str.to_uppercase().str.starts_with("P")
        hour = (
            pl.when(pm & (hour < 12))
            .then(hour + 12)
            .when(~pm & (hour == 12))
            .then(0)
            .otherwise(hour)
        )
    frac = (
        parts.struct.field("frac").fill_null("0").str.slice(0, 6).str.pad_end(6, "0")
        if "frac" in groups
        else pl.lit("0")
    ).cast(pl.Int64, strict=False)
    year_expr = part("year") if "year" in groups else pl.lit(year, pl.Int64)
    if "year" in groups:  # "24" is 2024; "0001" stays the year 1 (and so null below)
        two_digits = parts.struct.field("year").str.len_chars() == 2
        year_expr = pl.when(two_digits).then(year_expr + 2000).otherwise(year_expr)
    day = part("day")
    # 14/02/2025 in a month-first layout that allows it (swap = true) is day first; in any
    # other layout an impossible month stays impossible (null), never guessed.
    swap = (month > 12) & (day <= 12) & pl.lit(layout.day_first_if_needed)
    month, day = (
        pl.when(swap).then(day).otherwise(month),
        pl.when(swap).then(month).otherwise(day),
    )

    def two(value: pl.Expr) -> pl.Expr:
        return value.cast(pl.String).str.pad_start(2, "0")

    # Through a string and a non-strict parse: 2025-02-31 or hour 25 become null, never raise.
    stamp = pl.concat_str(
        year_expr.cast(pl.String).str.pad_start(4, "0"),
        pl.lit("-"),
        two(month),
        pl.lit("-"),
        two(day),
        pl.lit(" "),
        two(hour),
        pl.lit(":"),
        two(part("minute")),
        pl.lit(":"),
        two(part("second").clip(0, 59)),
        pl.lit("."),
        frac.cast(pl.String).str.pad_start(6, "0"),
    )
    naive = stamp.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    naive = pl.when(naive.is_between(_EARLIEST, _LATEST, closed="left")).then(naive)
    if "tz" not in groups:
        return naive.dt.replace_time_zone(
            tz, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")
    zone = parts.struct.field("tz")
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    digits = zone.str.replace_all(r"[^0-9]", "")
    hours = digits.str.slice(0, 2).cast(pl.Int64, strict=False)
    minutes = digits.str.slice(2, 2).cast(pl.Int64, strict=False).fill_null(0)
    offset_min = pl.when((hours <= 14) & (minutes < 60)).then(sign * (hours * 60 + minutes))
    return (
        pl.when(zone.str.to_uppercase().is_in(["Z", "UTC", "GMT"]))
        .then(naive.dt.replace_time_zone("UTC"))
        .when(zone.is_not_null())
        .then((naive - pl.duration(minutes=offset_min)).dt.replace_time_zone("UTC"))
        .otherwise(
            naive.dt.replace_time_zone(
                tz, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
        )
    )


def parse_ts(
    head: pl.Expr, tz: str, year: int | None = None, layouts: Sequence[Shape] | None = None
) -> pl.Expr:
    """UTC time from the start of a line, by the first layout of shapes.toml that matches;
    null when none does. Naive times are in `tz`; a layout without a year takes `year`.
    `layouts` limits the layouts tried (to those present, see times_of)."""
    year = year if year is not None else datetime.now().year
    chosen = load_shapes().timestamps if layouts is None else layouts
    if not chosen:
        return pl.lit(None, pl.Datetime("us", "UTC"))
    found = pl.coalesce(
        [
            _layout_ts(head.str.extract_groups(layout_regex(layout)), layout, tz, year)
            for layout in chosen
        ]
    )
    return _in_range(found)
