"""The one orchestrator: paths → events → classification → filters → findings → Report."""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from analyzer import progress, state
from analyzer.budgets import EventCounts
from analyzer.dataset import find_datasets, load
from analyzer.detectors import DetectContext, run_detectors
from analyzer.errors import UsageError
from analyzer.extract import Extracted, ExtractOptions, extract_events
from analyzer.options import Options
from analyzer.reference import classify
from analyzer.report import Report, build_report
from analyzer.schema import CLASSIFIED_SCHEMA, api_events
from analyzer.sources import Coverage, expand
from analyzer.texts import TextStore, using


def classified_events(paths: list[str], options: Options) -> tuple[pl.DataFrame, Coverage]:
    """Every event of the paths, classified, then filtered by the options."""
    extracted, coverage, _, _ = _extract(paths, options)
    return apply_filters(classified(extracted.events), options), coverage


def classified(events: pl.DataFrame) -> pl.DataFrame:
    """The events classified: extracted ones now, those of an events dataset as they were."""
    if all(name in events.columns for name in CLASSIFIED_SCHEMA):
        return events
    return classify(events)


@dataclass(frozen=True)
class Checkpoint:
    """What an incremental run (--state) saves once its output is safely written. The state's
    lock is held until save() or release()."""

    plan: state.Plan

    @property
    def state_path(self) -> str:
        return self.plan.path

    def save(self) -> None:
        """Record where this run stopped in every file (and its digest), then unlock."""
        self.plan.save()

    def release(self) -> None:
        """Unlock without saving (the run failed: the next one reads the same lines again)."""
        self.plan.release()


@dataclass(frozen=True)
class Run:
    """One analysis: its Report, the files it read (after glob and directory expansion; '-' is
    stdin), which --output must never replace, and with --state the checkpoint to save once the
    output is written."""

    report: Report
    inputs: tuple[str, ...]
    checkpoint: Checkpoint | None = None
    counts: EventCounts | None = None  # events per code, status and category (check budgets)


def _extract(
    paths: list[str], options: Options, texts: TextStore | None = None
) -> tuple[Extracted, Coverage, Checkpoint | None, tuple[str, ...]]:
    datasets = find_datasets(paths)  # `bnlog events` output; never mixed with logs
    if datasets:
        if options.state:
            raise UsageError("--state reads logs incrementally; it does not apply to a dataset")
        loaded = load(datasets, options.redact)
        return loaded.extracted, loaded.coverage, None, loaded.inputs
    return extract_logs(paths, options, texts)


def extract_logs(
    paths: list[str], options: Options, texts: TextStore | None = None
) -> tuple[Extracted, Coverage, Checkpoint | None, tuple[str, ...]]:
    """Read the logs: their events, coverage, the --state checkpoint, the expanded inputs.
    With `texts`, the events' evidence texts are kept in that store (see analyzer.texts)."""
    coverage = Coverage()
    checkpoint = None
    if options.state:
        plan = state.plan(paths, options, coverage)  # holds the state's lock
        sources, inputs = plan.sources, tuple(plan.inputs)
        coverage.resumed = plan.resumed
        checkpoint = Checkpoint(plan)
    else:
        sources = expand(paths, coverage)
        inputs = tuple(s.name for s in sources)
    extract_options = ExtractOptions(
        tz=options.tz, max_line_bytes=options.max_line_bytes, redact=options.redact
    )
    try:
        with progress.shown(coverage, progress.total_bytes(sources), options.progress):
            extracted = extract_events(sources, coverage, extract_options, texts=texts)
        if checkpoint is not None:
            settled = checkpoint.plan.settle(extracted.events, coverage)
            extracted = replace(extracted, events=settled)
    except BaseException:
        if checkpoint is not None:
            checkpoint.release()
        raise
    return extracted, coverage, checkpoint, inputs


def apply_filters(events: pl.DataFrame, options: Options) -> pl.DataFrame:
    """Keep events inside --since/--until and of the named symbols and codes."""
    conditions: list[pl.Expr] = []
    if options.since is not None:
        conditions.append(pl.col("ts") >= options.since)
    if options.until is not None:
        conditions.append(pl.col("ts") < options.until)
    if options.symbols:
        conditions.append(pl.col("symbol").is_in(list(options.symbols)))
    if options.codes:
        wanted = list(options.codes)
        conditions.append(pl.col("code").is_in(wanted) | pl.col("http_status").is_in(wanted))
    if not conditions:
        return events
    return events.filter(pl.all_horizontal(conditions).fill_null(False))


# --group-by: what a source (one bot's logs) is
GROUPS = ("dir", "file", "none")


def source_of(group_by: str) -> pl.Expr | None:
    """The expression naming an event's source: its file's directory (as the path was named:
    'logs/a.log' → 'logs'), its file, or nothing (one story for everything)."""
    if group_by == "file":
        return pl.col("path")
    if group_by == "dir":
        parent = pl.col("path").str.extract(r"^(.*)/[^/]*$", 1)
        return pl.when(pl.col("path") == "-").then(pl.lit("-")).otherwise(parent.fill_null("."))
    return None


def active_filters(options: Options) -> dict[str, object]:
    """The filters in force, as the report states them (empty when none)."""
    found: dict[str, object] = {}
    if options.since is not None:
        found["since"] = options.since.isoformat().replace("+00:00", "Z")
    if options.until is not None:
        found["until"] = options.until.isoformat().replace("+00:00", "Z")
    if options.symbols:
        found["symbols"] = sorted(options.symbols)
    if options.codes:
        found["codes"] = sorted(options.codes)
    return found


def analyze(paths: list[str], options: Options) -> Report:
    """The whole analysis: the Report the CLI renders and the tests compare."""
    return run(paths, options).report


def run(paths: list[str], options: Options) -> Run:
    """The analysis, the inputs it read, and (with --state) the checkpoint to save after the
    output is written."""
    # Evidence texts wait in a temporary file until the report takes the few it prints.
    with TextStore() as texts, using(texts):
        return _run(paths, options, texts)


def _run(paths: list[str], options: Options, texts: TextStore) -> Run:
    extracted, coverage, checkpoint, inputs = _extract(paths, options, texts)
    everything = classified(extracted.events)
    events = apply_filters(everything, options)
    offsets = extracted.time_offsets
    if options.since is not None or options.until is not None:
        offsets = apply_filters(
            offsets.with_columns(symbol=pl.lit(None, pl.String)),
            Options(since=options.since, until=options.until),
        ).drop("symbol")
    findings = run_detectors(
        events,
        DetectContext.from_events(events, offsets, coverage.first_ts, coverage.last_ts),
        sources=source_of(options.group_by),
    )
    filters = active_filters(options)
    report = build_report(
        events,
        coverage,
        findings,
        redacted=options.redact,
        filters=filters,
        events_before=api_events(everything).height if filters else None,
    )
    if checkpoint is not None:  # what the next run's summary compares with
        from analyzer.summary import digest_of

        checkpoint.plan.digest = digest_of(report, options.now)
    return Run(report, inputs, checkpoint, EventCounts.of(events))
