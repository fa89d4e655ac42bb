"""Lines → one row per error event (EXTRACTED_SCHEMA), vectorised with polars, chunk by chunk."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analyzer.extract import shapes
from analyzer.extract.fields import extract_fields, parse_ts
from analyzer.extract.records import candidate_records, mark_records, split_tail
from analyzer.redact import redact_series
from analyzer.schema import EXTRACTED_SCHEMA, empty_events
from analyzer.sources import DEFAULT_MAX_LINE_BYTES, Coverage, Source, prefetch, read_chunks, to_lines

RAW_MAX_CHARS = 2000
# Candidate records are gathered over chunks and extracted together: each extraction pass
# has a fixed cost, and candidates are few (a few % of lines), so batches stay small.
BATCH_RECORDS = 50_000
EVIDENCE_MAX_LINES = 8  # a record this short is kept whole as its evidence


TIME_OFFSET_SCHEMA: dict[str, pl.DataType] = {"ts": pl.Datetime("us", "UTC"), "offset_ms": pl.Int64()}


@dataclass(frozen=True)
class Extracted:
    """What extraction found: the events, and the clock offsets the bot itself logged."""

    events: pl.DataFrame
    time_offsets: pl.DataFrame


@dataclass(frozen=True)
class ExtractOptions:
    """How to read lines: the zone of naive timestamps, the longest line kept whole."""

    tz: str = "UTC"
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    redact: bool = True


def extract_events(
    sources: list[Source], coverage: Coverage, options: ExtractOptions = ExtractOptions()
) -> Extracted:
    """Every event of every source, in input order (path order, then line)."""
    offsets: list[pl.DataFrame] = []
    frames = [extract_source(source, coverage, options, offsets) for source in sources]
    frames = [f for f in frames if f.height]
    events = pl.concat(frames, how="vertical") if frames else empty_events(EXTRACTED_SCHEMA)
    time_offsets = (
        pl.concat(offsets, how="vertical").sort("ts", nulls_last=True)
        if offsets
        else pl.DataFrame(schema=TIME_OFFSET_SCHEMA)
    )
    return Extracted(events=events, time_offsets=time_offsets)


def extract_source(
    source: Source,
    coverage: Coverage,
    options: ExtractOptions,
    offsets: list[pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """The events of one file or stream; records that span chunks are carried over whole.
    Clock offsets the bot logged are appended to `offsets` when it is given."""
    sink = offsets if offsets is not None else []
    frames: list[pl.DataFrame] = []
    pending: list[pl.DataFrame] = []  # candidate records waiting for a batch
    pending_rows = 0
    tail = pl.DataFrame(schema={"text": pl.String, "line": pl.Int64})
    next_line = 1
    for chunk in prefetch(read_chunks(source, coverage)):
        lines = to_lines(chunk, coverage, options.max_line_bytes)
        n = lines.len()
        coverage.lines += n
        frame = pl.DataFrame(
            {"text": lines, "line": pl.int_range(next_line, next_line + n, eager=True)}
        )
        next_line += n
        if tail.height:
            frame = pl.concat([tail, frame], how="vertical")
        complete, tail_marked = split_tail(mark_records(_unwrap_docker(frame)))
        tail = tail_marked.select("text", "line") if tail_marked.height else tail.clear()
        records = candidate_records(complete)
        if records.height:
            pending.append(records)
            pending_rows += records.height
        if pending_rows >= BATCH_RECORDS:
            frames.append(_events_of(pl.concat(pending), source.name, options, sink))
            pending, pending_rows = [], 0
    if tail.height:
        pending.append(candidate_records(mark_records(_unwrap_docker(tail))))
    if pending:
        frames.append(_events_of(pl.concat(pending), source.name, options, sink))
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_events(EXTRACTED_SCHEMA)
    return _drop_echoes(pl.concat(frames, how="vertical"))


def extract_text(text: str, path: str = "<text>", options: ExtractOptions = ExtractOptions()) -> pl.DataFrame:
    """Events of an in-memory log (tests, stdin helpers): same pipeline, one chunk."""
    coverage = Coverage()
    lines = to_lines(text.encode("utf-8"), coverage, options.max_line_bytes)
    frame = pl.DataFrame({"text": lines, "line": pl.int_range(1, lines.len() + 1, eager=True)})
    events = _events_of(candidate_records(mark_records(_unwrap_docker(frame))), path, options)
    return _drop_echoes(events) if events.height else events


def _unwrap_docker(frame: pl.DataFrame) -> pl.DataFrame:
    """docker json-file lines {"log":"…\\n","stream":…,"time":…}: keep the log text and time."""
    is_docker = pl.col("text").str.starts_with('{"log":')
    if not frame.select(is_docker.any()).item():
        return frame.with_columns(docker_time=pl.lit(None, pl.String))
    inner = pl.col("text").str.json_path_match("$.log").str.strip_suffix("\n").str.strip_suffix("\r")
    return frame.with_columns(
        docker_time=pl.when(is_docker).then(pl.col("text").str.json_path_match("$.time")),
        text=pl.when(is_docker & inner.is_not_null()).then(inner).otherwise(pl.col("text")),
    )


def _events_of(
    records: pl.DataFrame,
    path: str,
    options: ExtractOptions,
    offsets: list[pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Events of a batch of candidate records (fields, time, evidence, redaction)."""
    if records.height == 0:
        return empty_events(EXTRACTED_SCHEMA)
    if offsets is not None:
        found = _time_offsets(records, options)
        if found.height:
            offsets.append(found)
    events = extract_fields(records)
    if events.height == 0:
        return empty_events(EXTRACTED_SCHEMA)
    head_ts = pl.when(pl.col("head").str.starts_with("{")).then(
        pl.col("head").str.extract(shapes.JSON_TS_PATTERN, 1)
    ).otherwise(pl.col("head"))
    events = events.with_columns(
        ts=pl.coalesce(parse_ts(pl.col("docker_time"), options.tz), parse_ts(head_ts, options.tz)),
        path=pl.lit(path),
    )
    events = _with_evidence(events)
    if options.redact:
        events = events.with_columns(raw=redact_series(events["raw"]), msg=redact_series(events["msg"]))
    return events.select(*EXTRACTED_SCHEMA.keys(), "echo").cast(
        {name: dtype for name, dtype in EXTRACTED_SCHEMA.items()}
    )


def _time_offsets(records: pl.DataFrame, options: ExtractOptions) -> pl.DataFrame:
    """(ts, offset_ms) of the clock offsets the bot logged in these records."""
    groups = pl.col("text").str.extract_groups(shapes.TIME_OFFSET_PATTERN)
    ms = groups.struct.field("ms").cast(pl.Float64, strict=False)
    seconds = groups.struct.field("s").cast(pl.Float64, strict=False)
    return (
        records.filter(pl.col("text").str.contains(shapes.TIME_OFFSET_PATTERN))
        .select(
            ts=pl.coalesce(parse_ts(pl.col("docker_time"), options.tz), parse_ts(pl.col("head"), options.tz)),
            offset_ms=pl.coalesce(ms, seconds * 1000).round(0).cast(pl.Int64),
        )
    )


def _with_evidence(events: pl.DataFrame) -> pl.DataFrame:
    """Add `raw`: a short record whole, else the record line that carries the error (the code,
    else the message, else the status), else the record's first line."""
    short = (
        (pl.col("text").str.count_matches("\n") < EVIDENCE_MAX_LINES)
        & (pl.col("text").str.len_bytes() <= RAW_MAX_CHARS)
        & ~pl.col("text").str.contains("Traceback (most recent call last)", literal=True)
    )
    events = events.with_row_index("_ev").with_columns(
        _key=pl.coalesce(
            pl.col("code_str"), pl.col("msg").str.slice(0, 30), pl.col("http_str"), pl.col("net")
        ),
        _short=short,
    )
    long = events.filter(~pl.col("_short"))
    if long.height:
        hits = (
            long.select("_ev", "_key", line_text=pl.col("text").str.split("\n"))
            .explode("line_text")
            .filter(pl.col("line_text").str.contains(pl.col("_key"), literal=True))
            .group_by("_ev", maintain_order=True)
            .agg(pl.col("line_text").first())
        )
        events = events.join(hits, on="_ev", how="left")
    else:
        events = events.with_columns(line_text=pl.lit(None, pl.String))
    raw = (
        pl.when(pl.col("_short"))
        .then(pl.col("text"))
        .otherwise(pl.coalesce(pl.col("line_text"), pl.col("head")))
    )
    return events.with_columns(raw=raw.str.slice(0, RAW_MAX_CHARS)).drop(
        "_ev", "_key", "_short", "line_text"
    )


def _drop_echoes(events: pl.DataFrame) -> pl.DataFrame:
    """Drop wrapper lines that repeat the previous event's error for the same request.

    Same code and msg as the event before, and at most ECHO_SECONDS later (or, when either has
    no time, at most ECHO_LINES lines later). What the echo adds (the HTTP status the
    connector prints in "Found error. status: 401, …") is kept on the event it echoes.
    """
    prev = {c: pl.col(c).shift(1) for c in ("code", "msg", "ts", "line")}
    close_in_time = (pl.col("ts") - prev["ts"]).dt.total_seconds() <= shapes.ECHO_SECONDS
    close_in_lines = (pl.col("line") - prev["line"]) <= shapes.ECHO_LINES
    timed = pl.col("ts").is_not_null() & prev["ts"].is_not_null()
    echo = (
        pl.col("echo")
        & pl.col("code").eq_missing(prev["code"])
        & pl.col("msg").eq_missing(prev["msg"])
        & pl.when(timed).then(close_in_time).otherwise(close_in_lines)
    ).fill_null(False)
    marked = events.with_columns(_drop=echo)
    marked = marked.with_columns(
        http_status=pl.when(pl.col("http_status").is_null() & pl.col("_drop").shift(-1))
        .then(pl.col("http_status").shift(-1))
        .otherwise(pl.col("http_status"))
    )
    return marked.filter(~pl.col("_drop")).drop("_drop", "echo")
