"""Speed benchmark: bnlog vs `grep -c` vs a plain-Python loop on one large generated log.

    python benchmarks/bench.py [--size 1GB] [--keep] [--json]

Generates benchmarks/out/bench-<size>.log (seeded, see generate.py) unless a matching copy is
already there, reads it once to warm the page cache, then runs each tool as a subprocess and
measures wall time (perf_counter around spawn..reap) and peak RSS (GNU `/usr/bin/time -f %M`
when installed, else polling /proc/<pid>/status VmHWM). Prints a table and checks the
counts against the generator's truth file; count differences are reported, never fatal.
Exit status: 0, or 1 when a tool (or the generator) fails to run.
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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)
    GENERATOR_VERSION,
    GREP_PATTERN,
    parse_size,
    size_label,
    truth_path,
)

OUT_DIR = HERE / "out"
MB = 1 << 20


@dataclass
class Run:
    """One tool's measured run."""

    name: str
    cmd: list[str]
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    returncode: int | None = None
    ok: bool = False
    mb_per_s: float = 0.0
    time_vs_grep: float | None = None
    time_vs_loop: float | None = None
    error: str | None = None
    stdout: str = field(default="", repr=False)
    stderr_tail: str = field(default="", repr=False)


def log(msg: str) -> None:
    """Progress goes to stderr so --json output stays clean."""
    print(msg, file=sys.stderr, flush=True)


def ensure_log(size: int, seed: int | None) -> tuple[Path, dict[str, Any], bool]:
    """The cached log for `size` (generated if missing or stale) and its truth; True if new."""
    path = OUT_DIR / f"bench-{size_label(size)}.log"
    tpath = truth_path(path)
    if path.exists() and tpath.exists():
        truth = json.loads(tpath.read_text(encoding="utf-8"))
        fresh = (
            truth.get("generator_version") == GENERATOR_VERSION
            and truth.get("size_requested") == size
            and (seed is None or truth.get("seed") == seed)
            and truth.get("bytes") == path.stat().st_size
        )
        if fresh:
            log(f"using cached {path.relative_to(HERE.parent)}")
            return path, truth, False
    cmd = [sys.executable, str(HERE / "generate.py"), "--size", str(size), "--out", str(path)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    log(f"generating {size_label(size)} log: {' '.join(cmd[1:])}")
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"bench: generator failed with exit status {proc.returncode}")
    log(f"generated in {time.perf_counter() - started:.1f} s")
    return path, json.loads(tpath.read_text(encoding="utf-8")), True


def warm(path: Path) -> float:
    """Read the whole file once so every tool starts from the page cache; returns seconds."""
    started = time.perf_counter()
    with path.open("rb", buffering=0) as fh:
        while fh.read(16 * MB):
            pass
    return time.perf_counter() - started


def gnu_time() -> str | None:
    """Path of GNU time if it is installed and accepts -f/-o (BSD/busybox variants do not)."""
    path = shutil.which("time", path="/usr/bin:/bin") or None
    if path is None:
        return None
    probe = subprocess.run([path, "-f", "%M", "-o", os.devnull, "true"], capture_output=True)
    return path if probe.returncode == 0 else None


def measure(
    run: Run, workdir: Path, time_bin: str | None, env: dict[str, str] | None = None
) -> Run:
    """Run run.cmd; fill wall seconds, peak RSS, exit status and stdout.

    Peak RSS comes from GNU time's %M when present, else from polling VmHWM. Reading the
    child's ru_maxrss straight from os.wait4 is wrong here: the child starts as a (v)fork of
    this ~40 MB Python process and Linux carries that high-water mark across exec, so a 2 MB
    grep would report 40 MB. GNU time is a small C process, so its child starts small.
    """
    out_path = workdir / f"{run.name}.stdout"
    err_path = workdir / f"{run.name}.stderr"
    rss_path = workdir / f"{run.name}.rss"
    cmd = [time_bin, "-f", "%M", "-o", str(rss_path), *run.cmd] if time_bin else run.cmd
    log(f"running {run.name}: {' '.join(run.cmd)}")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        except OSError as exc:
            run.error = f"cannot start: {exc}"
            return run
        peak_kib = None if time_bin else _poll_vmhwm(proc)
        proc.wait()
        run.seconds = time.perf_counter() - started
    if time_bin:
        # GNU time writes "Command exited with non-zero status N" before %M on failure.
        tail = rss_path.read_text(encoding="utf-8", errors="replace").split()
        peak_kib = float(tail[-1]) if tail and tail[-1].isdigit() else None
    run.peak_rss_mb = (peak_kib or 0.0) / 1024
    run.returncode = proc.returncode
    run.stdout = out_path.read_text(encoding="utf-8", errors="replace")
    if run.returncode < 0:
        run.error = f"killed by signal {-run.returncode}"
    stderr = err_path.read_text(encoding="utf-8", errors="replace").strip()
    run.stderr_tail = stderr.splitlines()[-1][:300] if stderr else ""
    return run


def judge(run: Run, ok_codes: tuple[int, ...], answer_is_json: bool) -> None:
    """A run is ok when it exited with an expected status and printed a readable answer.

    Exit status 1 is ambiguous for bnlog (findings over the threshold, but also an uncaught
    Python exception), so the answer on stdout decides.
    """
    if run.error is not None:
        return
    readable = True
    try:
        json.loads(run.stdout) if answer_is_json else int(run.stdout.strip())
    except ValueError:
        readable = False
    run.ok = run.returncode in ok_codes and readable
    if not run.ok:
        run.error = run.stderr_tail or (
            f"exit status {run.returncode}" if readable else "no readable answer on stdout"
        )


def _poll_vmhwm(proc: subprocess.Popen[bytes]) -> float:
    """Peak RSS in KiB by polling /proc/<pid>/status (VmHWM, a high-water mark) until exit.

    Growth in the last poll interval before exit is missed; GNU time is preferred.
    """
    peak = 0.0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, float(line.split()[1]))
        except OSError:
            break
        time.sleep(0.01)
    return peak


# --- reading each tool's answer ---------------------------------------------------------------


def grep_count(run: Run) -> int | None:
    try:
        return int(run.stdout.strip())
    except ValueError:
        return None


@dataclass
class Counts:
    """A tool's answer: total error events, and events per visible code and per HTTP status."""

    events: int | None = None
    by_code: dict[str, int] = field(default_factory=dict)
    by_http: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)


def loop_counts(run: Run) -> Counts:
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        return Counts()
    return Counts(
        doc.get("events"),
        {str(k): int(v) for k, v in doc.get("by_code", {}).items()},
        {str(k): int(v) for k, v in doc.get("by_http", {}).items()},
    )


def _dig(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def bnlog_counts(run: Run) -> Counts:
    """Counts from `bnlog report --format json`, read tolerantly of the layout.

    Total from totals.events / summary.events / total_events / events; per code and per HTTP
    status (and per reason slug) from a `codes` list of {code, http_status, count, reasons}
    rows, or from a by_code mapping.
    """
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        return Counts()
    counts = Counts()
    for path in (("totals", "events"), ("summary", "events"), ("total_events",), ("events",)):
        value = _dig(doc, *path)
        if isinstance(value, int) and not isinstance(value, bool):
            counts.events = value
            break
    raw = None
    for path in (("codes",), ("by_code",), ("totals", "by_code"), ("summary", "codes")):
        raw = _dig(doc, *path)
        if raw is not None:
            break
    if isinstance(raw, dict):
        counts.by_code = {_key(k): int(v) for k, v in raw.items() if isinstance(v, int)}
    elif isinstance(raw, list):
        for row in raw:
            if not isinstance(row, dict):
                continue
            n = row.get("count", row.get("events", row.get("n")))
            if not isinstance(n, int):
                continue
            code = _key(row.get("code"))
            counts.by_code[code] = counts.by_code.get(code, 0) + n
            http = row.get("http_status", row.get("http"))
            if http is not None:
                counts.by_http[_key(http)] = counts.by_http.get(_key(http), 0) + n
            reasons = row.get("reasons")
            if isinstance(reasons, dict):
                for reason, k in reasons.items():
                    counts.by_reason[reason] = counts.by_reason.get(reason, 0) + int(k)
    return counts


def _key(code: Any) -> str:
    if code is None or code in ("null", "None", "none", ""):
        return "none"
    try:
        return str(int(code))
    except (TypeError, ValueError):
        return str(code)


# --- report -----------------------------------------------------------------------------------


def _compare(
    label: str, truth: dict[str, int], loop: Counts | None, bn: Counts | None
) -> list[dict[str, Any]]:
    """Rows of truth / loop / bnlog per key of `label` ("by_code" or "by_http")."""
    lp = getattr(loop, label) if loop else None
    bc = getattr(bn, label) if bn and getattr(bn, label) else None
    keys = sorted(set(truth) | set(lp or {}) | set(bc or {}), key=lambda k: (-truth.get(k, 0), k))
    rows = []
    for key in keys:
        t = truth.get(key, 0)
        a = None if lp is None else lp.get(key, 0)
        b = None if bc is None else bc.get(key, 0)
        rows.append(
            {
                "key": key,
                "truth": t,
                "loop": a,
                "bnlog": b,
                "loop_diff": None if a is None else a - t,
                "bnlog_diff": None if b is None else b - t,
            }
        )
    return rows


def accuracy(truth: dict[str, Any], runs: dict[str, Run]) -> dict[str, Any]:
    """Counts per tool next to the truth, with differences (tool - truth)."""
    loop = loop_counts(runs["loop"]) if runs["loop"].ok else None
    bn = bnlog_counts(runs["bnlog"]) if runs["bnlog"].ok else None
    return {
        "truth_events": truth["error_events"],
        "truth_grep_lines": truth["grep_lines"],
        "grep_lines": grep_count(runs["grep"]) if runs["grep"].ok else None,
        "loop_events": loop.events if loop else None,
        "bnlog_events": bn.events if bn else None,
        "bnlog_breakdown_found": bool(bn and bn.by_code),
        "by_code": _compare("by_code", truth["by_code"], loop, bn),
        "by_http": _compare("by_http", truth["by_http"], loop, bn),
        "by_reason": _compare("by_reason", truth["by_reason"], None, bn),
    }


def ratios(runs: dict[str, Run], size: int) -> None:
    grep_s = runs["grep"].seconds if runs["grep"].ok else None
    loop_s = runs["loop"].seconds if runs["loop"].ok else None
    for run in runs.values():
        if not run.ok or run.seconds <= 0:
            continue
        run.mb_per_s = size / MB / run.seconds
        run.time_vs_grep = run.seconds / grep_s if grep_s else None
        run.time_vs_loop = run.seconds / loop_s if loop_s else None


def _fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def render_text(result: dict[str, Any], runs: dict[str, Run]) -> str:
    size_mb = result["bytes"] / MB
    lines = [
        f"log: {result['log']}  ({size_mb:,.0f} MB, {result['lines']:,} lines, "
        f"{result['truth_events']:,} planted error events)",
        f"machine: {result['machine']['cpus']} CPUs, load {result['machine']['load_avg_1m_at_start']}, "
        f"Python {result['machine']['python']}; page-cache read of the file: {result['warm_read_s']:.2f} s",
        "",
        f"{'tool':<14} {'seconds':>8} {'MB/s':>8} {'peak MB':>8} {'time/grep':>10} {'time/loop':>10}",
    ]
    for run in runs.values():
        if run.ok:
            lines.append(
                f"{run.name:<14} {run.seconds:>8.2f} {run.mb_per_s:>8.1f} {run.peak_rss_mb:>8.1f} "
                f"{_fmt(run.time_vs_grep, '.2f', 'x'):>10} {_fmt(run.time_vs_loop, '.2f', 'x'):>10}"
            )
        else:
            lines.append(f"{run.name:<14} FAILED (exit {run.returncode}): {run.error or ''}")
    bn, lp = runs["bnlog"], runs["loop"]
    if bn.ok and bn.time_vs_grep and bn.time_vs_loop:
        lines += [
            "",
            f"bnlog took {bn.time_vs_grep:.1f}x the time of grep -c (which only counts lines) and "
            + (
                f"ran {lp.seconds / bn.seconds:.1f}x as fast as the Python loop."
                if bn.seconds <= lp.seconds
                else f"{bn.seconds / lp.seconds:.1f}x the time of the Python loop."
            ),
        ]
    acc = result["accuracy"]
    lines += [
        "",
        "counts (differences are tool - truth; reported, not fatal):",
        f"  error events: truth {acc['truth_events']:,} | loop {_fmt(acc['loop_events'], ',')} "
        f"| bnlog {_fmt(acc['bnlog_events'], ',')}",
        f"  grep -c lines: {_fmt(acc['grep_lines'], ',')} (truth predicts {acc['truth_grep_lines']:,}: "
        "lines that match, not events)",
    ]
    for label, title, width in (
        ("by_code", "code", 6),
        ("by_http", "http", 6),
        ("by_reason", "reason", 28),
    ):
        lines += [
            "",
            f"  {title:>{width}} {'truth':>8} {'loop':>8} {'bnlog':>8} {'loop-truth':>11} {'bnlog-truth':>12}",
        ]
        for row in acc[label]:
            lines.append(
                f"  {row['key']:>{width}} {row['truth']:>8,} {_fmt(row['loop'], ','):>8} "
                f"{_fmt(row['bnlog'], ','):>8} {_fmt(row['loop_diff'], '+d'):>11} "
                f"{_fmt(row['bnlog_diff'], '+d'):>12}"
            )
    if bn.ok and not acc["bnlog_breakdown_found"]:
        lines.append("  (no per-code counts found in bnlog's JSON)")
    return "\n".join(lines)


def _public(run: Run) -> dict[str, Any]:
    """A run as JSON: no captured stdout, figures rounded to what the clock can tell."""
    doc = {k: v for k, v in asdict(run).items() if k not in ("stdout", "stderr_tail")}
    for key, digits in (("seconds", 3), ("peak_rss_mb", 1), ("mb_per_s", 1)):
        doc[key] = round(doc[key], digits)
    for key in ("time_vs_grep", "time_vs_loop"):
        if doc[key] is not None:
            doc[key] = round(doc[key], 3)
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("1GB"), help="e.g. 20MB, 1GB")
    ap.add_argument("--seed", type=int, help="generator seed (default: generate.py's)")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep a log generated by this run and the tools' raw outputs in benchmarks/out",
    )
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)

    grep = shutil.which("grep")
    time_bin = gnu_time()
    bnlog = Path(sys.executable).parent / "bnlog"
    path, truth, generated = ensure_log(args.size, args.seed)
    size = path.stat().st_size
    log(f"warming page cache ({size / MB:,.0f} MB)")
    warm_s = warm(path)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        log(
            f"note: 1-minute load average is {load:.1f} on {os.cpu_count()} CPUs; figures will be noisy"
        )

    runs = {
        "grep": Run("grep", [grep or "grep", "-cE", GREP_PATTERN, str(path)]),
        "loop": Run("loop", [sys.executable, str(HERE / "baseline_loop.py"), str(path)]),
        "bnlog": Run("bnlog", [str(bnlog), "report", "--format", "json", str(path)]),
    }
    keep_dir = OUT_DIR / f"bench-{size_label(args.size)}.outputs"
    with tempfile.TemporaryDirectory(prefix="bnlog-bench-") as tmp:
        workdir = Path(tmp)
        grep_env = {**os.environ, "LC_ALL": "C"}  # byte-wise matching: grep at its fastest
        measure(runs["grep"], workdir, time_bin, grep_env)
        measure(runs["loop"], workdir, time_bin)
        measure(runs["bnlog"], workdir, time_bin)
        if args.keep:
            keep_dir.mkdir(parents=True, exist_ok=True)
            for f in workdir.iterdir():
                shutil.copy2(f, keep_dir / f.name)
    # grep exits 1 when nothing matches; bnlog exits 1 when findings pass its threshold.
    judge(runs["grep"], (0, 1), answer_is_json=False)
    judge(runs["loop"], (0,), answer_is_json=True)
    judge(runs["bnlog"], (0, 1), answer_is_json=True)
    ratios(runs, size)

    result: dict[str, Any] = {
        "log": str(path.relative_to(HERE.parent)),
        "bytes": size,
        "lines": truth["lines"],
        "truth_events": truth["error_events"],
        "seed": truth["seed"],
        "warm_read_s": round(warm_s, 3),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_1m_at_start": round(load, 2),
            "peak_rss_method": "GNU time %M" if time_bin else "/proc/<pid>/status VmHWM polling",
        },
        "tools": [_public(r) for r in runs.values()],
    }
    result["accuracy"] = accuracy(truth, runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render_text(result, runs))
    if generated and not args.keep:
        path.unlink(missing_ok=True)
        truth_path(path).unlink(missing_ok=True)
        log(f"removed {path.name} (pass --keep to cache it for the next run)")
    elif args.keep:
        log(f"kept {path.relative_to(HERE.parent)} and tool outputs in {keep_dir.name}/")
    return 0 if all(r.ok for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
