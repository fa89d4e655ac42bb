"""Events datasets on disk: the Parquet layout `bnlog events` writes and `report`/`check` read back.

A dataset is a directory, hive-partitioned by the UTC day of each event:

    DEST/date=2024-06-11/part-<shard>.parquet       the events of one shard on that day
    DEST/date=__HIVE_DEFAULT_PARTITION__/part-<shard>.parquet   events without a time
    DEST/_bnlog/<shard>.json                         what the shard read (below); written last

A shard is what one `bnlog events` run (or one `write_shard` call) extracted. Its record in
`_bnlog/` holds what a report needs beyond the events — the coverage (files, lines, bytes,
skipped, repaired, unreadable, resumed, warnings, the log's first and last line time), the
clock offsets the bot logged, the options it was read with — and the part files with their row
counts. Every part file carries `{"schema", "shard"}` in its key-value metadata (key
`bnlog.events`). A single-file dataset (`-o FILE.parquet`, `-o -`) is one shard whose file
carries the whole record in that key instead.

Shards merge into one report: counts are summed, the log span is the earliest first and the
latest last time, warnings are kept in order shard by shard (shards in the order of their
first log's name), clock offsets are pooled. Rows are sorted by every column, path and line
first, so a dataset reads the same whatever the order its shards were written in.
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from analyzer import __version__
from analyzer.errors import InputError, OutputError, UsageError
from analyzer.extract import TIME_OFFSET_SCHEMA, Extracted
from analyzer.output import write_output
from analyzer.redact import redact_series, redact_text
from analyzer.schema import CLASSIFIED_SCHEMA, EVENT_SCHEMA
from analyzer.sources import Coverage, printable

SCHEMA_ID = "bnlog.events/1"  # changes when a dataset of this version cannot be read the same
META_KEY = "bnlog.events"  # the Parquet key-value metadata key
META_DIR = "_bnlog"  # shard records; '_' keeps Spark (and hidden-file rules) off it
DAY_COLUMN = "date"  # the hive partition key
NO_DAY = "__HIVE_DEFAULT_PARTITION__"  # events without a time: DuckDB, Spark, polars read null
REQUIRED = ("ts", "path", "line", "kind")  # without these no report can be made
PARQUET_MAGIC = b"PAR1"
_SHARD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PART = re.compile(r"^date=[^/\\]+/part-[A-Za-z0-9._-]+\.parquet$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Shard:
    """What one extraction found and what a report needs besides the events."""

    events: pl.DataFrame  # classified (filtered when `filters`), any columns of EVENT_SCHEMA
    time_offsets: pl.DataFrame  # TIME_OFFSET_SCHEMA
    coverage: Coverage
    paths: tuple[str, ...]  # the logs read, as named (after glob and directory expansion)
    tz: str = "UTC"
    max_line_bytes: int = 0
    redacted: bool = True
    filters: dict[str, object] = field(default_factory=dict)

    def record(self, shard_id: str) -> dict[str, object]:
        """The shard's record (JSON-ready), without its part files."""
        cov = self.coverage
        warnings = [redact_text(w) for w in cov.warnings] if self.redacted else cov.warnings
        paths = [redact_text(p) for p in self.paths] if self.redacted else list(self.paths)
        return {
            "schema": SCHEMA_ID,
            "shard": shard_id,
            "bnlog": __version__,
            "paths": paths,
            "options": {
                "tz": self.tz,
                "max_line_bytes": self.max_line_bytes,
                "redact": self.redacted,
                "filters": self.filters,
            },
            "coverage": {
                "files": cov.files,
                "lines": cov.lines,
                "bytes": cov.bytes,
                "skipped_lines": cov.skipped_lines,
                "repaired_lines": cov.repaired_lines,
                "resumed": cov.resumed,
                "unreadable": cov.unreadable,
                "warnings": list(warnings),
                "first_ts": _micros(cov.first_ts),
                "last_ts": _micros(cov.last_ts),
            },
            "time_offsets": [
                list(row)
                for row in self.time_offsets.select(
                    pl.col("ts").dt.epoch("us"), pl.col("offset_ms")
                ).iter_rows()
            ],
            "rows": self.events.height,
        }


def check_shard_id(shard_id: str) -> str:
    """The shard id if it can name a file everywhere; else a UsageError."""
    if not _SHARD_ID.match(shard_id):
        raise UsageError(
            f"--shard {shard_id!r}: use 1-64 letters, digits, '.', '_' or '-' "
            "(not starting with '.', '_' or '-')"
        )
    return shard_id


def sorted_events(events: pl.DataFrame) -> pl.DataFrame:
    """Rows in a stable order: path, line, then every other column (ties are identical rows)."""
    first = [c for c in ("path", "line") if c in events.columns]
    keys = first + [c for c in events.columns if c not in first]
    return events.sort(keys, nulls_last=True, maintain_order=True) if keys else events


# --- finding datasets among the inputs ------------------------------------------------------


def is_dataset(name: str) -> bool:
    """A Parquet file (by its first bytes) or a directory holding `_bnlog/`."""
    if name == "-":
        return False
    try:
        info = os.stat(name)
    except (OSError, ValueError):
        return False
    if stat.S_ISDIR(info.st_mode):
        return os.path.isdir(os.path.join(name, META_DIR))
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device is never read ahead of its reader
        return False
    try:
        with open(name, "rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def find_datasets(paths: Iterable[str]) -> list[str]:
    """The inputs that are events datasets (globs expanded). Datasets and logs do not mix in one
    run: a UsageError says so."""
    datasets: list[str] = []
    logs: list[str] = []
    for raw in paths:
        names = [raw]
        if any(ch in raw for ch in "*?[") and not os.path.lexists(raw):
            names = sorted(glob.glob(raw, recursive=True)) or [raw]
        for name in names:
            (datasets if is_dataset(name) else logs).append(name)
    if datasets and logs:
        raise UsageError(
            f"{printable(datasets[0])} is an events dataset and {printable(logs[0])} is not: "
            "read logs and datasets in separate runs (or add the logs to the dataset with "
            "`bnlog events LOGS -o DATASET --append`)"
        )
    return datasets


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """Datasets read back: the events and offsets, the merged coverage, the files read."""

    extracted: Extracted
    coverage: Coverage
    inputs: tuple[str, ...]  # the Parquet and record files read: no output may replace them
    paths: tuple[str, ...]  # the logs the shards were extracted from
    shards: int


def load(datasets: list[str], redact: bool = True) -> Loaded:
    """Read every shard of the datasets and merge them as one extraction would have found them.
    A shard written without redaction is redacted as it is read when `redact`."""
    shards: list[_ReadShard] = []
    orphans: list[str] = []
    for name in datasets:
        if os.path.isdir(name):
            found, stray = _read_directory(name)
            shards.extend(found)
            orphans.extend(stray)
        else:
            shards.append(_read_file(name))
    seen: set[str] = set()
    for shard in shards:
        if shard.shard_id in seen:
            raise InputError(
                f"{printable(shard.where)}: shard {shard.shard_id} is read twice "
                "(the same dataset named twice?)"
            )
        seen.add(shard.shard_id)
    shards.sort(key=lambda s: (s.paths[:1], s.shard_id))
    coverage = _merge_coverage(shards, orphans)
    frames = [_redacted(s.events) if redact and not s.redacted else s.events for s in shards]
    events = sorted_events(_align(frames))
    offsets = pl.concat([s.time_offsets for s in shards], how="vertical").sort(
        ["ts", "offset_ms"], nulls_last=True
    )
    inputs = tuple(name for s in shards for name in s.files)
    paths = tuple(p for s in shards for p in s.paths)
    return Loaded(Extracted(events, offsets), coverage, inputs, paths, len(shards))


@dataclass(frozen=True)
class _ReadShard:
    shard_id: str
    where: str  # the file holding its record
    files: tuple[str, ...]
    paths: tuple[str, ...]
    events: pl.DataFrame
    time_offsets: pl.DataFrame
    coverage: Coverage
    redacted: bool
    filters: dict[str, object]


def _read_file(name: str) -> _ReadShard:
    """A single-file dataset: one shard, its record in the file's metadata."""
    data = _read_bytes(name)
    meta = _file_meta(name, data)
    if "coverage" not in meta:
        parent = os.path.dirname(os.path.dirname(os.path.abspath(name)))
        raise InputError(
            f"{printable(name)}: one part of the events dataset {printable(parent)}; "
            "name the dataset directory instead"
        )
    record = _record(name, meta)
    events = _events_of(name, data)
    _check_rows(name, events.height, record.get("rows"))
    return _shard(name, (name,), record, [events])


def _read_directory(top: str) -> tuple[list[_ReadShard], list[str]]:
    """Every shard recorded in DIR/_bnlog, and the part files no record names (not read)."""
    records = sorted(glob.glob(os.path.join(glob.escape(top), META_DIR, "*.json")))
    if not records:
        raise InputError(
            f"{printable(top)}: an events dataset with no shard in {META_DIR}/ "
            "(nothing was written to it, or its writes were interrupted)"
        )
    shards: list[_ReadShard] = []
    listed: set[str] = set()
    for where in records:
        try:
            record = json.loads(_read_bytes(where))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{printable(where)}: not a bnlog shard record ({exc})") from None
        if not isinstance(record, dict):
            raise InputError(f"{printable(where)}: not a bnlog shard record")
        record = _record(where, record)
        parts = record.get("parts")
        if not isinstance(parts, dict) or not all(
            isinstance(k, str) and _PART.match(k) and isinstance(v, int) for k, v in parts.items()
        ):
            raise InputError(f"{printable(where)}: its list of part files is damaged")
        frames = []
        files = [where]
        for rel, rows in sorted(parts.items()):
            path = os.path.join(top, rel)
            if not os.path.isfile(path):
                raise InputError(
                    f"{printable(path)}: missing (shard {record['shard']} is incomplete: "
                    "write it again with `bnlog events … --append`)"
                )
            data = _read_bytes(path)
            meta = _file_meta(path, data)
            if meta.get("shard") != record["shard"]:
                raise InputError(
                    f"{printable(path)}: belongs to shard {meta.get('shard')!r}, "
                    f"not {record['shard']!r} (an interrupted write? write the shard again)"
                )
            frame = _events_of(path, data)
            _check_rows(path, frame.height, rows)
            frames.append(frame)
            files.append(path)
            listed.add(os.path.normpath(path))
        shards.append(_shard(where, tuple(files), record, frames))
    parts_on_disk = glob.glob(os.path.join(glob.escape(top), "date=*", "part-*.parquet"))
    stray = sorted(p for p in parts_on_disk if os.path.normpath(p) not in listed)
    return shards, stray


def _shard(
    where: str, files: tuple[str, ...], record: dict[str, object], frames: list[pl.DataFrame]
) -> _ReadShard:
    cov = record["coverage"]
    options = record["options"]
    assert isinstance(cov, dict) and isinstance(options, dict)  # checked by _record
    offsets = record["time_offsets"]
    assert isinstance(offsets, list)
    coverage = Coverage(
        files=cov["files"],
        lines=cov["lines"],
        bytes=cov["bytes"],
        skipped_lines=cov["skipped_lines"],
        repaired_lines=cov["repaired_lines"],
        warnings=list(cov["warnings"]),
        resumed=cov["resumed"],
        unreadable=cov["unreadable"],
        first_ts=_datetime(cov["first_ts"]),
        last_ts=_datetime(cov["last_ts"]),
    )
    time_offsets = pl.DataFrame(
        offsets, schema={"ts": pl.Int64, "offset_ms": pl.Int64}, orient="row"
    ).with_columns(pl.from_epoch("ts", time_unit="us").dt.replace_time_zone("UTC"))
    paths = record["paths"]
    assert isinstance(paths, list)
    return _ReadShard(
        shard_id=str(record["shard"]),
        where=where,
        files=files,
        paths=tuple(paths),
        events=_align(frames) if frames else pl.DataFrame(schema=EVENT_SCHEMA),
        time_offsets=time_offsets.cast(TIME_OFFSET_SCHEMA),  # type: ignore[arg-type]
        coverage=coverage,
        redacted=bool(options["redact"]),
        filters=dict(options["filters"]),
    )


def _read_bytes(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise InputError(f"{printable(name)}: {exc.strerror or exc}") from None


def _file_meta(name: str, data: bytes) -> dict[str, object]:
    """The bnlog metadata of a Parquet file: a dict with the schema id checked."""
    try:
        kv = pl.read_parquet_metadata(data)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{printable(name)}: not a readable Parquet file ({reason})") from None
    if META_KEY not in kv:
        raise InputError(
            f"{printable(name)}: a Parquet file that is not a bnlog events dataset "
            "(write one with `bnlog events LOGS -o DEST`)"
        )
    try:
        meta = json.loads(kv[META_KEY])
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict):
        raise InputError(f"{printable(name)}: its bnlog metadata is damaged")
    _check_schema(name, meta)
    return meta


def _check_schema(name: str, meta: dict[str, object]) -> None:
    if meta.get("schema") != SCHEMA_ID:
        raise InputError(
            f"{printable(name)}: events schema {meta.get('schema')!r}, but this bnlog reads "
            f"{SCHEMA_ID!r} (export the logs again with this bnlog)"
        )
    shard = meta.get("shard")
    if not isinstance(shard, str) or not _SHARD_ID.match(shard):
        raise InputError(f"{printable(name)}: its bnlog metadata names no valid shard")


_COVERAGE_INTS = ("files", "lines", "bytes", "skipped_lines", "repaired_lines", "resumed")


def _record(name: str, record: dict[str, object]) -> dict[str, object]:
    """A shard record with every field the report needs, of the right type; else InputError."""
    _check_schema(name, record)
    cov = record.get("coverage")
    options = record.get("options")
    offsets = record.get("time_offsets")
    paths = record.get("paths")

    def whole(value: object, nullable: bool = False) -> bool:
        return (value is None and nullable) or (
            isinstance(value, int) and not isinstance(value, bool)
        )

    ok = (
        isinstance(cov, dict)
        and all(whole(cov.get(k)) for k in (*_COVERAGE_INTS, "unreadable"))
        and whole(cov.get("first_ts"), True)
        and whole(cov.get("last_ts"), True)
        and isinstance(cov.get("warnings"), list)
        and all(isinstance(w, str) for w in cov["warnings"])
        and isinstance(options, dict)
        and isinstance(options.get("redact"), bool)
        and isinstance(options.get("filters"), dict)
        and isinstance(offsets, list)
        and all(
            isinstance(row, list) and len(row) == 2 and whole(row[0], True) and whole(row[1])
            for row in offsets
        )
        and isinstance(paths, list)
        and all(isinstance(p, str) for p in paths)
    )
    if not ok:
        raise InputError(f"{printable(name)}: its bnlog shard record is damaged or incomplete")
    return record


def _events_of(name: str, data: bytes) -> pl.DataFrame:
    """The events of one Parquet file, checked against the events schema."""
    try:
        frame = pl.read_parquet(io.BytesIO(data), hive_partitioning=False)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{printable(name)}: not a readable Parquet file ({reason})") from None
    for column, dtype in frame.schema.items():
        expected = EVENT_SCHEMA.get(column)
        if expected is not None and dtype != expected:
            raise InputError(
                f"{printable(name)}: column {column!r} is {dtype}, the events schema "
                f"says {expected} (not a dataset this bnlog can read)"
            )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"{printable(name)}: no column {missing[0]!r} (not a bnlog events dataset)"
        )
    return frame


def _check_rows(name: str, found: int, recorded: object) -> None:
    if recorded != found:
        raise InputError(
            f"{printable(name)}: {found} rows where its shard record says {recorded} "
            "(an interrupted write? write the shard again)"
        )


def _align(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One frame of the schema's columns, in the schema's order (a column a writer left out is
    null); columns the schema does not know follow. Without every classification column, none
    is kept: the pipeline classifies the events again."""
    classified = all(all(c in f.columns for c in CLASSIFIED_SCHEMA) for f in frames)
    known = {
        name: dtype
        for name, dtype in EVENT_SCHEMA.items()
        if classified or name not in CLASSIFIED_SCHEMA
    }
    extra: list[str] = []
    for frame in frames:
        extra.extend(c for c in frame.columns if c not in EVENT_SCHEMA and c not in extra)
    aligned = [
        frame.select(
            *(
                pl.col(c) if c in frame.columns else pl.lit(None, dtype).alias(c)
                for c, dtype in known.items()
            ),
            *(pl.col(c) for c in extra if c in frame.columns),
        )
        for frame in frames
    ]
    return pl.concat(aligned, how="diagonal_relaxed")


def _redacted(events: pl.DataFrame) -> pl.DataFrame:
    """A shard written with --no-redact, read by a redacting run: its texts redacted now."""
    texts = [c for c in ("msg", "raw") if c in events.columns]
    return events.with_columns(redact_series(events[c]).alias(c) for c in texts)


def _merge_coverage(shards: list[_ReadShard], orphans: list[str]) -> Coverage:
    """One coverage for all shards: counts summed, the widest span, warnings in shard order."""
    merged = Coverage()
    owners: dict[str, list[str]] = {}
    for shard in shards:
        cov = shard.coverage
        merged.files += cov.files
        merged.lines += cov.lines
        merged.bytes += cov.bytes
        merged.skipped_lines += cov.skipped_lines
        merged.repaired_lines += cov.repaired_lines
        merged.resumed += cov.resumed
        merged.unreadable += cov.unreadable
        merged.warnings.extend(cov.warnings)
        merged.saw_times(cov.first_ts, cov.last_ts)
        for path in dict.fromkeys(shard.paths):
            owners.setdefault(path, []).append(shard.shard_id)
        if shard.filters:
            shown = json.dumps(shard.filters, sort_keys=True)
            merged.warn(
                f"{shard.where}: shard {shard.shard_id} was exported with filters {shown}; "
                "events outside them are not in it"
            )
    for path, ids in owners.items():
        if len(ids) > 1 and path != "-":
            merged.warn(
                f"{path}: read by {len(ids)} shards ({', '.join(ids)}); its events are "
                "counted once per shard"
            )
    for orphan in orphans:
        merged.warn(
            f"{orphan}: no shard record in {META_DIR}/ names it (an interrupted write?); not read"
        )
    return merged


def _micros(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _MICROSECOND


def _datetime(value: object) -> datetime | None:
    return None if not isinstance(value, int) else _EPOCH + value * _MICROSECOND


# --- writing ------------------------------------------------------------------------------


def parquet_bytes(events: pl.DataFrame, meta: Mapping[str, object]) -> bytes:
    """The events as one Parquet file carrying `meta` under META_KEY."""
    buffer = io.BytesIO()
    events.write_parquet(
        buffer, compression="zstd", metadata={META_KEY: json.dumps(meta, sort_keys=True)}
    )
    return buffer.getvalue()


def day_partitions(events: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
    """(day, events of that UTC day) in day order; events without a time under NO_DAY."""
    if events.height == 0:
        return
    day = pl.col("ts").dt.strftime("%Y-%m-%d").fill_null(NO_DAY).alias("_day")
    parts = events.with_columns(day).partition_by("_day", as_dict=True, maintain_order=True)
    for (value,), part in sorted(parts.items(), key=lambda item: str(item[0][0])):
        yield str(value), part.drop("_day")


def write_file(
    shard: Shard, shard_id: str, output: str, inputs: Iterable[str], state: str | None
) -> None:
    """A single-file dataset: FILE.parquet replaced atomically (never an input), or '-'."""
    data = parquet_bytes(shard.events, shard.record(shard_id))
    write_bytes(data, output, inputs, state)


def write_bytes(data: bytes, output: str, inputs: Iterable[str], state: str | None) -> None:
    """A Parquet file to stdout ('-', never a terminal) or to a file, by `write_output`'s rules."""
    if output == "-" and sys.stdout.isatty():
        raise OutputError("refusing to write Parquet to a terminal (redirect it, or use -f jsonl)")
    write_output(data, output, inputs, state)


MODES = ("new", "append", "overwrite")


def write_directory(
    shard: Shard,
    shard_id: str,
    dest: str,
    *,
    mode: str = "new",
    inputs: Iterable[str] = (),
    input_dirs: Iterable[str] = (),
) -> dict[str, int]:
    """Write the shard into the dataset directory DEST; return its part files and row counts.

    `mode` "new": DEST must not exist, or be empty; "append": DEST may already be a dataset,
    and a shard of the same id is replaced; "overwrite": every shard DEST holds is removed
    first. A DEST that is a file, a non-empty directory that is no dataset, holds one of the
    run's input files, or lies inside a directory the run read is refused (OutputError)."""
    _refuse_dest(dest, mode, inputs, input_dirs)
    records = os.path.join(dest, META_DIR)
    try:
        if mode == "overwrite":
            _clear(dest)
        # The record directory first: a concurrent writer then sees a dataset, never a
        # directory of unknown files.
        os.makedirs(records, exist_ok=True)
        record_path = os.path.join(records, f"{shard_id}.json")
        old = _old_parts(record_path)
        meta = {"schema": SCHEMA_ID, "shard": shard_id}
        parts: dict[str, int] = {}
        for day, frame in day_partitions(shard.events):
            rel = f"{DAY_COLUMN}={day}/part-{shard_id}.parquet"
            os.makedirs(os.path.join(dest, f"{DAY_COLUMN}={day}"), exist_ok=True)
            _atomic_write(os.path.join(dest, rel), parquet_bytes(frame, meta))
            parts[rel] = frame.height
        record = {**shard.record(shard_id), "parts": parts}
        _atomic_write(record_path, (json.dumps(record, sort_keys=True) + "\n").encode())
        for rel in sorted(set(old) - set(parts)):  # days the shard had before and has no more
            _remove_part(dest, rel, prune=False)  # a concurrent writer may be filling that day
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) else dest
        raise OutputError(
            f"{printable(where)}: cannot write the dataset ({exc.strerror or exc})"
        ) from None
    return parts


def _refuse_dest(dest: str, mode: str, inputs: Iterable[str], input_dirs: Iterable[str]) -> None:
    if mode not in MODES:
        raise UsageError(f"unknown dataset mode {mode!r} (one of {', '.join(MODES)})")
    real = os.path.realpath(dest)
    for directory in input_dirs:
        top = os.path.realpath(directory)
        if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
            raise OutputError(
                f"{printable(dest)}: inside the input directory {printable(directory)} "
                "(the next run would read the dataset as logs); choose another -o"
            )
    for name in inputs:
        if name != "-" and os.path.realpath(name).startswith(real.rstrip(os.sep) + os.sep):
            raise OutputError(
                f"{printable(dest)}: holds {printable(name)}, an input of this run; "
                "choose another -o"
            )
    try:
        info = os.stat(dest)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise OutputError(f"{printable(dest)}: cannot write ({exc})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(
            f"{printable(dest)}: not a directory (a Parquet dataset is a directory; "
            "name a new one, or a FILE.parquet for a single file)"
        )
    try:
        entries = os.listdir(dest)
    except OSError as exc:
        raise OutputError(f"{printable(dest)}: cannot list ({exc.strerror or exc})") from None
    if not entries:
        return
    if META_DIR not in entries or not os.path.isdir(os.path.join(dest, META_DIR)):
        raise OutputError(
            f"{printable(dest)}: a directory with other files, not a bnlog events dataset; "
            "name a new or empty directory"
        )
    if mode == "new":
        raise OutputError(
            f"{printable(dest)}: already an events dataset (--append adds this run as a "
            "shard, --overwrite replaces the whole dataset)"
        )


def _old_parts(record_path: str) -> dict[str, int]:
    """The part files an earlier write of this shard recorded (none when unreadable)."""
    try:
        record = json.loads(Path(record_path).read_bytes())
    except (OSError, ValueError):
        return {}
    parts = record.get("parts") if isinstance(record, dict) else None
    if not isinstance(parts, dict):
        return {}
    return {k: v for k, v in parts.items() if isinstance(k, str) and _PART.match(k)}


def _clear(dest: str) -> None:
    """Remove what bnlog wrote in DEST (records, part files, emptied day directories)."""
    for record in glob.glob(os.path.join(glob.escape(dest), META_DIR, "*.json")):
        os.unlink(record)
    for part in glob.glob(os.path.join(glob.escape(dest), "date=*", "part-*.parquet")):
        _remove_part(dest, os.path.relpath(part, dest), prune=True)


def _remove_part(dest: str, rel: str, *, prune: bool) -> None:
    """Remove a part file; with `prune`, its day directory too when nothing else is left."""
    path = os.path.join(dest, rel)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    if prune:
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass


def _atomic_write(path: str, data: bytes) -> None:
    """A temporary file beside `path` (hidden: no reader globs it), then renamed over it."""
    tmp = os.path.join(os.path.dirname(path), f".bnlog-{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
