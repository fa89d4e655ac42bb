"""Speed benchmark: bnlog vs `grep -c`, a plain-Python loop and lnav on generated bot logs.

    python benchmarks/bench.py [--size 1GB] [--error-rate 10%] [--keep] [--json | --markdown]
    python benchmarks/bench.py --suite [--size 1GB] [--rows default,gzip] [--tools grep,bnlog]

Without --suite: one input, a mixed log of --size (at --error-rate). With --suite: every row
of issue 9 (default mix, 10% and 50% error lines, 5x the size, gzip, two storms), scaled to
--size. Each input is generated into benchmarks/out/ (seeded, see generate.py) unless a
matching copy is there, read once to warm the page cache, then each tool runs as a subprocess:
wall time is perf_counter around spawn..reap, peak RSS comes from GNU `/usr/bin/time -f %M`
(else polling /proc/<pid>/status VmHWM). Prints one table with bnlog's targets per row, then
the counts next to the generator's truth; count differences and missed targets are reported,
never fatal. Exit status: 0, or 1 when grep, the loop or bnlog (or the generator) fails to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# benchmarks/ is a folder of scripts, not a package: these imports need the path above.
from bench_answers import accuracy  # noqa: E402
from bench_inputs import (  # noqa: E402
    OUT_DIR,
    Check,
    Input,
    cached,
    checks,
    compress,
    generate,
    remove,
    single,
    suite,
    verdict,
)
from bench_measure import MB, Run, gnu_time, judge, log, measure, ratios, warm  # noqa: E402
from bench_table import counts_detail, counts_summary, notes, table  # noqa: E402
from generate import DEFAULT_SEED, GREP_PATTERN, parse_rate, parse_size  # noqa: E402

TOOLS = ("grep", "loop", "lnav", "bnlog")
# lnav's closest equivalent: a headless SQL group-by of the code regex over its parsed
# messages (log_body holds a message's continuation lines too). No folding, no classification.
LNAV_SQL = (
    ";SELECT regexp_match('(?:\"code\":\\s*|code=|error code: )(-?\\d+)', log_body) AS code, "
    "count(*) AS n FROM all_logs WHERE code IS NOT NULL GROUP BY code ORDER BY n DESC"
)
# Exit statuses that still mean an answer: grep 1 = no match; bnlog 1 = findings over threshold.
OK_CODES = {"grep": (0, 1), "loop": (0,), "lnav": (0,), "bnlog": (0, 1)}


def tool_runs(path: Path, gz: bool, selected: set[str], home: Path) -> dict[str, Run]:
    """The four commands for one input file, in the order they run."""
    grep_env = {**os.environ, "LC_ALL": "C"}  # byte-wise matching: grep at its fastest
    if gz:
        script = 'gzip -dc -- "$1" | grep -cE -- "$2"'
        grep = Run("grep", ["sh", "-c", script, "sh", str(path), GREP_PATTERN], grep_env)
    else:
        grep = Run(
            "grep", [shutil.which("grep") or "grep", "-cE", GREP_PATTERN, str(path)], grep_env
        )
    lnav_bin = shutil.which("lnav")
    # A fresh, empty ~/.lnav per input: no state carried between runs. The directory must
    # exist: without it lnav writes its configs/ and formats/ into the working directory.
    (home / ".config").mkdir(parents=True, exist_ok=True)
    lnav_env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    lnav_cmd = [lnav_bin or "lnav", "-n", "-c", LNAV_SQL, "-c", ":write-json-to -", str(path)]
    lnav = Run("lnav", lnav_cmd, lnav_env)
    if lnav_bin is None:
        lnav.unavailable = "not installed (Debian/Ubuntu: apt-get install lnav)"
    runs = {
        "grep": grep,
        "loop": Run("loop", [sys.executable, str(HERE / "baseline_loop.py"), str(path)]),
        "lnav": lnav,
        "bnlog": Run(
            "bnlog",
            [str(Path(sys.executable).parent / "bnlog"), "report", "--format", "json", str(path)],
        ),
    }
    for name, run in runs.items():
        if name not in selected and run.unavailable is None:
            run.unavailable = "skipped (--tools)"
    return runs


def prepare(inp: Input, seed: int, generated: set[Path]) -> tuple[Path, dict[str, Any]]:
    """The input's file and truth: cached, or generated (and, for gzip, compressed) now."""
    hit = cached(inp, seed)
    if hit is not None:
        log(f"using cached {hit[0].relative_to(HERE.parent)}")
        return hit
    source = cached(inp.source(), seed)
    if source is None:
        source = generate(inp.source(), seed)
        generated.add(source[0])
    if not inp.gzip:
        return source
    path, truth = compress(*source)
    generated.add(path)
    return path, truth


def run_row(
    inp: Input,
    path: Path,
    truth: dict[str, Any],
    ctx: dict[str, Any],
    done: dict[str, dict[str, Run]],
) -> tuple[dict[str, Any], dict[str, Run]]:
    """Warm the page cache, run the tools on one input, and judge bnlog's targets."""
    size = truth["bytes"]  # uncompressed: MB/s on the gzip row counts the log's bytes
    log(f"warming page cache ({path.stat().st_size / MB:,.0f} MB)")
    warm_s = warm(path)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        log(f"note: 1-minute load average is {load:.1f} on {os.cpu_count()} CPUs; noisy figures")
    with tempfile.TemporaryDirectory(prefix="bnlog-bench-") as tmp:
        workdir = Path(tmp)
        runs = tool_runs(path, inp.gzip, ctx["tools"], workdir / "lnav-home")
        for run in runs.values():
            measure(run, workdir, ctx["time_bin"])
        if ctx["keep"]:
            keep_dir = OUT_DIR / f"{path.name}.outputs"
            keep_dir.mkdir(parents=True, exist_ok=True)
            for f in workdir.iterdir():
                if f.is_file():
                    shutil.copy2(f, keep_dir / f.name)
    for name, run in runs.items():
        judge(run, OK_CODES[name], answer_is_json=name != "grep")
    ratios(runs, size, truth["error_events"])
    found = checks(inp, runs, done)
    row = {
        "key": inp.key,
        "title": inp.title,
        "log": str(path.relative_to(HERE.parent)),
        "gzip": inp.gzip,
        "bytes": path.stat().st_size,
        "uncompressed_bytes": size,
        "lines": truth["lines"],
        "truth_events": truth["error_events"],
        "error_line_share": truth["error_line_share"],
        "distinct_codes": truth["distinct_codes"],
        "seed": truth["seed"],
        "warm_read_s": round(warm_s, 3),
        "load_avg_1m_at_start": round(load, 2),
        "tools": [r.public() for r in runs.values()],
        "targets": {
            "text": inp.targets(),
            "checks": [asdict(c) for c in found],
            "met": _all_met(found),
            "verdict": verdict(found),
        },
        "accuracy": accuracy(truth, runs, only_diffs=ctx["suite"]),
    }
    return row, runs


def _all_met(found: list[Check]) -> bool | None:
    """False if a target was missed, None if one could not be judged, else True."""
    if any(c.met is False for c in found):
        return False
    return None if any(c.met is None for c in found) else True


def _version(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    done = subprocess.run(cmd, capture_output=True, text=True)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0] if first else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--size",
        type=parse_size,
        default=parse_size("1GB"),
        help="log size, e.g. 20MB, 1GB; with --suite the base every row scales with (default 1GB)",
    )
    ap.add_argument(
        "--error-rate",
        type=parse_rate,
        help="one row at this share of error lines, e.g. 10%% (default: the ~2%% mix)",
    )
    ap.add_argument("--suite", action="store_true", help="every row of issue 9, scaled to --size")
    ap.add_argument("--rows", help="only these suite rows, comma-separated (implies --suite)")
    ap.add_argument(
        "--tools", default=",".join(TOOLS), help=f"tools to run (default {','.join(TOOLS)})"
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep logs generated by this run and the tools' raw outputs in benchmarks/out",
    )
    out = ap.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the results as JSON")
    out.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args(argv)
    args.suite = args.suite or args.rows is not None
    if args.suite and args.error_rate is not None:
        ap.error("--error-rate is for a single row; the suite has its own rates")
    args.tool_set = set(args.tools.split(","))
    if args.tool_set - set(TOOLS):
        ap.error(f"unknown tool(s) {sorted(args.tool_set - set(TOOLS))}; pick from {TOOLS}")
    args.inputs = suite(args.size) if args.suite else [single(args.size, args.error_rate)]
    if args.rows is not None:
        keys = [k.strip() for k in args.rows.split(",") if k.strip()]
        known = [i.key for i in args.inputs]
        if not keys or set(keys) - set(known):
            ap.error(f"--rows takes some of: {','.join(known)}")
        args.inputs = [i for i in args.inputs if i.key in keys]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    inputs: list[Input] = args.inputs
    time_bin = gnu_time()
    ctx = {"tools": args.tool_set, "time_bin": time_bin, "keep": args.keep, "suite": args.suite}
    # Run a gzip row right after the row it compares with, so that row's log is still there
    # to compress; the table keeps the order.
    order = sorted(inputs, key=lambda i: 0 if i.key == "default" else 1 if i.gzip else 2)
    generated: set[Path] = set()
    done: dict[str, dict[str, Run]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for n, inp in enumerate(order):
        log(f"== {inp.key}: {inp.title}")
        path, truth = prepare(inp, args.seed, generated)
        rows[inp.key], done[inp.key] = run_row(inp, path, truth, ctx, done)
        if not args.keep:
            later_sources = {
                OUT_DIR / f"{i.stem}.log"
                for i in order[n + 1 :]
                if i.gzip and not cached(i, args.seed)
            }
            for f in sorted(generated - later_sources):
                remove(f)
                generated.discard(f)
                log(f"removed {f.name} (pass --keep to cache it for the next run)")
    if args.keep and generated:
        log(f"kept {', '.join(sorted(f.name for f in generated))} and tool outputs in {OUT_DIR}")
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "grep": _version(["grep", "-V"]),
        "lnav": _version(["lnav", "-V"]),
        "peak_rss_method": "GNU time %M" if time_bin else "/proc/<pid>/status VmHWM polling",
    }
    ordered = [rows[i.key] for i in inputs]
    if args.json:
        if args.suite:
            doc: dict[str, Any] = {"base_size": args.size, "machine": machine, "inputs": ordered}
        else:
            doc = {**ordered[0], "machine": machine}
        print(json.dumps(doc, indent=2))
    else:
        print(render(ordered, machine, args.suite, args.markdown))
    fatal = ("grep", "loop", "bnlog")
    failed = [
        t
        for r in done.values()
        for name, t in r.items()
        if name in fatal and t.available_but_failed
    ]
    return 1 if failed else 0


def render(rows: list[dict[str, Any]], machine: dict[str, Any], suite_mode: bool, md: bool) -> str:
    loads = ", ".join(f"{r['load_avg_1m_at_start']:.1f}" for r in rows)
    head = [
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}, {machine['grep']}, "
        f"{machine['lnav'] or 'no lnav'}; load at the start of each row: {loads}",
        "",
    ]
    body = [table(rows, markdown=md), ""] + notes(rows) + [""]
    if suite_mode:
        body += counts_summary(rows)
    else:
        body += counts_summary(rows) + counts_detail(rows[0])
    return "\n".join(head + body)


if __name__ == "__main__":
    sys.exit(main())
