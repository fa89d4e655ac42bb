"""Extract each distinct record once: a storm repeats one error thousands of times, and the
records differ only in the time at their start.

A record's *body* is its text with the digits of its leading time (any layout of shapes.toml,
or the time field of a JSON line) made zeros. Records with one body get the fields of the
first of them (the representative), extracted from its own, real text; only what comes from
the leading time itself is each record's own: the time, clock and template (computed later,
per event) and the message of an unrecognised line, which is its first line. So the cost of
extraction follows the number of distinct errors, not the number of events.
"""

from __future__ import annotations

import polars as pl

from analyzer.extract import patterns
from analyzer.extract.fields import extract_fields
from analyzer.extract.shapes import line_ts_patterns

# The time field of a JSON line (patterns.JSON_TS_PATTERN) as two groups: what comes before
# its value, and the value.
_BEFORE, _VALUE = patterns.JSON_TS_PATTERN.removeprefix("^").split("(?P<jts>")
_JSON_TS = f"^({_BEFORE})({_VALUE}"

# Events of these shapes take their message from the record's first line, time included: each
# record's own, not its representative's.
_OWN_HEAD_MSG_SHAPES = ("network", "unrecognised")


def fields_by_body(records: pl.DataFrame) -> pl.DataFrame:
    """extract_fields(records), computed once per distinct body."""
    if records.height < 2:
        return extract_fields(records)
    keyed = records.with_columns(_body=_body(records))
    reps = keyed.unique("_body", keep="first", maintain_order=True)
    if reps.height == records.height:
        return extract_fields(records)
    fields = extract_fields(reps.drop("_body"))
    own = [c for c in records.columns if c != "rid"]
    per_event = fields.drop(own)  # rid (the representative's) and what its text gave
    members = keyed.select("rid", "_body").join(
        reps.select("_body", _rep="rid"), on="_body", how="left", maintain_order="left"
    )
    events = (
        members.join(
            per_event.rename({"rid": "_rep"}), on="_rep", how="inner", maintain_order="left_right"
        )
        .drop("_body", "_rep")
        .join(records, on="rid", how="left", maintain_order="left")
    )
    # A line no shape understood is shown as its first line: each record's own, with its time.
    own_line = (pl.col("shape").is_in(_OWN_HEAD_MSG_SHAPES) & pl.col("net").is_null()).fill_null(
        False
    )
    events = events.with_columns(
        msg=pl.when(own_line).then(pl.col("head").str.slice(0, 300)).otherwise(pl.col("msg"))
    )
    return events.select(fields.columns)


def _body(records: pl.DataFrame) -> pl.Series:
    """Each record's text with the digits of its leading time zeroed."""
    text = pl.col("text")
    present = [
        pattern
        for pattern, seen in zip(
            line_ts_patterns(),
            records.select(
                [text.str.contains(p).any().alias(str(i)) for i, p in enumerate(line_ts_patterns())]
            ).row(0),
            strict=True,
        )
        if seen
    ]
    # The first layout that matches at the start: how many characters it takes (the text's
    # length less that of the text without them; no capture groups, which are slower).
    lengths: list[pl.Expr] = [
        pl.when(text.str.contains(pattern)).then(
            text.str.len_chars() - text.str.replace(pattern, "").str.len_chars()
        )
        for pattern in present
    ]
    taken = pl.coalesce(lengths or [pl.lit(None, pl.UInt32)])
    stamped = pl.concat_str(
        text.str.slice(0, taken).str.replace_all(r"\d", "0"), text.str.slice(taken)
    )
    # Else a JSON line's time field: (what comes before it, its value).
    span = text.str.extract_groups(_JSON_TS)
    before, value = span.struct.field("1"), span.struct.field("2")
    rest = text.str.slice(before.str.len_chars() + value.str.len_chars())
    json = pl.concat_str(before, value.str.replace_all(r"\d", "0"), rest)
    return records.select(
        pl.when(taken.is_not_null())
        .then(stamped)
        .when(value.is_not_null())
        .then(json)
        .otherwise(text)
        .alias("_body")
    ).to_series()
