"""Load and validate shapes.toml: clients, code/msg shapes, status shapes and time layouts."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import polars as pl

from analyzer.errors import ReferenceDataError

DATA_FILE = "shapes.toml"
# What a sample may promise about its event; "null" means the field must be null.
SAMPLE_FIELDS = frozenset(
    {
        "code",
        "http_status",
        "msg",
        "client",
        "shape",
        "symbol",
        "endpoint",
        "ts",
        "line",
        "ban_until",
        "retry_after",
        "used_weight",
    }
)
TIME_GROUPS = frozenset(
    {
        "year",
        "month",
        "mon",
        "day",
        "hour",
        "minute",
        "second",
        "frac",
        "ampm",
        "tz",
        "epoch",
        "epoch_ms",
    }
)
# What may stand before a time on its line: a few characters without digits ('time="',
# "[INFO | ", "Binance-golang "); not a quoted line ("< Date: Thu, 16 Nov 2023 …").
LEAD = r"(?:[^\d\s<>*#\"][^\d\n]{0,23}?)?"
# An indented line has its own time when the time (or a short lead) follows the indentation,
# perhaps after a quote mark (" > 2021-05-02 05:03:05 Error …"); an indented '"time": …' key
# of a JSON dump is no log line.
INDENT = r"[ \t]+[>*|+-]?[ \t]*"
_TOKEN = re.compile(r"<([A-Z_]+)>")
_GROUP = re.compile(r"\(\?P<(\w+)>")


@dataclass(frozen=True)
class Sample:
    """Text as a client writes it, and the fields (or the time) bnlog must get from it."""

    text: str
    fields: dict[str, Any]
    events: int = 1  # how many events the text holds (0 for a time layout's sample line)


@dataclass(frozen=True)
class Shape:
    """One way a client writes a code/msg pair or an HTTP status."""

    kind: str  # "code" | "status" | "timestamp" | "client"
    name: str
    client: str  # a client name, or "any"
    pattern: str
    samples: tuple[Sample, ...]
    status: int | None = None  # a status wording without its number gives this status
    anchored: bool = False  # a time layout only at the very start of a line (epoch numbers)
    day_first_if_needed: bool = False  # month first, but a "month" over 12 is the day (14/02)

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(_GROUP.findall(self.pattern))


@dataclass(frozen=True)
class Shapes:
    """Everything shapes.toml defines, validated."""

    clients: tuple[Shape, ...]
    codes: tuple[Shape, ...]
    statuses: tuple[Shape, ...]
    timestamps: tuple[Shape, ...]
    phrases: dict[str, int]  # HTTP status phrase → status ("Too Many Requests" → 429)

    def every(self) -> tuple[Shape, ...]:
        return self.clients + self.codes + self.statuses + self.timestamps

    @property
    def client_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.clients)


def _fail(where: str, problem: str) -> ReferenceDataError:
    return ReferenceDataError(f"{DATA_FILE}: {where}: {problem}")


def _expand(pattern: str, fragments: dict[str, str], where: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fragments:
            raise _fail(where, f"unknown token <{name}>")
        return fragments[name]

    expanded = _TOKEN.sub(sub, pattern)
    try:
        re.compile(expanded)
    except re.error as exc:
        raise _fail(where, f"bad regex: {exc}") from None
    return expanded


def _samples(row: dict[str, Any], kind: str, where: str) -> tuple[Sample, ...]:
    raw = row.get("samples", row.get("sample", []))
    out = []
    for i, item in enumerate(raw):
        at = f"{where} sample {i + 1}"
        if isinstance(item, str):  # a client's sample: only the client is promised
            out.append(Sample(text=item, fields={}))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise _fail(at, "needs a text")
        if kind == "timestamp":
            when = item.get("ts")
            if not isinstance(when, str):
                raise _fail(at, "a time layout's sample needs ts (ISO-8601, or 'none')")
            if when != "none":
                try:
                    datetime.fromisoformat(when.replace("Z", "+00:00"))
                except ValueError:
                    raise _fail(at, f"ts {when!r} is not ISO-8601") from None
            fields = {"ts": None if when == "none" else when}
            out.append(Sample(text=item["text"], fields=fields, events=0))
            continue
        fields = dict(item.get("fields", {}))
        unknown = sorted(set(fields) - SAMPLE_FIELDS)
        if unknown:
            raise _fail(at, f"unknown field(s) {unknown}")
        if not fields:
            raise _fail(at, "promises no fields")
        out.append(Sample(text=item["text"], fields=fields, events=int(item.get("events", 1))))
    if not out:
        raise _fail(where, "has no samples")
    return tuple(out)


def parse_shapes(text: str) -> Shapes:
    """Validate the TOML text; every problem names the entry and sample."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail("file", str(exc)) from None
    fragments = {k: v for k, v in data.get("fragments", {}).items() if isinstance(v, str)}
    phrases = data.get("status_phrases", {})
    if not all(isinstance(v, int) and 100 <= v <= 599 for v in phrases.values()):
        raise _fail("status_phrases", "every phrase needs a status between 100 and 599")
    longest_first = sorted(phrases, key=lambda p: (-len(p), p))
    fragments["PHRASE"] = "|".join(re.escape(p).replace("\\ ", " ") for p in longest_first)
    known = {"fragments", "status_phrases", "client", "code", "status", "timestamp"}
    if extra := sorted(set(data) - known):
        raise _fail("file", f"unknown section(s) {extra}")
    clients = tuple(
        Shape(
            kind="client",
            name=row["name"],
            client=row["name"],
            pattern=_expand(row["pattern"], fragments, f"client {row['name']}"),
            samples=_samples(row, "client", f"client {row['name']}"),
        )
        for row in data.get("client", [])
    )
    names = {c.name for c in clients} | {"any"}
    built: dict[str, list[Shape]] = {"code": [], "status": [], "timestamp": []}
    for kind, rows in built.items():
        for i, row in enumerate(data.get(kind, [])):
            where = f"{kind} #{i + 1} {row.get('name', '?')!r}"
            for key in ("name", "client", "pattern"):
                if not isinstance(row.get(key), str) or not row[key]:
                    raise _fail(where, f"missing {key!r}")
            if row["client"] not in names:
                raise _fail(where, f"client {row['client']!r} is not a [[client]] (or 'any')")
            keys = {"name", "client", "pattern", "sample", "status", "anchored", "swap"}
            if extra := sorted(set(row) - keys):
                raise _fail(where, f"unknown key(s) {extra}")
            shape = Shape(
                kind=kind,
                name=row["name"],
                client=row["client"],
                pattern=_expand(row["pattern"], fragments, where),
                samples=(),
                status=row.get("status"),
                anchored=row.get("anchored") is True,
                day_first_if_needed=row.get("swap") is True,
            )
            _check_groups(shape, where)
            shape = replace(shape, samples=_samples(row, kind, where))
            rows.append(shape)
    return Shapes(
        clients=clients,
        codes=tuple(built["code"]),
        statuses=tuple(built["status"]),
        timestamps=tuple(built["timestamp"]),
        phrases=dict(phrases),
    )


def _check_groups(shape: Shape, where: str) -> None:
    groups = shape.groups
    if shape.kind == "code" and "code" not in groups:
        raise _fail(where, "a code shape needs a (?P<code>…) group")
    if (
        shape.kind == "status"
        and len({"http", "phrase"} & groups) + (shape.status is not None) != 1
    ):
        raise _fail(where, "a status shape needs one of: (?P<http>…), (?P<phrase>…), status = N")
    if shape.kind == "timestamp":
        if extra := sorted(groups - TIME_GROUPS):
            raise _fail(where, f"unknown time group(s) {extra}")
        if not ({"epoch", "epoch_ms"} & groups or {"hour", "minute", "second"} <= groups):
            raise _fail(where, "a time layout needs hour, minute and second (or an epoch)")
        if "day" in groups and not ({"month", "mon"} & groups):
            raise _fail(where, "a time layout with a day needs month or mon")


@cache
def load_shapes() -> Shapes:
    """The shipped shapes, validated once."""
    text = resources.files("analyzer.extract").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_shapes(text)


def layout_regex(layout: Shape) -> str:
    """A time layout's regex as it runs: from the start of the line, after the prefixes."""
    if layout.anchored:
        return f"^(?:{layout.pattern})"
    return f"^(?:{INDENT}|{LEAD})(?:{layout.pattern})"


@cache
def line_ts_patterns() -> tuple[str, ...]:
    """The time layouts as they run at the start of a line, without captures. They are tried
    one by one (`timed`): each alone is a fast scan, one alternation of all is ten times
    slower."""
    return tuple(without_names(layout_regex(t)) for t in load_shapes().timestamps)


def line_ts_pattern() -> str:
    """One regex for "a line starts with a time, in any layout" (for single lines, tests)."""
    return "|".join(line_ts_patterns())


def timed(text: pl.Expr) -> pl.Expr:
    """Does the line start with a time, in any layout?"""
    return pl.any_horizontal([text.str.contains(p) for p in line_ts_patterns()])


def without_names(pattern: str) -> str:
    """The pattern with its named groups made non-capturing (to join many in one regex)."""
    return _GROUP.sub("(?:", pattern)
