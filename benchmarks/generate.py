"""Write a large, deterministic, realistic mixed Binance.US bot log and a truth sidecar.

    python benchmarks/generate.py --size 1GB --out benchmarks/out/big.log

The log interleaves five writers (freqtrade, hummingbot, a binance-connector / python-binance
script, a node-binance-api bot, a JSON-lines capture) over ~30 days of monotonically
increasing timestamps. Most lines are ordinary chatter (chatter.py); ~1.7% are Binance error
records (planted.py) in the shapes of shared/domain.md section (c), some spanning several lines
(Python tracebacks, node stacks). The generator knows what it planted and writes it to
`<out>.truth.json`: events per visible code, HTTP status, shape and reason slug, plus the
exact number of lines `grep -cE` with the benchmark's pattern must report.

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
from planted import ERROR_SHAPES, Planted

GENERATOR_VERSION = 1
DEFAULT_SEED = 20250301
ERROR_LINE_SHARE = 0.015  # error records per chatter line (~1.5-2% of all lines)
MEAN_BURST = 1.4  # average records per incident with the burst lengths in ERROR_SHAPES
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
        self.by_reason[p.reason] += 1


def _sorted(c: Counter[str]) -> dict[str, int]:
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


class Generator:
    """Deterministic block-wise log writer; `run` fills `out` up to `size` bytes."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
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
        """Render `slots` chatter lines plus error incidents; stop early once `limit` bytes."""
        rng = self.rng
        rnd = rng.random
        npool, span = len(self.pool), 2 * mean_step - 1
        idx = [int(rnd() * npool) for _ in range(slots)]
        steps = [1 + int(rnd() * span) for _ in range(slots)]
        incidents = {
            rng.randrange(slots)
            for _ in range(int(slots * ERROR_LINE_SHARE / MEAN_BURST + rng.random()))
        }
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
            if i in incidents:
                self.t = t
                text = self._incident()
                t = self.t
                out.append(text)
                if limit is not None:
                    written += len(text)
                    if written >= limit:
                        break
        self.t = t
        data = "".join(out)
        return data, len(data)

    def _incident(self) -> str:
        """One burst of 1..N error records of one shape, a few hundred ms apart."""
        rng = self.rng
        fn = rng.choices(self._shape_fns, cum_weights=self._shape_cum)[0]
        burst = 1 + int(rng.random() ** 2 * self._bursts[fn])
        parts = []
        for _ in range(burst):
            self.t += rng.randrange(1, 800)
            p = fn(rng, START_EPOCH_MS + self.t)
            lead, s1, s2 = p.layout
            day, tod, ms = self._stamp()
            text = f"{lead}{day}{s1}{tod}{s2}{ms}{p.body}\n"
            grep_hits = sum(1 for ln in text.splitlines() if _GREP_RE.search(ln))
            self.truth.add(p, grep_hits)
            self.truth.lines += text.count("\n")
            parts.append(text)
        return "".join(parts)

    def run(self, out: Path, progress: bool = True) -> dict[str, object]:
        started = time.perf_counter()
        self._refresh_pool()
        avg_line = sum(len(p[3]) + 24 for p in self.pool) / len(self.pool)
        est_lines = max(1, int(self.size / avg_line))
        mean_step = max(2, SPAN_MS // est_lines)
        written = 0
        blocks = 0
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        with tmp.open("w", encoding="ascii", newline="\n", buffering=1 << 22) as fh:
            while written < self.size:
                if blocks and blocks % POOL_REFRESH_BLOCKS == 0:
                    self._refresh_pool()
                remaining = self.size - written
                near_end = remaining < BLOCK_SLOTS * avg_line * 1.5
                slots = int(remaining / avg_line) + 1000 if near_end else BLOCK_SLOTS
                data, n = self._block(slots, mean_step, remaining if near_end else None)
                fh.write(data)
                written += n
                blocks += 1
                if progress and blocks % 50 == 0:
                    pct = 100 * written / self.size
                    print(f"  generated {written / 2**20:,.0f} MB ({pct:.0f}%)", file=sys.stderr)
        tmp.replace(out)
        t = self.truth
        truth: dict[str, object] = {
            "generator_version": GENERATOR_VERSION,
            "seed": self.seed,
            "size_requested": self.size,
            "bytes": written,
            "lines": t.lines,
            "first_ts_ms": START_EPOCH_MS,
            "last_ts_ms": START_EPOCH_MS + self.t,
            "error_events": t.events,
            "grep_pattern": GREP_PATTERN,
            "grep_lines": t.grep_lines,
            "by_code": _sorted(t.by_code),
            "by_http": _sorted(t.by_http),
            "by_shape": _sorted(t.by_shape),
            "by_reason": _sorted(t.by_reason),
        }
        truth_path(out).write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
        self.seconds = time.perf_counter() - started
        return truth


def truth_path(out: Path) -> Path:
    """The sidecar next to a generated log: big.log -> big.log.truth.json."""
    return out.with_name(out.name + ".truth.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("20MB"), help="e.g. 20MB, 1GB")
    ap.add_argument("--out", type=Path, help="log path (default benchmarks/out/bench-<size>.log)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    out = args.out or Path(__file__).parent / "out" / f"bench-{size_label(args.size)}.log"
    gen = Generator(args.size, args.seed)
    truth = gen.run(out, progress=not args.quiet)
    print(
        f"wrote {out} ({truth['bytes']:,} bytes, {truth['lines']:,} lines, "
        f"{truth['error_events']:,} error events) in {gen.seconds:.1f} s; truth: {truth_path(out)}",
        file=sys.stderr,
    )
    print(json.dumps(truth["by_code"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
