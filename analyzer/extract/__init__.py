"""Lines → one row per error event (EXTRACTED_SCHEMA), vectorised with polars, chunk by chunk."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from analyzer.extract import patterns
from analyzer.extract.bodies import fields_by_body
from analyzer.extract.fields import times_of
from analyzer.extract.records import candidate_records, first_line, mark_records, split_tail
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
from analyzer.texts import RAW, RAW_REF, Packed, TextStore, spill, text_column, with_ties

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
    """How to read lines: the zone of naive timestamps, the longest line kept whole, the year
    of times written without one (syslog; default: this year)."""

    tz: str = "UTC"
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    redact: bool = True
    year: int | None = None


def extract_events(
    sources: list[Source],
    coverage: Coverage,
    options: ExtractOptions = ExtractOptions(),
    *,
    chunk_bytes: int = CHUNK_BYTES,
    texts: TextStore | None = None,
) -> Extracted:
    """Every event of every source, in input order (path order, then line). With `texts`,
    the events' evidence texts go into that store as they are extracted: `raw` is replaced
    by `raw_ref` and `raw_tie` (see analyzer.texts)."""
    offsets: list[pl.DataFrame] = []
    events = _extract(sources, coverage, options, offsets, chunk_bytes, texts)
    if texts is not None and RAW_REF in events.columns:
        events = with_ties(events, texts)
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
    "outer_time": pl.String(),
}


def _extract(
    sources: list[Source],
    coverage: Coverage,
    options: ExtractOptions,
    sink: list[pl.DataFrame],
    chunk_bytes: int,
    texts: TextStore | None = None,
) -> pl.DataFrame:
    """The events of the sources, in order. Lines are analysed in batches of about
    `chunk_bytes` (a big file a chunk at a time, many small files in one batch: each pass has
    a fixed cost that 10,000 small files must not pay 10,000 times). The last record of a batch
    may continue in the next one, so it is carried over whole."""
    names = pl.Series("path", [printable(source.name) for source in sources], pl.String)
    batches = _Batches(names, options, sink, texts)
    try:
        pending: list[pl.DataFrame] = []  # candidate records waiting for a batch
        pending_rows = 0
        tail = pl.DataFrame(schema=_LINES_SCHEMA)
        samples: list[tuple[str, str | None]] = []  # first and last lines of each batch: log span
        for batch in _line_batches(sources, coverage, options.max_line_bytes, chunk_bytes):
            # Copied out as Python strings: a slice of the batch would keep all of it in memory.
            # Each file's first and last lines in the batch: a batch of many small files must
            # not leave the middle ones out of the log's span.
            samples += _span_sample(batch)
            frame = pl.concat([tail, batch], how="vertical") if tail.height else batch
            complete, tail_marked = split_tail(mark_records(frame))
            tail = tail_marked.select(*_LINES_SCHEMA)
            records = candidate_records(complete)
            if records.height:
                pending.append(records)
                pending_rows += records.height
            if pending_rows >= BATCH_RECORDS:
                batches.submit(pl.concat(pending))
                pending, pending_rows = [], 0
        if tail.height:
            pending.append(candidate_records(mark_records(tail)))
        if pending:
            batches.submit(pl.concat(pending))
        frames = batches.results()
    finally:
        batches.close()
    if samples:
        sample = pl.DataFrame(
            samples, schema={"text": pl.String, "outer_time": pl.String}, orient="row"
        )
        _sample_times(sample, coverage, options)
    return _finish(frames)


SPAN_SAMPLE_LINES = 200


def _span_sample(batch: pl.DataFrame) -> list[tuple[str, str | None]]:
    """Each file's first and last SPAN_SAMPLE_LINES lines in the batch (text, outer_time)."""
    if batch.height == 0:
        return []
    src = batch.get_column("src")
    if src[0] == src[-1]:  # one file (sources come in order): no grouping needed
        parts = [batch.head(SPAN_SAMPLE_LINES), batch.tail(SPAN_SAMPLE_LINES)]
    else:
        by_file = batch.group_by("src", maintain_order=True)
        parts = [by_file.head(SPAN_SAMPLE_LINES), by_file.tail(SPAN_SAMPLE_LINES)]
    return [row for part in parts for row in part.select("text", "outer_time").iter_rows()]


# Batches of records being extracted at once, beside the thread that marks records (polars
# releases the GIL, so a storm keeps both cores busy); more in flight would only hold memory.
IN_FLIGHT = 2


class _Batches:
    """Extract batches of candidate records in worker threads; results in submission order
    (events and the clock offsets the bot logged), whatever order the workers finish in."""

    def __init__(
        self,
        names: pl.Series,
        options: ExtractOptions,
        sink: list[pl.DataFrame],
        texts: TextStore | None = None,
    ):
        self.names, self.options, self.sink, self.texts = names, options, sink, texts
        self.pool = ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="bnlog-extract")
        self.running: deque[Future[tuple[pl.DataFrame, list[pl.DataFrame], Packed | None]]] = (
            deque()
        )
        self.done: list[pl.DataFrame] = []

    def _one(self, records: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame], Packed | None]:
        offsets: list[pl.DataFrame] = []
        events = _events_of(records, self.names, self.options, offsets)
        # The texts are packed for the store here; numbered in order by the main thread.
        packed = Packed(events.get_column(RAW)) if self.texts is not None else None
        return events, offsets, packed

    def _collect_oldest(self) -> None:
        events, offsets, packed = self.running.popleft().result()
        # In order (the store numbers texts as they come), on this thread only.
        self.done.append(events if self.texts is None else spill(events, self.texts, packed))
        self.sink.extend(offsets)

    def submit(self, records: pl.DataFrame) -> None:
        """Start extracting `records`; wait for the oldest batch when IN_FLIGHT are running."""
        while len(self.running) >= IN_FLIGHT:
            self._collect_oldest()
        self.running.append(self.pool.submit(self._one, records))

    def results(self) -> list[pl.DataFrame]:
        """Every batch's events, in submission order."""
        while self.running:
            self._collect_oldest()
        return self.done

    def close(self) -> None:
        """Stop: batches not started are dropped (an error or Ctrl-C ends the run)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _sample_times(sample: pl.DataFrame, coverage: Coverage, options: ExtractOptions) -> None:
    """The log's time span, from the first and last lines of each batch (not every line:
    parsing a time is the costly part, and log lines are in time order)."""
    when = times_of(sample, [pl.col("outer_time"), pl.col("text")], options.tz, options.year)
    ts = sample.select(ts=when)["ts"].drop_nulls()
    if ts.len():
        coverage.saw_times(ts.min(), ts.max())  # type: ignore[arg-type]


def _line_batches(
    sources: list[Source], coverage: Coverage, max_line_bytes: int, chunk_bytes: int
) -> Iterator[pl.DataFrame]:
    """(src, text, line, outer_time) frames of whole lines, about `chunk_bytes` each, read by one
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
    return _unwrap_syslog(_strip_compose(_unwrap_docker(frame)))


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
    records = candidate_records(mark_records(_unwrap_syslog(_strip_compose(_unwrap_docker(frame)))))
    return _finish([_events_of(records, names, options)])


def _unwrap_docker(frame: pl.DataFrame) -> pl.DataFrame:
    """docker json-file lines {"log":"…\\n","stream":…,"time":…}: keep the log text and time."""
    is_docker = pl.col("text").str.starts_with('{"log":')
    if not frame.select(is_docker.any()).item():
        return frame.with_columns(outer_time=pl.lit(None, pl.String))
    inner = (
        pl.col("text").str.json_path_match("$.log").str.strip_suffix("\n").str.strip_suffix("\r")
    )
    return frame.with_columns(
        outer_time=pl.when(is_docker).then(pl.col("text").str.json_path_match("$.time")),
        text=pl.when(is_docker & inner.is_not_null()).then(inner).otherwise(pl.col("text")),
    )


# docker compose's output: "freqtrade  | 2024-05-03 …", "bot-1  |     at …" (service names are
# lower case; "INFO | …" is a log layout, not a service).
_COMPOSE = r"^[a-z0-9][a-z0-9_.-]*\s+\| ?"


# syslog and journalctl: "Nov 14 05:41:03 host prog[pid]: <the program's line>"
_SYSLOG = r"^(?P<t>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) [\w.-]+ [\w./@-]+(?:\[\d+\])?: ?"


def _unwrap_syslog(frame: pl.DataFrame) -> pl.DataFrame:
    """Take syslog's time and tag off each line (like docker's): a multi-line message that
    syslog split into lines folds into one record again; the time stays the line's time."""
    if not frame.select(pl.col("text").str.contains(_SYSLOG).any()).item():
        return frame
    wrapped = pl.col("text").str.contains(_SYSLOG)
    return frame.with_columns(
        outer_time=pl.when(wrapped)
        .then(pl.col("text").str.extract(_SYSLOG, 1))
        .otherwise(pl.col("outer_time")),
        text=pl.col("text").str.replace(_SYSLOG, ""),
    )


def _strip_compose(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop docker compose's service-name prefix, so that a traceback's frames are indented
    again and a record's continuation lines look as the bot wrote them."""
    if not frame.select(pl.col("text").str.contains(_COMPOSE).any()).item():
        return frame
    return frame.with_columns(pl.col("text").str.replace(_COMPOSE, ""))


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
    # Record ids restart in every chunk; a batch gathers records of many chunks: renumber.
    records = records.with_columns(rid=pl.int_range(pl.len(), dtype=pl.Int64))
    if options.redact:
        # Secrets go before anything is taken or cut from the text (messages, evidence): a cut
        # then never leaves a piece of a secret that redaction could no longer recognise.
        # Redaction keeps every line break, so line numbers stay.
        text = redact_series(records["text"])
        records = records.with_columns(text=text, head=first_line(pl.lit(text)))
    events = fields_by_body(records)
    if events.height == 0:
        return empty_events(EXTRACTED_SCHEMA)
    head_ts = (
        pl.when(pl.col("head").str.starts_with("{"))
        .then(pl.col("head").str.extract(patterns.JSON_TS_PATTERN, 1))
        .otherwise(pl.col("head"))
    )
    events = events.with_columns(
        ts=times_of(events, [pl.col("outer_time"), head_ts], options.tz, options.year),
        path=names.gather(events["src"]) if "src" in events.columns else pl.lit(names[0]),
        # The first error of a record is at the record's line; a second one at its own line.
        line=pl.when(pl.col("k") == pl.col("k").min().over("rid"))
        .then(pl.col("line"))
        .otherwise(pl.col("line") + pl.col("k")),
        clock=_clock(pl.col("head")),
        # What kind of line the record is: its first line with every token that holds a digit
        # masked (its time too). Two records of one kind are two requests (or retries).
        # (Categorical: a storm repeats one template; one copy of it instead of one per event.)
        template=pl.col("head")
        .str.replace_all(r"[\w.:/+-]*\d[\w.:/+-]*", "#")
        .cast(pl.Categorical),
    )
    events = _with_evidence(events)  # cut from text that is already redacted
    if options.redact:  # and again: unescaping a message may spell out a quoted secret
        events = events.with_columns(msg=redact_series(events["msg"]))
    return events.select(*EXTRACTED_SCHEMA.keys(), *_MERGE_COLUMNS).cast(
        {name: dtype for name, dtype in EXTRACTED_SCHEMA.items()}
    )


# Columns that only the echo merge needs; dropped before events leave extraction.
_MERGE_COLUMNS = (
    "line_end",
    "template",
    "clock",
    "method",
    "attempt",
    "wrapper",
    "fragment",
    "mult",
)


def _time_offsets(records: pl.DataFrame, options: ExtractOptions) -> pl.DataFrame:
    """(ts, offset_ms) of the clock offsets the bot logged in these records."""
    groups = pl.col("text").str.extract_groups(patterns.TIME_OFFSET_PATTERN)
    ms = groups.struct.field("ms").cast(pl.Float64, strict=False)
    seconds = groups.struct.field("s").cast(pl.Float64, strict=False)
    found = records.filter(pl.col("text").str.contains(patterns.TIME_OFFSET_PATTERN))
    if found.height == 0:
        return pl.DataFrame(schema=TIME_OFFSET_SCHEMA)
    return found.select(
        ts=times_of(found, [pl.col("outer_time"), pl.col("head")], options.tz, options.year),
        # An offset beyond 64 bits of milliseconds (inf, 1e33) is no clock reading: dropped.
        offset_ms=pl.coalesce(ms, seconds * 1000).round(0).cast(pl.Int64, strict=False),
    ).drop_nulls("offset_ms")


def _clock(head: pl.Expr) -> pl.Expr:
    """Seconds since midnight of the time near the start of a line (any layout, dated or not)."""
    parts = head.str.extract_groups(r"^[^\n]{0,40}?\b(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)")
    h, m, sec = (parts.struct.field(f).cast(pl.Int64, strict=False) for f in ("h", "m", "s"))
    return h * 3600 + m * 60 + sec


def _with_evidence(events: pl.DataFrame) -> pl.DataFrame:
    """Add `raw`: a short record whole, else the record line where the event's error is."""
    short = (
        (pl.col("text").str.count_matches("\n") < EVIDENCE_MAX_LINES)
        & (pl.col("text").str.len_bytes() <= RAW_MAX_CHARS)
        & ~pl.col("text").str.contains("Traceback (most recent call last)", literal=True)
    )
    own_line = pl.col("text").str.split("\n").list.get(pl.col("k"), null_on_oob=True)
    raw = pl.when(short).then(pl.col("text")).otherwise(pl.coalesce(own_line, pl.col("head")))
    return events.with_columns(raw=raw.str.slice(0, RAW_MAX_CHARS))


def _finish(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """All events in input order: echoes merged, repeated lines expanded, schema exact."""
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_events(EXTRACTED_SCHEMA)
    events = _merge_echoes(pl.concat(frames, how="vertical"))
    if events["mult"].max() != 1:
        rows = events.select(pl.int_range(pl.len()).repeat_by(pl.col("mult")).alias("i"))
        events = events[rows.explode("i")["i"]]
    text = text_column(events.columns)
    return events.select(text if name == RAW else name for name in EXTRACTED_SCHEMA)


def _same_kind(marked: pl.DataFrame) -> pl.Series:
    """For each row: is its template that of the row before, but for at most one word?
    ("error sync balances: …" and "error sync orders: …" are two requests of one kind.)"""
    # Equal templates (a retry loop: every row) are of one kind without splitting them into
    # words; only the rows whose templates differ are compared word by word.
    same = (pl.col("template") == pl.col("_prev")).fill_null(False)
    equal = marked.select((pl.col("_echo") & same).alias("same")).to_series()
    words = (
        marked.select(
            _i=pl.int_range(pl.len()),
            check=pl.col("_echo") & ~same,
            a=pl.col("template"),
            b=pl.col("_prev"),
        )
        .filter(pl.col("check"))
        .with_columns(
            a=pl.col("a").cast(pl.String).str.split(" "),
            b=pl.col("b").cast(pl.String).str.split(" "),
        )
        .filter(pl.col("a").list.len() == pl.col("b").list.len())
    )
    if words.height == 0:
        return equal
    differing = (
        words.explode("a", "b")
        .group_by("_i")
        .agg(d=(pl.col("a") != pl.col("b")).sum())
        .filter(pl.col("d") <= 1)["_i"]
    )
    return equal | pl.int_range(marked.height, eager=True).is_in(differing.implode())


def prev_template(n: int) -> pl.Expr:
    """The template of the event n rows up, in the same file."""
    return pl.when(pl.col("path") == pl.col("path").shift(n)).then(pl.col("template").shift(n))


# What a merged event takes from the events it merges: the first value any of them knows…
_FROM_ANY = (
    "code",
    "http_status",
    "symbol",
    "endpoint",
    "client",
    "retry_after",
    "used_weight",
    "ban_until",
)
# … and, from the one with the code, its message, shape and evidence.
_FROM_CODED = ("msg", "shape", "raw")


def _either(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Two values agree: equal, or one of them unknown."""
    return a.eq_missing(b) | a.is_null() | b.is_null()


def _merge_echoes(events: pl.DataFrame) -> pl.DataFrame:
    """One event per request: an event that repeats the error of the event before it (the
    rule is in patterns.py, ECHO_*) is merged into it, keeping what either one adds (the code
    of the JSON body, the status of the status line)."""
    prev = {c: pl.col(c).shift(1) for c in events.columns}
    msg, pmsg = pl.col("msg"), prev["msg"]
    msg_ok = (
        msg.is_null()
        | pmsg.is_null()
        | msg.str.contains(pmsg, literal=True)
        | pmsg.str.contains(msg, literal=True)
    )
    code, pcode = pl.col("code"), prev["code"]
    said = msg.is_not_null() | pmsg.is_not_null() | code.is_not_null() | pcode.is_not_null()
    same_error = (
        pl.when(code.is_not_null() & pcode.is_not_null())
        .then(code == pcode)
        .otherwise(msg_ok & (said | pl.col("http_status").is_not_null()))
    )
    timed, ptimed = pl.col("ts").is_not_null(), prev["ts"].is_not_null()
    clocked, pclocked = pl.col("clock").is_not_null(), prev["clock"].is_not_null()
    close_in_time = (
        pl.when(timed & ptimed)
        .then((pl.col("ts") - prev["ts"]).dt.total_seconds().is_between(0, patterns.ECHO_SECONDS))
        .when(clocked & pclocked)  # times of day without a date ("[12:00:02 ERR] …")
        .then((pl.col("clock") - prev["clock"]).is_between(0, patterns.ECHO_SECONDS))
        .otherwise(True)
    )
    # A retrier's attempt is followed by its bookkeeping line ("Giving up retrying: …").
    reach = (
        pl.when(pl.col("wrapper") | prev["attempt"])
        .then(patterns.WRAPPER_LINES)
        .otherwise(patterns.ECHO_LINES)
    )
    echo = (
        (pl.col("path") == prev["path"])
        & (pl.col("kind") == "api")
        & (prev["kind"] == "api")
        & (pl.col("line") > prev["line_end"])  # another record, not a second error of one
        & ~prev["fragment"]  # a traceback cut off at the start of the log echoes nothing
        & (pl.col("line") - prev["line_end"] <= reach)
        & close_in_time
        & same_error
        & _either(pl.col("http_status"), prev["http_status"])
        & _either(pl.col("symbol"), prev["symbol"])
        & _either(pl.col("endpoint"), prev["endpoint"])
        & ~(pl.col("attempt") & prev["attempt"])
        & _either(pl.col("method"), prev["method"])
    ).fill_null(False)
    marked = events.with_columns(_echo=echo, _prev=prev["template"])
    marked = marked.with_columns(_echo=pl.col("_echo") & ~_same_kind(marked))
    # A, its echo A', then another A: the third is a new request, not an echo of A'.
    echo = pl.col("_echo") & ~(
        pl.col("_echo").shift(1, fill_value=False) & pl.col("template").eq(prev_template(2))
    )
    marked = marked.with_columns(_echo=echo.fill_null(False))
    if not marked["_echo"].any():
        return events
    coded = pl.col("code").is_not_null()
    text = text_column(events.columns)
    from_coded = [text if c == RAW else c for c in _FROM_CODED]
    own = set(_FROM_ANY) | set(from_coded) | {"line_end", "mult"}
    # A group is an event and the echoes after it. Only groups of several events are merged
    # (in a storm, few are): the others stay as they are, rows and order.
    marked = marked.with_columns(_group=(~pl.col("_echo")).cum_sum())
    several = pl.col("_echo") | pl.col("_echo").shift(-1, fill_value=False)
    merged = (
        marked.filter(several)
        .group_by("_group", maintain_order=True)
        .agg(
            *(pl.col(c).first() for c in events.columns if c not in own),
            *(pl.col(c).drop_nulls().first() for c in _FROM_ANY),
            *(
                pl.coalesce(pl.col(c).filter(coded).first(), pl.col(c).drop_nulls().first())
                for c in from_coded
            ),
            line_end=pl.col("line_end").last(),
            mult=pl.col("mult").max(),
        )
    )
    # One row per group (its first event), as columns that nothing else holds: the merged
    # groups' values are then written into them in place, not into copies.
    firsts = marked.filter(~pl.col("_echo")).select(events.columns).get_columns()
    del marked
    at = merged.get_column("_group") - 1  # group n is the n-th first event
    return pl.DataFrame([column.scatter(at, merged.get_column(column.name)) for column in firsts])
