"""Baselines for `bnlog check`: today's findings by a stable fingerprint (kind, source, codes,
symbols — never counts or times), so a later check fails only on what is new or grew."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from analyzer.detectors import Finding
from analyzer.errors import InputError

SCHEMA_ID = "bnlog.baseline/1"
NAMED_SYMBOLS = 10  # a fingerprint names this many symbols, then a hash of them all
DEFAULT_TOLERANCE = 50.0  # percent a finding may grow before it fails against a baseline


def code_name(code: int) -> str:
    """-1003 → '-1003'; an HTTP status (positive) → 'http:418', as budgets name them."""
    return str(code) if code < 0 else f"http:{code}"


def fingerprint(finding: Finding) -> str:
    """`ip_ban sample_logs/ban_storm -1003 BTCUSD,ETHUSD`: what the finding is about, never how
    often or when — the same name for the same problem in every run."""
    parts = [finding.kind]
    if finding.source:
        parts.append(finding.source)
    parts.extend(code_name(c) for c in finding.codes)
    symbols = list(finding.symbols)
    if len(symbols) > NAMED_SYMBOLS:
        digest = hashlib.sha256(",".join(symbols).encode("utf-8", "replace")).hexdigest()[:8]
        symbols = [*symbols[:NAMED_SYMBOLS], f"…#{digest}"]
    if symbols:
        parts.append(",".join(symbols))
    return " ".join(parts)


@dataclass(frozen=True)
class Entry:
    """One fingerprint with the findings it stands for, and their events."""

    fingerprint: str
    kind: str
    source: str
    codes: tuple[int, ...]
    symbols: tuple[str, ...]
    count: int


def entries(findings: Iterable[Finding]) -> dict[str, Entry]:
    """Findings grouped by fingerprint (findings that share one add their counts)."""
    out: dict[str, Entry] = {}
    for f in findings:
        key = fingerprint(f)
        had = out.get(key)
        out[key] = Entry(
            key, f.kind, f.source, f.codes, f.symbols, f.count + (had.count if had else 0)
        )
    return dict(sorted(out.items()))


def dumps(findings: Iterable[Finding]) -> str:
    """The baseline file: a schema id and the entries, sorted — the same logs give the same
    bytes."""
    data = {
        "schema": SCHEMA_ID,
        "findings": [
            {
                "fingerprint": e.fingerprint,
                "kind": e.kind,
                "source": e.source,
                "codes": list(e.codes),
                "symbols": list(e.symbols),
                "count": e.count,
            }
            for e in entries(findings).values()
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def load(path: str) -> dict[str, int]:
    """The baseline at `path`: fingerprint → events. InputError (exit 2) when it is missing,
    unreadable, or not a bnlog baseline."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise InputError(
            f"--baseline {path}: no such file (write one with --write-baseline)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise InputError(f"--baseline {path}: cannot read ({why or exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise InputError(f"--baseline {path}: not a bnlog baseline (schema {SCHEMA_ID})")
    if not isinstance(data.get("findings"), list):
        raise InputError(f"--baseline {path}: no findings list")
    found: dict[str, int] = {}
    for item in data["findings"]:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("fingerprint"), str)
            and isinstance(item.get("count"), int)
            and not isinstance(item.get("count"), bool)
            and item["count"] >= 0
        ):
            raise InputError(f"--baseline {path}: an entry lacks its fingerprint or count")
        found[item["fingerprint"]] = found.get(item["fingerprint"], 0) + item["count"]
    return found


@dataclass(frozen=True)
class Compared:
    """A finding's fingerprint against the baseline: `new`, `grown` (beyond the tolerance),
    `unchanged` or `shrunk`, and the sentence that says so."""

    status: str
    before: int | None
    after: int

    @property
    def fails(self) -> bool:
        return self.status in ("new", "grown")

    def text(self) -> str:
        if self.before is None:
            return "new since the baseline"
        change = (
            f"{(self.after - self.before) * 100 / self.before:+.0f} %" if self.before else "new"
        )
        change = change.replace("-", "−")
        word = {"grown": "grew", "shrunk": "shrank"}.get(self.status, "in the baseline:")
        return f"{word} {self.before} → {self.after} ({change})"


def compare(before: int | None, after: int, tolerance: float) -> Compared:
    """How `after` events compare with the baseline's `before` (None: not in the baseline)."""
    if before is None:
        return Compared("new", None, after)
    if after > before * (1 + tolerance / 100):
        return Compared("grown", before, after)
    if after < before:
        return Compared("shrunk", before, after)
    return Compared("unchanged", before, after)
