"""`bnlog events`: the classified events table exported as a Parquet dataset, CSV or JSON Lines,
and `write_shard`, the same export as a Python call (one task of a distributed extraction).

Parquet goes to a hive dataset directory (see analyzer.dataset), or to one FILE.parquet, or to
stdout with `-o -`; CSV and JSON Lines go to a file or stdout. Rows are sorted by path, line and
then every other column, so the same logs always give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass

import polars as pl

from analyzer.dataset import (
    META_DIR,
    Shard,
    check_shard_id,
    find_datasets,
    load,
    sorted_events,
    write_directory,
    write_file,
)
from analyzer.errors import OutputError, UsageError
from analyzer.options import Options
from analyzer.output import write_output
from analyzer.pipeline import Checkpoint, active_filters, apply_filters, classified, extract_logs
from analyzer.redact import redact_column
from analyzer.sources import printable

FORMATS = ("parquet", "csv", "jsonl")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"  # times in CSV and JSON Lines: UTC, microseconds


@dataclass(frozen=True)
class Export:
    """One extraction ready to be written: the shard, the inputs no output may replace, and
    with --state the checkpoint to save once it is written."""

    shard: Shard
    inputs: tuple[str, ...]
    checkpoint: Checkpoint | None = None


def extract_shard(paths: list[str], options: Options) -> Export:
    """The classified events of the paths (logs, or events datasets), filtered by the options,
    sorted, with the coverage and clock offsets a report needs."""
    datasets = find_datasets(paths)
    if datasets:
        if options.state:
            raise UsageError("--state reads logs incrementally; it does not apply to a dataset")
        loaded = load(datasets, options.redact)
        extracted, coverage, checkpoint = loaded.extracted, loaded.coverage, None
        inputs, logs = loaded.inputs, loaded.paths
    else:
        extracted, coverage, checkpoint, inputs = extract_logs(paths, options)
        logs = inputs
    events = apply_filters(classified(extracted.events), options)
    if options.redact:  # a file or directory name may hold a key (`bots/apikey=…/bot.log`)
        events = redact_column(events, "path")
    events = sorted_events(events)
    shard = Shard(
        events=events,
        time_offsets=extracted.time_offsets,
        coverage=coverage,
        paths=logs,
        tz=options.tz,
        max_line_bytes=options.max_line_bytes,
        redacted=options.redact,
        filters=active_filters(options),
    )
    return Export(shard, inputs, checkpoint)


def default_shard_id(inputs: tuple[str, ...]) -> str:
    """This machine and these inputs: the same run again replaces its own shard; another
    machine's or other files' shard sits beside it. Stdin is new every time."""
    digest = hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape"))
    for name in sorted(os.path.realpath(n) if n != "-" else "-" for n in inputs):
        digest.update(b"\0" + name.encode("utf-8", "surrogateescape"))
    if "-" in inputs:
        digest.update(os.urandom(16))
    return digest.hexdigest()[:16]


def input_directories(paths: list[str]) -> list[str]:
    """The directories among the named paths: a dataset written inside one is refused."""
    return [p for p in paths if p != "-" and os.path.isdir(p)]


def write_export(
    export: Export,
    fmt: str,
    dest: str,
    *,
    mode: str = "new",
    shard_id: str | None = None,
    input_dirs: list[str] | None = None,
    state: str | None = None,
) -> str:
    """Write the export to DEST in the format; return what was written, for a note on stderr."""
    if fmt not in FORMATS:
        raise UsageError(f"-f {fmt!r}: one of {', '.join(FORMATS)}")
    single = (
        dest == "-"
        or fmt != "parquet"
        or (dest.lower().endswith(".parquet") and not os.path.isdir(dest))
    )
    if single and mode != "new":
        raise UsageError(
            f"--{mode} applies to a Parquet dataset directory, not to {'stdout' if dest == '-' else dest}"
        )
    if dest != "-":
        _refuse_inside_dataset(dest)
    shard_id = check_shard_id(shard_id) if shard_id else default_shard_id(export.inputs)
    rows = export.shard.events.height
    if fmt == "parquet" and single:
        write_file(export.shard, shard_id, dest, export.inputs, state)
        return f"{rows} events to {dest} (shard {shard_id})"
    if fmt == "parquet":
        parts = write_directory(
            export.shard,
            shard_id,
            dest,
            mode=mode,
            inputs=export.inputs,
            input_dirs=input_dirs or [],
        )
        days = len(parts)
        return (
            f"{rows} events to {dest} (shard {shard_id}, {days} "
            f"{'partition' if days == 1 else 'partitions'})"
        )
    write_output(table_text(export.shard.events, fmt), dest, export.inputs, state)
    return f"{rows} events to {dest}"


def _refuse_inside_dataset(dest: str) -> None:
    """A single file is not written into a dataset directory (over a part file, among the
    records): the dataset would no longer read back."""
    parent = os.path.dirname(os.path.abspath(dest))
    for directory in (parent, os.path.dirname(parent)):
        if os.path.isdir(os.path.join(directory, META_DIR)):
            raise OutputError(
                f"{printable(dest)}: inside the events dataset {printable(directory)} "
                "(add to a dataset with `-o DATASET --append`); choose another -o"
            )


def table_text(events: pl.DataFrame, fmt: str) -> str:
    """The events as CSV (a header line, then one line per event) or JSON Lines; times are
    ISO-8601 UTC strings ending in Z."""
    times = [name for name, dtype in events.schema.items() if isinstance(dtype, pl.Datetime)]
    frame = events.with_columns(pl.col(times).dt.strftime(TIME_FORMAT)) if times else events
    return frame.write_csv() if fmt == "csv" else frame.write_ndjson()


def write_shard(
    paths: list[str],
    dest: str,
    options: Options | None = None,
    *,
    shard: str | None = None,
) -> str:
    """Extract the paths and add them to the dataset directory DEST as one shard (created if
    need be; a shard of the same id is replaced). Returns the shard id. Safe to call from many
    processes or threads at once, each with its own paths: the distributed recipe's task."""
    options = options or Options()
    export = extract_shard(paths, options)
    shard_id = check_shard_id(shard) if shard else default_shard_id(export.inputs)
    write_directory(
        export.shard,
        shard_id,
        dest,
        mode="append",
        inputs=export.inputs,
        input_dirs=input_directories(paths),
    )
    if export.checkpoint is not None:
        export.checkpoint.save()
    return shard_id
