"""Score bnlog's events against the real-world corpus: precision, recall and F1 per client.

Each excerpt's labels are a multiset of (code, http_status) events (corpus_policy.md); bnlog's
API error events for the same file are another. Matches are counted per excerpt (multiset
intersection), then summed per client and overall (micro-averaged).

    python tests/corpus/score.py            # the table
    python tests/corpus/score.py -v         # and every excerpt bnlog gets wrong
    python tests/corpus/score.py --check    # exit 1 when a score is below tests/corpus/floor.toml
    python tests/corpus/score.py --raise-floor   # write higher scores into the floor (never lower)
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels.jsonl"
EXCERPTS = HERE / "excerpts"
FLOOR = HERE / "floor.toml"
# A client's floor is checked once it has this many excerpts (the "five or more").
MIN_EXCERPTS = 5

Key = tuple[int | None, int | None]


@dataclass(frozen=True)
class Label:
    """One excerpt and the events a careful reader writes down for it."""

    file: str
    client: str
    modelled_on: str
    format: str
    errors: Counter[Key]
    notes: str


@dataclass
class Tally:
    """True positives, false positives and false negatives, summed over excerpts."""

    excerpts: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.excerpts += other.excerpts
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_labels(path: Path = LABELS) -> list[Label]:
    """Every labelled excerpt, checked: each file exists and is labelled once."""
    labels: list[Label] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        name = row["file"]
        if name in seen:
            raise ValueError(f"{path.name}:{number}: {name} is labelled twice")
        if not (EXCERPTS / name).is_file():
            raise ValueError(f"{path.name}:{number}: no excerpt {name}")
        seen.add(name)
        errors: Counter[Key] = Counter()
        for error in row["errors"]:
            errors[(error["code"], error["http_status"])] += int(error["count"])
        labels.append(
            Label(
                file=name,
                client=row["client"],
                modelled_on=row["modelled_on"],
                format=row["format"],
                errors=errors,
                notes=row["notes"],
            )
        )
    return labels


def predicted(paths: list[Path]) -> dict[str, Counter[Key]]:
    """bnlog's API error events of each excerpt, as (code, http_status) counts. One run over
    all of them: records and echoes never reach across files, so this is each file alone."""
    from analyzer import analyze_events
    from analyzer.schema import api_events

    events, _ = analyze_events([str(p) for p in paths])
    found: dict[str, Counter[Key]] = {str(p): Counter() for p in paths}
    for path, code, status in api_events(events).select("path", "code", "http_status").rows():
        found[path][(code, status)] += 1
    return found


def _fmt(errors: Counter[Key]) -> str:
    parts = [
        f"{'-' if code is None else code}/{'-' if status is None else status}"
        + (f"×{n}" if n > 1 else "")
        for (code, status), n in sorted(errors.items(), key=lambda kv: (str(kv[0]), kv[1]))
    ]
    return ", ".join(parts) or "none"


def score(labels: list[Label]) -> dict[str, Tally]:
    """Tallies per client, plus "overall"."""
    tallies: dict[str, Tally] = {}
    overall = Tally()
    everything = predicted([EXCERPTS / label.file for label in labels])
    for label in labels:
        got = everything[str(EXCERPTS / label.file)]
        hit = sum((got & label.errors).values())
        one = Tally(
            excerpts=1,
            tp=hit,
            fp=sum(got.values()) - hit,
            fn=sum(label.errors.values()) - hit,
        )
        tally = tallies.setdefault(label.client, Tally())
        tally.add(one)
        overall.add(one)
        if one.fp or one.fn:
            tally.wrong.append(f"{label.file}: expected {_fmt(label.errors)}; bnlog {_fmt(got)}")
    result = dict(sorted(tallies.items()))
    result["overall"] = overall
    return result


def table(tallies: dict[str, Tally]) -> str:
    """The per-client table, as printed."""
    lines = [f"{'client':<18} {'excerpts':>8} {'events':>6} {'P':>6} {'R':>6} {'F1':>6}"]
    for name, t in tallies.items():
        if name == "overall":
            lines.append("-" * len(lines[0]))
        lines.append(
            f"{name:<18} {t.excerpts:>8} {t.tp + t.fn:>6} "
            f"{t.precision:>6.3f} {t.recall:>6.3f} {t.f1:>6.3f}"
        )
    return "\n".join(lines)


def load_floor(path: Path = FLOOR) -> dict[str, float]:
    """The lowest F1 each client (and "overall") may score."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: float(value) for name, value in data.get("f1", {}).items()}


def below_floor(tallies: dict[str, Tally], floor: dict[str, float]) -> list[str]:
    """Clients (or overall) whose F1 fell below the floor, as messages."""
    failures = []
    for name, minimum in sorted(floor.items()):
        tally = tallies.get(name)
        if tally is None:
            failures.append(f"{name}: in the floor but not in the corpus")
        elif round(tally.f1, 3) < minimum:
            failures.append(f"{name}: F1 {tally.f1:.3f} < floor {minimum:.3f}")
    return failures


def raised_floor(tallies: dict[str, Tally], floor: dict[str, float]) -> dict[str, float]:
    """The floor with every score that rose written in (rounded down); nothing is lowered."""
    new = dict(floor)
    for name, tally in tallies.items():
        if name != "overall" and tally.excerpts < MIN_EXCERPTS:
            continue
        value = int(tally.f1 * 1000) / 1000
        new[name] = max(value, floor.get(name, 0.0))
    return new


def write_floor(floor: dict[str, float], path: Path = FLOOR) -> None:
    lines = [
        "# Lowest F1 the corpus scorer accepts, per client and overall (tests/corpus/score.py).",
        "# Raised with `python tests/corpus/score.py --raise-floor`; never lowered by hand.",
        "[f1]",
    ]
    ordered = sorted(floor.items(), key=lambda kv: (kv[0] != "overall", kv[0]))
    lines += [f'"{name}" = {value:.3f}' for name, value in ordered]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list wrong excerpts")
    parser.add_argument("--check", action="store_true", help="fail below the floor")
    parser.add_argument("--raise-floor", action="store_true", help="raise the floor")
    parser.add_argument("--labels", type=Path, default=LABELS, help="another labels file")
    args = parser.parse_args(argv)
    tallies = score(load_labels(args.labels))
    print(table(tallies))
    if args.verbose:
        for name, tally in tallies.items():
            for line in tally.wrong:
                print(f"  [{name}] {line}")
    floor = load_floor()
    if args.raise_floor:
        write_floor(raised_floor(tallies, floor))
    if args.check:
        failures = below_floor(tallies, floor)
        for failure in failures:
            print(f"below floor: {failure}", file=sys.stderr)
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    raise SystemExit(main())
