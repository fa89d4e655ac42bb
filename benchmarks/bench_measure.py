"""Running one tool as a subprocess and measuring it: wall time, peak RSS, exit status, answer.

Used by bench.py. Wall time is perf_counter around spawn..reap; peak RSS comes from GNU
`/usr/bin/time -f %M` when installed, else from polling /proc/<pid>/status VmHWM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MB = 1 << 20


@dataclass
class Run:
    """One tool's measured run on one input."""

    name: str
    cmd: list[str]
    env: dict[str, str] | None = field(default=None, repr=False)
    unavailable: str | None = None  # why the tool was not run (not installed): shown as n/a
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    returncode: int | None = None
    ok: bool = False
    mb_per_s: float = 0.0
    events_per_s: float = 0.0
    time_vs_grep: float | None = None
    time_vs_loop: float | None = None
    stdout_bytes: int = 0
    error: str | None = None
    stdout: str = field(default="", repr=False)
    stderr_tail: str = field(default="", repr=False)

    @property
    def available_but_failed(self) -> bool:
        """Ran (or tried to) and gave no usable answer; n/a and skipped tools do not count."""
        return self.unavailable is None and not self.ok

    def public(self) -> dict[str, Any]:
        """The run as JSON: no captured output or environment, figures rounded."""
        hidden = ("stdout", "stderr_tail", "env", "unavailable")
        doc = {k: v for k, v in asdict(self).items() if k not in hidden}
        doc["available"] = self.unavailable is None
        if self.unavailable is not None:
            doc["error"] = self.unavailable
        for key, digits in (("seconds", 3), ("peak_rss_mb", 1), ("mb_per_s", 1)):
            doc[key] = round(doc[key], digits)
        doc["events_per_s"] = round(doc["events_per_s"])
        for key in ("time_vs_grep", "time_vs_loop"):
            if doc[key] is not None:
                doc[key] = round(doc[key], 3)
        return doc


def log(msg: str) -> None:
    """Progress goes to stderr so --json output stays clean."""
    print(msg, file=sys.stderr, flush=True)


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


def measure(run: Run, workdir: Path, time_bin: str | None) -> Run:
    """Run run.cmd; fill wall seconds, peak RSS, exit status and stdout.

    Peak RSS comes from GNU time's %M when present, else from polling VmHWM. Reading the
    child's ru_maxrss straight from os.wait4 is wrong here: the child starts as a (v)fork of
    this ~40 MB Python process and Linux carries that high-water mark across exec, so a 2 MB
    grep would report 40 MB. GNU time is a small C process, so its child starts small. For a
    pipeline (`sh -c 'gzip -dc | grep'`) %M is the largest process of it, not the sum.
    """
    if run.unavailable is not None:
        return run
    out_path = workdir / f"{run.name}.stdout"
    err_path = workdir / f"{run.name}.stderr"
    rss_path = workdir / f"{run.name}.rss"
    cmd = [time_bin, "-f", "%M", "-o", str(rss_path), *run.cmd] if time_bin else run.cmd
    log(f"running {run.name}: {' '.join(run.cmd)}")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=run.env)
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
    run.stdout_bytes = out_path.stat().st_size
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
    if run.error is not None or run.unavailable is not None:
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


def ratios(runs: dict[str, Run], size: int, events: int) -> None:
    """MB/s, events/s and the time ratios to grep and to the loop, for each run that worked."""
    grep_s = runs["grep"].seconds if runs["grep"].ok else None
    loop_s = runs["loop"].seconds if runs["loop"].ok else None
    for run in runs.values():
        if not run.ok or run.seconds <= 0:
            continue
        run.mb_per_s = size / MB / run.seconds
        run.events_per_s = events / run.seconds
        run.time_vs_grep = run.seconds / grep_s if grep_s else None
        run.time_vs_loop = run.seconds / loop_s if loop_s else None
