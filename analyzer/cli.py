"""The command line: click commands only — options → analyze() → renderer → output; errors → exit codes."""

from __future__ import annotations

import os
import shutil
import sys
import traceback
from collections.abc import Callable

import click

from analyzer import __version__, progress
from analyzer.budgets import Budget
from analyzer.errors import AnalyzerError, ExitCode, UsageError
from analyzer.options import Options, check_zone, normalise_symbol, parse_when
from analyzer.output import write_output
from analyzer.redact import redact_error, redact_text
from analyzer.render import Style, renderers
from analyzer.render.ci import CHECK_FORMATS
from analyzer.render.inert import escape_controls
from analyzer.render.text import plural
from analyzer.schema import Severity

_DEBUG_ENV = "BNLOG_DEBUG"


def _style(color: str, chart: bool, width: int | None, to_file: bool) -> Style:
    tty = sys.stdout.isatty() and not to_file
    if color == "always":
        use_color = True
    elif color == "never" or os.environ.get("NO_COLOR"):
        use_color = False
    else:
        use_color = tty
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns if tty else 100
    return Style(color=use_color, width=width, chart=chart)


def _parse_code(value: str) -> int:
    """The code or HTTP status: a positive number that is no HTTP status (100-599) is the
    Binance code with its minus forgotten (`--code 1021` means -1021), and a note says so."""
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"--code {value!r}: not a number (use e.g. -1021 or 429)") from None
    if number >= 600 or 0 < number < 100:
        click.echo(
            f"note: --code {number} read as -{number} (Binance codes are negative; "
            "HTTP statuses are 100-599)",
            err=True,
        )
        return -number
    return number


def _options(
    tz: str,
    since: str | None,
    until: str | None,
    symbols: tuple[str, ...],
    codes: tuple[str, ...],
    max_line_bytes: int,
    redact: bool,
    state: str | None = None,
    group_by: str = "dir",
) -> Options:
    """Options from the command line, every value checked (UsageError names the flag)."""
    ctx = click.get_current_context(silent=True)
    if state is not None:  # refused before any work: '-', or the output file
        from analyzer.state import check_path

        params = ctx.params if ctx is not None else {}
        check_path(state, params.get("output") or params.get("dest"))
    base = Options()
    zone = check_zone(tz)
    return Options(
        tz=zone,
        max_line_bytes=max_line_bytes,
        redact=redact,
        since=parse_when(since, now=base.now, tz=zone, flag="--since") if since else None,
        until=parse_when(until, now=base.now, tz=zone, flag="--until") if until else None,
        symbols=tuple(sorted({normalise_symbol(s) for s in symbols})),
        codes=tuple(sorted({_parse_code(c) for c in codes})),
        now=base.now,
        state=state,
        reset_state=bool(ctx is not None and ctx.meta.get(_RESET_STATE)),
        group_by=group_by,
        progress=progress.wanted(_progress_choice()),
    )


_PROGRESS = "bnlog.progress"


def _progress_choice() -> bool | None:
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_PROGRESS) if ctx is not None else None


def _remember_progress(ctx: click.Context, _param: click.Parameter, value: bool | None) -> None:
    ctx.meta[_PROGRESS] = value


_RESET_STATE = "bnlog.reset_state"


def _remember_reset(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta[_RESET_STATE] = value


reset_state_option = click.option(
    "--reset-state",
    is_flag=True,
    expose_value=False,
    callback=_remember_reset,
    help="Forget what the --state file says (damaged, foreign) and start over.",
)


# Options several commands take, defined once.
color_option = click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour (auto: only on a terminal; NO_COLOR is honoured).",
)
width_option = click.option(
    "--width", type=click.IntRange(40, 400), help="Wrap at this width (default: terminal)."
)
max_line_bytes_option = click.option(
    "--max-line-bytes",
    type=click.IntRange(256),
    default=64 * 1024,
    show_default=True,
    help="Longer lines are cut (and counted as skipped).",
)


code_filter_option = click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="N",
    help="Only this code or HTTP status (repeatable).",
)


def window_options(command: Callable[..., object]) -> Callable[..., object]:
    """The zone of naive times and the window of events kept: every command that reads logs."""
    for option in reversed(
        [
            click.option(
                "--tz",
                default="UTC",
                show_default=True,
                help="Zone of timestamps written without one.",
            ),
            click.option(
                "--since",
                metavar="WHEN",
                help="Only events at/after: ISO time or 90m, 24h, 7d ago.",
            ),
            click.option(
                "--until", metavar="WHEN", help="Only events before: ISO time or 90m, 24h, 7d ago."
            ),
            click.option(
                "--symbol",
                "symbols",
                multiple=True,
                metavar="SYM",
                help="Only this symbol (repeatable).",
            ),
        ]
    ):
        command = option(command)
    return command


def input_options(command: Callable[..., object]) -> Callable[..., object]:
    """The options `report`, `check` and `summary` share: where to write, and which events to
    keep."""
    options: list[Callable[[Callable[..., object]], Callable[..., object]]] = [
        click.option(
            "-o", "--output", metavar="FILE", help="Write here (atomically) instead of stdout."
        ),
        window_options,
        click.option(
            "--state",
            metavar="FILE",
            help="Read only what is new since the run that last used this state file.",
        ),
        reset_state_option,
        click.option(
            "--progress/--no-progress",
            default=None,
            expose_value=False,
            callback=_remember_progress,
            help="A progress line on stderr (default: on a terminal, off in CI and pipes).",
        ),
        click.option(
            "--group-by",
            type=click.Choice(["dir", "file", "none"]),
            default="dir",
            show_default=True,
            help="One story per bot: each directory's logs, each file, or all as one.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="bnlog")
@click.option("--debug", is_flag=True, help="Show a traceback for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Diagnose Binance.US trading-bot logs: which API errors happened, why, and what to do."""
    if debug:
        os.environ[_DEBUG_ENV] = "1"


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@color_option
@click.option("--no-chart", is_flag=True, help="Leave out the timeline chart.")
@width_option
@input_options
@code_filter_option
@max_line_bytes_option
@click.option(
    "--no-redact",
    is_flag=True,
    help="Show secrets unredacted. Local debugging only: never share the output.",
)
def report(
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    color: str,
    no_chart: bool,
    width: int | None,
    tz: str,
    since: str | None,
    until: str | None,
    symbols: tuple[str, ...],
    codes: tuple[str, ...],
    max_line_bytes: int,
    no_redact: bool,
    state: str | None,
    group_by: str,
) -> None:
    """Analyse log files, directories, globs or '-' (stdin), or an events dataset written by
    `bnlog events`, and print a diagnosis."""
    from analyzer.pipeline import run

    options = _options(
        tz, since, until, symbols, codes, max_line_bytes, not no_redact, state, group_by
    )
    done = run(list(paths), options)
    for warning in done.report.warnings:
        click.echo(f"warning: {escape_controls(warning)}", err=True)  # redacted in the report
    style = _style(color, not no_chart, width, output not in (None, "-"))
    write_output(renderers()[fmt](done.report, style), output, done.inputs, state)
    if done.checkpoint is not None:  # saved only once the output is safely written
        done.checkpoint.save()


def _parse_max(value: str) -> Budget:
    """`--max KEY=N`: at most N events of KEY."""
    from analyzer.budgets import Budget, parse_key

    key, sep, limit = value.rpartition("=")
    if not sep or not key or not limit.strip().isdigit():
        raise UsageError(f"--max {value!r}: write KEY=N with N a whole number ≥ 0 (--max -1003=5)")
    return Budget(parse_key(key, "--max"), int(limit), "--max")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default=None,
    help="Fail (exit 1) on findings of this severity or worse (default: error).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(sorted(CHECK_FORMATS)),
    default="text",
    show_default=True,
    help="text summary, GitHub annotations, JUnit XML or JSON.",
)
@input_options
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="N",
    help="Fail if any event has this code or HTTP status: --max N=0 (repeatable).",
)
@click.option(
    "--max",
    "maxima",
    multiple=True,
    metavar="KEY=N",
    help="Budget: fail above N events of a code (-1003), status (http:418), finding kind "
    "(ip_ban) or category (filter) (repeatable).",
)
@click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="KEY",
    help="Never fail on findings of this code, status, kind or category (repeatable).",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    help="Settings file (default: bnlog.toml or [tool.bnlog] in pyproject.toml, found upwards).",
)
@click.option(
    "--baseline",
    metavar="FILE",
    help="Fail only on findings new or grown since this baseline.",
)
@click.option(
    "--baseline-tolerance",
    type=click.FloatRange(0),
    metavar="PCT",
    help="How much (percent) a baseline finding may grow before it fails (default: 50).",
)
@click.option(
    "--write-baseline",
    metavar="FILE",
    help="Record today's findings as the baseline in FILE and exit 0.",
)
@click.option(
    "--allow-unreadable",
    is_flag=True,
    help="Pass even when some input could not be read (it fails the check by default).",
)
def check(
    paths: tuple[str, ...],
    fail_on: str | None,
    fmt: str,
    output: str | None,
    tz: str,
    since: str | None,
    until: str | None,
    symbols: tuple[str, ...],
    codes: tuple[str, ...],
    maxima: tuple[str, ...],
    ignored: tuple[str, ...],
    config_file: str | None,
    baseline: str | None,
    baseline_tolerance: float | None,
    write_baseline: str | None,
    state: str | None,
    group_by: str,
    allow_unreadable: bool,
) -> int:
    """Exit 1 when the logs (or an events dataset) hold findings at --fail-on or worse, or more
    events than a --max budget allows: for CI."""
    from analyzer import baseline as baselines
    from analyzer import config
    from analyzer.budgets import parse_key
    from analyzer.check import check as run_check
    from analyzer.check import code_budgets
    from analyzer.output import append_output
    from analyzer.pipeline import run
    from analyzer.render.ci import step_summary
    from analyzer.render.inert import inert

    if write_baseline is not None and baseline is not None:
        raise UsageError("--write-baseline and --baseline: write a baseline or check against one")
    if write_baseline is not None and output is not None:
        raise UsageError("--write-baseline writes the baseline, not a report: leave out -o")
    options = _options(tz, since, until, symbols, (), 64 * 1024, True, state, group_by)
    code_values = tuple(sorted({_parse_code(c) for c in codes}))
    settings = config.load(config_file)
    budgets, ignore = config.merged_budgets(
        settings,
        (*(_parse_max(m) for m in maxima), *code_budgets(code_values)),
        tuple(parse_key(k, "--ignore") for k in ignored),
    )
    baseline = baseline if baseline is not None else settings.baseline
    known = baselines.load(baseline) if baseline is not None and not write_baseline else None
    if settings.path:
        shown = escape_controls(redact_text(settings.path))
        click.echo(f"bnlog check: settings from {shown}", err=True)
    done = run(list(paths), options)
    result = run_check(
        done.report,
        Severity(fail_on or settings.fail_on or Severity.ERROR),
        code_values,
        allow_unreadable or bool(settings.allow_unreadable),
        budgets=budgets,
        ignore=ignore,
        counts=done.counts,
        baseline=known,
        baseline_file=baseline,
        tolerance=next(
            t
            for t in (baseline_tolerance, settings.baseline_tolerance, baselines.DEFAULT_TOLERANCE)
            if t is not None
        ),
        config=settings.path,
    )
    for warning in result.report.warnings:
        click.echo(f"warning: {escape_controls(warning)}", err=True)
    if write_baseline is not None:
        findings = inert(result.report).findings
        write_output(baselines.dumps(findings), write_baseline, done.inputs, state)
        if done.checkpoint is not None:
            done.checkpoint.save()
        click.echo(
            f"bnlog check: baseline written to {escape_controls(write_baseline)}: "
            f"{plural(len(baselines.entries(findings)), 'fingerprint')} "
            f"of {plural(len(findings), 'finding')}",
            err=True,
        )
        return ExitCode.OK
    write_output(CHECK_FORMATS[fmt](result), output, done.inputs, state)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary_file:
        try:
            append_output(step_summary(result, Style()), summary_file, done.inputs)
        except AnalyzerError as exc:  # the gate's answer is on stdout; the summary is extra
            click.echo(
                f"warning: $GITHUB_STEP_SUMMARY not written: {escape_controls(str(exc))}",
                err=True,
            )
    if done.checkpoint is not None:  # saved only once the output is safely written
        done.checkpoint.save()
    return ExitCode.FINDINGS if result.failed else ExitCode.OK


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv", "jsonl"]),
    default="parquet",
    show_default=True,
    help="Parquet dataset (or one .parquet file), CSV or JSON Lines.",
)
@click.option(
    "-o",
    "--output",
    "dest",
    required=True,
    metavar="DEST",
    help="Dataset directory, FILE.parquet, FILE, or '-' for stdout.",
)
@click.option("--append", is_flag=True, help="Add this run to an existing dataset as a shard.")
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset.")
@click.option("--shard", metavar="ID", help="Shard id (default: a hash of host and inputs).")
@window_options
@code_filter_option
@max_line_bytes_option
@click.option("--state", metavar="FILE", help="Export only what is new since the last run.")
@reset_state_option
@click.option("--no-redact", is_flag=True, help="Keep secrets in the export. Never share it.")
def events(
    paths: tuple[str, ...],
    fmt: str,
    dest: str,
    append: bool,
    overwrite: bool,
    shard: str | None,
    tz: str,
    since: str | None,
    until: str | None,
    symbols: tuple[str, ...],
    codes: tuple[str, ...],
    max_line_bytes: int,
    state: str | None,
    no_redact: bool,
) -> None:
    """Export the classified events (secrets redacted) as a Parquet dataset, CSV or JSON Lines."""
    from analyzer.events_io import extract_shard, input_directories, write_export

    if append and overwrite:
        raise UsageError("--append and --overwrite contradict each other (pick one)")
    options = _options(tz, since, until, symbols, codes, max_line_bytes, not no_redact, state)
    export = extract_shard(list(paths), options)
    for warning in export.shard.coverage.warnings:
        shown = redact_text(warning) if options.redact else warning  # as `report` shows it
        click.echo(f"warning: {escape_controls(shown)}", err=True)
    mode = "append" if append else "overwrite" if overwrite else "new"
    written = write_export(
        export,
        fmt,
        dest,
        mode=mode,
        shard_id=shard,
        input_dirs=input_directories(list(paths)),
        state=state,
    )
    if export.checkpoint is not None:  # saved only once the output is safely written
        export.checkpoint.save()
    if dest != "-":
        click.echo(f"bnlog events: {escape_controls(written)}", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="Output format (json: the report of the window plus a `summary` object).",
)
@click.option(
    "--quiet-if-clean",
    is_flag=True,
    help="Print nothing (exit 0) when the window is healthy: for cron, which mails any output.",
)
@color_option
@width_option
@input_options
@code_filter_option
@max_line_bytes_option
@click.option("--no-redact", is_flag=True, help="Show secrets unredacted. Never share it.")
def summary(
    paths: tuple[str, ...],
    fmt: str,
    quiet_if_clean: bool,
    color: str,
    width: int | None,
    output: str | None,
    tz: str,
    since: str | None,
    until: str | None,
    symbols: tuple[str, ...],
    state: str | None,
    group_by: str,
    codes: tuple[str, ...],
    max_line_bytes: int,
    no_redact: bool,
) -> None:
    """The cron digest: what the lines new since the last --state run hold, each finding
    marked new, ongoing or resolved, counts compared with the previous window."""
    from analyzer.pipeline import run
    from analyzer.render.summary import summary_renderers
    from analyzer.summary import summarize

    options = _options(
        tz, since, until, symbols, codes, max_line_bytes, not no_redact, state, group_by
    )
    done = run(list(paths), options)
    plan = done.checkpoint.plan if done.checkpoint is not None else None
    digest = summarize(done.report, plan, options.now)
    for warning in done.report.warnings:
        click.echo(f"warning: {escape_controls(warning)}", err=True)  # redacted in the report
    if not (quiet_if_clean and digest.clean):
        style = _style(color, False, width, output not in (None, "-"))
        write_output(summary_renderers()[fmt](digest, style), output, done.inputs, state)
    if done.checkpoint is not None:  # saved only once the output is safely written
        done.checkpoint.save()


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("query", required=False, default="")
def codes(query: str) -> None:
    """List the error table, or explain the entries matching a code or message fragment."""
    from analyzer.reference import lookup
    from analyzer.render.codes import render_codes

    entries = lookup(query)
    if not entries:
        raise UsageError(f"no entry matches {query!r} (try `bnlog codes` for the whole table)")
    click.echo(render_codes(entries, detail=bool(query)), nl=False)


def _run_cli(argv: list[str] | None) -> object:
    """Run the command; a --state lock it still holds (it failed) is released, whatever ends it."""
    try:
        return cli.main(args=argv, prog_name="bnlog", standalone_mode=False)
    finally:
        held = sys.modules.get("analyzer.state")
        if held is not None:
            held.release_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one error boundary. Exit 0 ok, 1 findings over threshold, 2 usage/input."""
    debug = os.environ.get(_DEBUG_ENV) == "1" or "--debug" in (
        argv if argv is not None else sys.argv
    )
    try:
        code = _run_cli(argv)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"Error: {escape_controls(redact_error(exc.format_message()))}", err=True)
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except AnalyzerError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {escape_controls(redact_error(str(exc)))}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(ExitCode.OK)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except OSError as exc:
        if debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(escape_controls(redact_error(f"Error: {where}{exc.strerror or exc}")), err=True)
        sys.exit(ExitCode.USAGE)
    except Exception as exc:  # the one boundary: a bug must still end in one clear line
        if debug:
            traceback.print_exc()
        click.echo(
            escape_controls(
                redact_error(
                    f"Error: internal error ({type(exc).__name__}: {exc}); "
                    "rerun with --debug and report it"
                )
            ),
            err=True,
        )
        sys.exit(ExitCode.USAGE)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
