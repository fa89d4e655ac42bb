"""Lines → one row per error event (EXTRACTED_SCHEMA), vectorised with polars, chunk by chunk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from analyzer.extract import shapes
from analyzer.extract.fields import extract_fields, parse_ts
from analyzer.extract.records import candidate_records, mark_records, split_tail
from analyzer.redact import redact_series
from analyzer.schema import EXTRACTED_SCHEMA, empty_events
from analyzer.sources import (
    CHUNK_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    Coverage,
    Source,
    prefetch,
    printable,
    read_chunks,
    to_lines,
)

RAW_MAX_CHARS = 2000
# Candidate records are gathered over chunks and extracted together: each extraction pass
# has a fixed cost, and candidates are few (a few % of lines), so batches stay small.
BATCH_RECORDS = 50_000
EVIDENCE_MAX_LINES = 8  # a record this short is kept whole as its evidence


TIME_OFFSET_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Datetime("us", "UTC"),
    "offset_ms": pl.Int64(),
}


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
    sources: list[Source],
    coverage: Coverage,
    options: ExtractOptions = ExtractOptions(),
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> Extracted:
    """Every event of every source, in input order (path order, then line)."""
    offsets: list[pl.DataFrame] = []
    events = _extract(sources, coverage, options, offsets, chunk_bytes)
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
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> pl.DataFrame:
    """The events of one file or stream; records that span chunks are carried over whole.
    Clock offsets the bot logged are appended to `offsets` when it is given."""
    return _extract(
        [source], coverage, options, offsets if offsets is not None else [], chunk_bytes
    )


# Lines as they are analysed: which source (index), the text, its line number, docker's time.
_LINES_SCHEMA: dict[str, pl.DataType] = {
    "src": pl.Int64(),
    "text": pl.String(),
    "line": pl.Int64(),
    "docker_time": pl.String(),
}


def _extract(
    sources: list[Source],
    coverage: Coverage,
    options: ExtractOptions,
    sink: list[pl.DataFrame],
    chunk_bytes: int,
) -> pl.DataFrame:
    """The events of the sources, in order. Lines are analysed in batches of about
    `chunk_bytes` (a big file a chunk at a time, many small files in one batch: each pass has
    a fixed cost that 10,000 small files must not pay 10,000 times). The last record of a batch
    may continue in the next one, so it is carried over whole."""
    names = pl.Series("path", [printable(source.name) for source in sources], pl.String)
    frames: list[pl.DataFrame] = []
    pending: list[pl.DataFrame] = []  # candidate records waiting for a batch
    pending_rows = 0
    tail = pl.DataFrame(schema=_LINES_SCHEMA)
    samples: list[tuple[str, str | None]] = []  # first and last lines of each batch: log span
    for batch in _line_batches(sources, coverage, options.max_line_bytes, chunk_bytes):
        # Copied out as Python strings: a slice of the batch would keep all of it in memory.
        for part in (batch.head(SPAN_SAMPLE_LINES), batch.tail(SPAN_SAMPLE_LINES)):
            samples.extend(part.select("text", "docker_time").iter_rows())
        frame = pl.concat([tail, batch], how="vertical") if tail.height else batch
        complete, tail_marked = split_tail(mark_records(frame))
        tail = tail_marked.select(*_LINES_SCHEMA)
        records = candidate_records(complete)
        if records.height:
            pending.append(records)
            pending_rows += records.height
        if pending_rows >= BATCH_RECORDS:
            frames.append(_events_of(pl.concat(pending), names, options, sink))
            pending, pending_rows = [], 0
    if tail.height:
        pending.append(candidate_records(mark_records(tail)))
    if pending:
        frames.append(_events_of(pl.concat(pending), names, options, sink))
    if samples:
        sample = pl.DataFrame(
            samples, schema={"text": pl.String, "docker_time": pl.String}, orient="row"
        )
        _sample_times(sample, coverage, options)
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_events(EXTRACTED_SCHEMA)
    return _drop_echoes(pl.concat(frames, how="vertical"))


SPAN_SAMPLE_LINES = 200


def _sample_times(sample: pl.DataFrame, coverage: Coverage, options: ExtractOptions) -> None:
    """The log's time span, from the first and last lines of each batch (not every line:
    parsing a time is the costly part, and log lines are in time order)."""
    ts = sample.select(
        ts=pl.coalesce(
            parse_ts(pl.col("docker_time"), options.tz), parse_ts(pl.col("text"), options.tz)
        )
    )["ts"].drop_nulls()
    if ts.len():
        coverage.saw_times(ts.min(), ts.max())  # type: ignore[arg-type]


def _line_batches(
    sources: list[Source], coverage: Coverage, max_line_bytes: int, chunk_bytes: int
) -> Iterator[pl.DataFrame]:
    """(src, text, line, docker_time) frames of whole lines, about `chunk_bytes` each, read by one
    background thread for all the sources in order."""

    def chunks() -> Iterator[tuple[int, bytes]]:
        for index, source in enumerate(sources):
            # A line is cut by --max-line-bytes (and counted), never by the read chunk.
            for chunk in read_chunks(
                source, coverage, chunk_bytes=chunk_bytes, max_line_bytes=max_line_bytes
            ):
                yield index, chunk

    def frames() -> Iterator[pl.DataFrame]:
        pending: list[tuple[int, bytes]] = []
        size = 0
        numbering = _LineNumbers([source.first_line for source in sources])
        for index, chunk in chunks():
            # End every chunk's last line, so that two files' lines never merge: a chunk then
            # holds exactly as many lines as newlines (pl.read_lines splits on "\n" only).
            pending.append((index, chunk if chunk.endswith(b"\n") else chunk + b"\n"))
            size += len(chunk)
            # A big file's chunk (cut at a newline, so a little under chunk_bytes) goes alone:
            # joining it with the next would copy both.
            if size >= chunk_bytes // 2:
                yield _lines_frame(pending, numbering, coverage, max_line_bytes)
                pending, size = [], 0
        if pending:
            yield _lines_frame(pending, numbering, coverage, max_line_bytes)

    # Reading, decompressing and splitting into lines happen in a background thread, while
    # this one marks records and extracts events (polars releases the GIL: two cores busy).
    yield from prefetch(frames())


class _LineNumbers:
    """Line numbers per source: a file starts at its first line (1, or where an earlier run
    stopped), and its next chunk continues where it ended."""

    def __init__(self, starts: list[int]) -> None:
        self.starts = starts
        self.src, self.next = -1, 1

    def first(self, src: int, n: int) -> int:
        """The number of the first of the next `n` lines of source `src`."""
        if src != self.src:
            self.src, self.next = src, self.starts[src]
        first, self.next = self.next, self.next + n
        return first


def _lines_frame(
    pending: list[tuple[int, bytes]],
    numbering: _LineNumbers,
    coverage: Coverage,
    max_line_bytes: int,
) -> pl.DataFrame:
    """One frame of the pending chunks (each ending in a newline), from one or many sources."""
    data = pending[0][1] if len(pending) == 1 else b"".join(chunk for _, chunk in pending)
    lines = to_lines(data, coverage, max_line_bytes)
    coverage.lines += lines.len()
    counts = [chunk.count(b"\n") for _, chunk in pending]
    spans = pl.DataFrame(
        {
            "src": [index for index, _ in pending],
            "first": [
                numbering.first(index, n) for (index, _), n in zip(pending, counts, strict=True)
            ],
            "n": counts,
        },
        schema={"src": pl.Int64, "first": pl.Int64, "n": pl.Int64},
    )
    numbered = spans.select(
        src=pl.col("src").repeat_by("n"), line=pl.int_ranges("first", pl.col("first") + pl.col("n"))
    ).explode("src", "line")
    frame = pl.DataFrame({"src": numbered["src"], "text": lines, "line": numbered["line"]})
    return _unwrap_docker(frame)


def extract_text(
    text: str, path: str = "<text>", options: ExtractOptions = ExtractOptions()
) -> pl.DataFrame:
    """Events of an in-memory log (tests, stdin helpers): same pipeline, one chunk."""
    coverage = Coverage()
    lines = to_lines(text.encode("utf-8"), coverage, options.max_line_bytes)
    frame = pl.DataFrame(
        {
            "src": pl.repeat(0, lines.len(), dtype=pl.Int64, eager=True),
            "text": lines,
            "line": pl.int_range(1, lines.len() + 1, eager=True),
        }
    )
    names = pl.Series("path", [printable(path)], pl.String)
    events = _events_of(candidate_records(mark_records(_unwrap_docker(frame))), names, options)
    return _drop_echoes(events) if events.height else events


def _unwrap_docker(frame: pl.DataFrame) -> pl.DataFrame:
    """docker json-file lines {"log":"…\\n","stream":…,"time":…}: keep the log text and time."""
    is_docker = pl.col("text").str.starts_with('{"log":')
    if not frame.select(is_docker.any()).item():
        return frame.with_columns(docker_time=pl.lit(None, pl.String))
    inner = (
        pl.col("text").str.json_path_match("$.log").str.strip_suffix("\n").str.strip_suffix("\r")
    )
    return frame.with_columns(
        docker_time=pl.when(is_docker).then(pl.col("text").str.json_path_match("$.time")),
        text=pl.when(is_docker & inner.is_not_null()).then(inner).otherwise(pl.col("text")),
    )


def _events_of(
    records: pl.DataFrame,
    names: pl.Series,
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
    head_ts = (
        pl.when(pl.col("head").str.starts_with("{"))
        .then(pl.col("head").str.extract(shapes.JSON_TS_PATTERN, 1))
        .otherwise(pl.col("head"))
    )
    events = events.with_columns(
        ts=pl.coalesce(parse_ts(pl.col("docker_time"), options.tz), parse_ts(head_ts, options.tz)),
        path=names.gather(events["src"]),
    )
    events = _with_evidence(events)
    if options.redact:
        events = events.with_columns(
            raw=redact_series(events["raw"]), msg=redact_series(events["msg"])
        )
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
            ts=pl.coalesce(
                parse_ts(pl.col("docker_time"), options.tz), parse_ts(pl.col("head"), options.tz)
            ),
            # An offset beyond 64 bits of milliseconds (inf, 1e33) is no clock reading: dropped.
            offset_ms=pl.coalesce(ms, seconds * 1000).round(0).cast(pl.Int64, strict=False),
        )
        .drop_nulls("offset_ms")
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
    prev = {c: pl.col(c).shift(1) for c in ("path", "code", "msg", "ts", "line")}
    close_in_time = (pl.col("ts") - prev["ts"]).dt.total_seconds() <= shapes.ECHO_SECONDS
    close_in_lines = (pl.col("line") - prev["line"]) <= shapes.ECHO_LINES
    timed = pl.col("ts").is_not_null() & prev["ts"].is_not_null()
    echo = (
        pl.col("echo")
        & (pl.col("path") == prev["path"])  # events of several files are checked at once
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
