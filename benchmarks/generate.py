"""Write a large, deterministic, realistic mixed Binance.US bot log and a truth sidecar.

    python benchmarks/generate.py --size 1GB --out benchmarks/out/big.log
    python benchmarks/generate.py --size 1GB --error-rate 10%        # 10% of lines are errors
    python benchmarks/generate.py --storm retry-loop --events 5000000  # a bot stuck retrying
    python benchmarks/generate.py --storm random-codes --events 1000000

The log interleaves five writers (freqtrade, hummingbot, a binance-connector / python-binance
script, a node-binance-api bot, a JSON-lines capture) over ~30 days of monotonically
increasing timestamps. Most lines are ordinary chatter (chatter.py); ~2% are lines of Binance
error records (planted.py) in the shapes of shared/domain.md section (c), some spanning several
lines (Python tracebacks, node stacks); `--error-rate` sets that share of lines instead. A
storm (`--storm`) is a log of error records only: `retry-loop` repeats one -1021 retrier line,
`random-codes` draws assorted codes from the reference table and outside it. The generator
knows what it planted and writes it to `<out>.truth.json`: events per visible code, HTTP
status, shape and reason slug, plus the exact number of lines `grep -cE` with the benchmark's
pattern must report.

Speed: chatter bodies come from a pool re-rendered every few blocks, timestamps are built
from precomputed day / time-of-day / millisecond strings, and each block of lines is written
as one string, so 1 GB takes about 15 s on one core.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from chatter import DAYS, HMS, MS3, SPAN_MS, START_EPOCH_MS, Chatter, chatter_line
from planted import ERROR_SHAPES, RETRY_LOOP, Planted, RandomCodes

GENERATOR_VERSION = 2
DEFAULT_SEED = 20250301
ERROR_LINE_SHARE = 0.015  # default mix: error records per chatter line (~2% of all lines)
MEAN_BURST = 1.4  # average records per incident with the burst lengths in ERROR_SHAPES
MAX_BURST_GAP_MS = 800  # records of one incident are 1..800 ms apart (less in very big logs)
STORMS = ("retry-loop", "random-codes")
STORM_EVENTS = {"retry-loop": 5_000_000, "random-codes": 1_000_000}  # --events defaults
STORM_STEP_MS = 500  # a storm's records are 1..500 ms apart
BLOCK_SLOTS = 20_000
POOL_SIZE = 4_096
POOL_REFRESH_BLOCKS = 8

# The pattern bench.py hands to `grep -cE`; kept here so the truth file can predict its answer.
GREP_PATTERN = r'code|APIError|HTTP status is [45]|Error: \{"'
_GREP_RE = re.compile(GREP_PATTERN)

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'1GB' / '20MB' / '512kb' / '1.5G' -> bytes (binary units: 1MB = 2**20 bytes)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"cannot read size {text!r} (use e.g. 20MB or 1GB)")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def parse_rate(text: str) -> float:
    """'0.1' / '10%' -> 0.1: the share of lines that belong to error records (0 < rate < 1)."""
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        rate = -1.0
    if not 0 < rate < 1:
        raise argparse.ArgumentTypeError(f"cannot read error rate {text!r} (use e.g. 0.1 or 10%)")
    return rate


def log_stem(
    size: int | None, error_rate: float | None = None, storm: str | None = None, events: int = 0
) -> str:
    """The default file name (no suffix) for a log: bench-1GB, bench-1GB-err10pct, ..."""
    if storm:
        return f"bench-{storm}-{events}"
    assert size is not None
    rate = f"-err{error_rate * 100:g}pct" if error_rate is not None else ""
    return f"bench-{size_label(size)}{rate}"


def size_label(n: int) -> str:
    """Bytes -> the shortest exact label parse_size reads back ('1GB', '20MB', '1536KB')."""
    for unit in ("G", "M", "K"):
        if n % _UNITS[unit] == 0:
            return f"{n // _UNITS[unit]}{unit}B"
    return f"{n}B"


# --- writer -----------------------------------------------------------------------------------


@dataclass
class Truth:
    """What the generator planted, for comparing tools against."""

    lines: int = 0
    error_lines: int = 0  # lines that belong to error records (a traceback's every line)
    events: int = 0
    grep_lines: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    by_http: Counter[str] = field(default_factory=Counter)
    by_shape: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, p: Planted, grep_hits: int) -> None:
        self.events += 1
        self.grep_lines += grep_hits
        self.by_code["none" if p.code is None else str(p.code)] += 1
        if p.http is not None:
            self.by_http[str(p.http)] += 1
        self.by_shape[p.shape] += 1
        if p.reason:
            self.by_reason[p.reason] += 1

    def doc(self, **head: object) -> dict[str, object]:
        """The truth file: `head` (how the log was made), then what is in it."""
        return {
            **head,
            "lines": self.lines,
            "error_lines": self.error_lines,
            "error_line_share": round(self.error_lines / max(1, self.lines), 5),
            "error_events": self.events,
            "distinct_codes": len(self.by_code),
            "grep_pattern": GREP_PATTERN,
            "grep_lines": self.grep_lines,
            "by_code": _sorted(self.by_code),
            "by_http": _sorted(self.by_http),
            "by_shape": _sorted(self.by_shape),
            "by_reason": _sorted(self.by_reason),
            "by_reason_recorded": sum(self.by_reason.values()) == self.events,
        }


def _sorted(c: Counter[str]) -> dict[str, int]:
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


class Generator:
    """Deterministic block-wise log writer; `run` fills `out` up to `size` bytes."""

    def __init__(self, size: int, seed: int, error_rate: float | None = None) -> None:
        self.size = size
        self.seed = seed
        self.error_rate = error_rate
        self.incidents = 0
        self.burst_gap = MAX_BURST_GAP_MS
        self.rng = random.Random(seed)
        self.truth = Truth()
        self.t = 0  # ms since START_EPOCH_MS
        self.pool: list[Chatter] = []
        self.pool_hits: list[int] = []
        self._shape_fns = [s[0] for s in ERROR_SHAPES]
        self._shape_cum = list(accumulate(s[1] for s in ERROR_SHAPES))
        self._bursts = {s[0]: s[2] for s in ERROR_SHAPES}
        self.seconds = 0.0

    def _refresh_pool(self) -> None:
        self.pool = [chatter_line(self.rng) for _ in range(POOL_SIZE)]
        self.pool_hits = [1 if _GREP_RE.search(p[3]) else 0 for p in self.pool]

    def _stamp(self) -> tuple[str, str, str]:
        sec, ms = divmod(self.t, 1000)
        day, sod = divmod(sec, 86400)
        return DAYS[day], HMS[sod], MS3[ms]

    def _block(self, slots: int, mean_step: int, limit: int | None) -> tuple[str, int]:
        """Render `slots` chatter lines plus error incidents; stop early once `limit` bytes.

        Returns the text and the number of slots used.
        """
        rng = self.rng
        rnd = rng.random
        npool, span = len(self.pool), 2 * mean_step - 1
        idx = [int(rnd() * npool) for _ in range(slots)]
        steps = [1 + int(rnd() * span) for _ in range(slots)]
        incidents = Counter(rng.randrange(slots) for _ in range(self._incident_count(slots)))
        pool, hits, truth = self.pool, self.pool_hits, self.truth
        out: list[str] = []
        written = 0
        t = self.t
        days, hms, ms3 = DAYS, HMS, MS3
        for i in range(slots):
            t += steps[i]
            sec, ms = divmod(t, 1000)
            day, sod = divmod(sec, 86400)
            j = idx[i]
            lead, s1, s2, body = pool[j]
            line = f"{lead}{days[day]}{s1}{hms[sod]}{s2}{ms3[ms]}{body}\n"
            out.append(line)
            truth.lines += 1
            truth.grep_lines += hits[j]
            if limit is not None:
                written += len(line)
                if written >= limit:
                    break
            for _ in range(incidents.get(i, 0)):
                self.t = t
                text = self._incident()
                t = self.t
                out.append(text)
                if limit is not None:
                    written += len(text)
            if limit is not None and written >= limit:
                break
        self.t = t
        return "".join(out), i + 1

    def _incident_count(self, slots: int) -> int:
        """How many incidents to put among the next `slots` chatter lines.

        Default mix: a fixed share per chatter line. With --error-rate: enough incidents to
        bring the error lines to that share of all lines by the end of the block, using the
        lines per incident seen so far (self-correcting, so the share is met within a block).
        """
        rng, t = self.rng, self.truth
        if self.error_rate is None:
            return int(slots * ERROR_LINE_SHARE / MEAN_BURST + rng.random())
        r = self.error_rate
        wanted = r / (1 - r) * (t.lines - t.error_lines + slots) - t.error_lines
        # Lines per incident (bursts x multi-line records): ~2.3 measured, then as seen so far.
        per_incident = t.error_lines / self.incidents if self.incidents >= 100 else 2.3
        return max(0, int(wanted / per_incident + rng.random()))

    def _incident(self) -> str:
        """One burst of 1..N error records of one shape, a few hundred ms apart."""
        rng = self.rng
        fn = rng.choices(self._shape_fns, cum_weights=self._shape_cum)[0]
        burst = 1 + int(rng.random() ** 2 * self._bursts[fn])
        self.incidents += 1
        parts = []
        for _ in range(burst):
            self.t += rng.randrange(1, self.burst_gap)
            p = fn(rng, START_EPOCH_MS + self.t)
            lead, s1, s2 = p.layout
            day, tod, ms = self._stamp()
            text = f"{lead}{day}{s1}{tod}{s2}{ms}{p.body}\n"
            grep_hits = sum(1 for ln in text.splitlines() if _GREP_RE.search(ln))
            self.truth.add(p, grep_hits)
            self.truth.lines += text.count("\n")
            self.truth.error_lines += text.count("\n")
            parts.append(text)
        return "".join(parts)

    def run(self, out: Path, progress: bool = True) -> dict[str, object]:
        started = time.perf_counter()
        self._refresh_pool()
        avg_line = sum(len(p[3]) + 24 for p in self.pool) / len(self.pool)
        est_lines = max(1, int(self.size / avg_line))
        mean_step = max(2, SPAN_MS // est_lines)
        # Error records take time too: in big logs their gaps shrink with the chatter steps,
        # so even a 50% error rate stays near SPAN_MS.
        self.burst_gap = max(2, min(MAX_BURST_GAP_MS, 2 * mean_step))
        written = 0
        blocks = 0
        slots_done = 0
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        with tmp.open("w", encoding="ascii", newline="\n", buffering=1 << 22) as fh:
            while written < self.size:
                if blocks and blocks % POOL_REFRESH_BLOCKS == 0:
                    self._refresh_pool()
                remaining = self.size - written
                # Bytes per chatter slot, error records included, as seen so far.
                first_guess = avg_line * 1.1 / (1 - (self.error_rate or 0))
                per_slot = written / slots_done if slots_done else first_guess
                near_end = remaining < BLOCK_SLOTS * per_slot * 1.5
                slots = int(remaining / per_slot) + 1000 if near_end else BLOCK_SLOTS
                data, used = self._block(slots, mean_step, remaining if near_end else None)
                fh.write(data)
                written += len(data)
                slots_done += used
                blocks += 1
                if progress and blocks % 50 == 0:
                    pct = 100 * written / self.size
                    print(f"  generated {written / 2**20:,.0f} MB ({pct:.0f}%)", file=sys.stderr)
        tmp.replace(out)
        truth = self.truth.doc(
            generator_version=GENERATOR_VERSION,
            mode="mix",
            seed=self.seed,
            size_requested=self.size,
            error_rate_requested=self.error_rate,
            events_requested=None,
            bytes=written,
            first_ts_ms=START_EPOCH_MS,
            last_ts_ms=START_EPOCH_MS + self.t,
        )
        truth_path(out).write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
        self.seconds = time.perf_counter() - started
        return truth


class Storm:
    """A log of error records only: `events` one-line records, 1..500 ms apart."""

    def __init__(self, kind: str, events: int, seed: int) -> None:
        if kind not in STORMS:
            raise ValueError(f"unknown storm {kind!r} (one of {', '.join(STORMS)})")
        self.kind = kind
        self.events = events
        self.seed = seed
        self.rng = random.Random(seed)
        self.truth = Truth()
        self.seconds = 0.0

    def run(self, out: Path, progress: bool = True) -> dict[str, object]:
        started = time.perf_counter()
        rng, truth = self.rng, self.truth
        make = RandomCodes() if self.kind == "random-codes" else None
        grep_search = _GREP_RE.search
        days, hms, ms3 = DAYS, HMS, MS3
        t = written = done = 0
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        with tmp.open("w", encoding="ascii", newline="\n", buffering=1 << 22) as fh:
            while done < self.events:
                n = min(BLOCK_SLOTS * 5, self.events - done)
                lines = []
                for _ in range(n):
                    t += 1 + int(rng.random() * STORM_STEP_MS)
                    sec, ms = divmod(t, 1000)
                    day, sod = divmod(sec, 86400)
                    p = RETRY_LOOP if make is None else make(rng, START_EPOCH_MS + t)
                    lead, s1, s2 = p.layout
                    line = f"{lead}{days[day]}{s1}{hms[sod]}{s2}{ms3[ms]}{p.body}\n"
                    lines.append(line)
                    truth.add(p, 1 if grep_search(line) else 0)
                data = "".join(lines)
                fh.write(data)
                written += len(data)
                done += n
                truth.lines += n
                truth.error_lines += n
                if progress and done % (BLOCK_SLOTS * 50) == 0:
                    pct = 100 * done / self.events
                    print(f"  generated {done:,} events ({pct:.0f}%)", file=sys.stderr)
        tmp.replace(out)
        doc = truth.doc(
            generator_version=GENERATOR_VERSION,
            mode=self.kind,
            seed=self.seed,
            size_requested=None,
            error_rate_requested=None,
            events_requested=self.events,
            bytes=written,
            first_ts_ms=START_EPOCH_MS,
            last_ts_ms=START_EPOCH_MS + t,
        )
        truth_path(out).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        self.seconds = time.perf_counter() - started
        return doc


def truth_path(out: Path) -> Path:
    """The sidecar next to a generated log: big.log -> big.log.truth.json."""
    return out.with_name(out.name + ".truth.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("20MB"), help="e.g. 20MB, 1GB")
    ap.add_argument(
        "--error-rate",
        type=parse_rate,
        help="share of lines that are error-record lines, e.g. 0.1 or 10%% (default: the ~2%% mix)",
    )
    ap.add_argument("--storm", choices=STORMS, help="a log of error records only (ignores --size)")
    ap.add_argument(
        "--events",
        type=int,
        help="error records in a storm (default: 5000000 retry-loop, 1000000 random-codes)",
    )
    ap.add_argument("--out", type=Path, help="log path (default benchmarks/out/<stem>.log)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    if args.storm and args.error_rate is not None:
        ap.error("--error-rate and --storm do not mix (a storm is all error lines)")
    if args.events is not None and not args.storm:
        ap.error("--events is for --storm logs; mixed logs are sized with --size")
    gen: Generator | Storm
    if args.storm:
        events = args.events if args.events is not None else STORM_EVENTS[args.storm]
        if events < 1:
            ap.error("--events must be at least 1")
        gen = Storm(args.storm, events, args.seed)
        stem = log_stem(None, storm=args.storm, events=events)
    else:
        gen = Generator(args.size, args.seed, args.error_rate)
        stem = log_stem(args.size, args.error_rate)
    out = args.out or Path(__file__).parent / "out" / f"{stem}.log"
    truth = gen.run(out, progress=not args.quiet)
    print(
        f"wrote {out} ({truth['bytes']:,} bytes, {truth['lines']:,} lines, "
        f"{truth['error_events']:,} error events, {truth['error_line_share']:.2%} error lines) "
        f"in {gen.seconds:.1f} s; truth: {truth_path(out)}",
        file=sys.stderr,
    )
    print(json.dumps(truth["by_code"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
