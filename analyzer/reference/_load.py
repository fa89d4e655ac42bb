"""Load and validate error_codes.toml into Entry rows; every problem names its row."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import polars as pl

from analyzer.errors import ReferenceDataError
from analyzer.reference._model import SOURCES, Entry, is_reason, range_category
from analyzer.schema import Category, Severity

DATA_FILE = "error_codes.toml"

_CODE_KEYS = frozenset(
    {
        "code",
        "http",
        "name",
        "message",
        "table_message",
        "table_fix",
        "category",
        "reason",
        "severity",
        "fix",
        "source",
        "note",
        "spot",
        "see",
        "wins",
        "yields_to",
    }
)
_MESSAGE_KEYS = frozenset(
    {
        "reason",
        "match",
        "message",
        "codes",
        "default_code",
        "category",
        "severity",
        "fix",
        "source",
        "note",
        "bare",
        "status",
        "implies_code",
    }
)
_INHERITED = ("category", "severity", "fix", "source")
_CORRECTED = "reference table, corrected by official docs"


class _Row:
    """Typed access to one TOML table, raising ReferenceDataError that names the row."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ReferenceDataError(f"{where}: expected a table")
        self.data: dict[str, Any] = data
        self.where = where

    def fail(self, problem: str) -> ReferenceDataError:
        return ReferenceDataError(f"{self.where}: {problem}")

    def check_keys(self, allowed: frozenset[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            raise self.fail(f"unknown key(s) {', '.join(map(repr, unknown))}")

    def _typed(self, key: str, check: Callable[[Any], bool], kind: str) -> Any:
        value = self.data.get(key)
        if value is not None and not check(value):
            raise self.fail(f"{key!r} must be {kind}, got {value!r}")
        return value

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self._typed(
            key, lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"
        )
        if required and value is None:
            raise self.fail(f"missing {key!r}")
        return value

    def integer(self, key: str) -> int | None:
        return self._typed(
            key, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"
        )

    def flag(self, key: str) -> bool:
        return bool(self._typed(key, lambda v: isinstance(v, bool), "true or false"))

    def texts(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None and required:
            raise self.fail(f"missing {key!r}")
        if isinstance(value, str):
            value = [value]
        value = [] if value is None else value
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{key!r} must be a string or a list of strings")
        return tuple(value)

    def integers(self, key: str) -> tuple[int, ...]:
        value = self.data.get(key, [])
        ok = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        if not ok:
            raise self.fail(f"{key!r} must be a list of integers")
        return tuple(value)

    def choice(self, key: str, allowed: tuple[str, ...], *, required: bool = True) -> str | None:
        value = self.text(key, required=required)
        if value is not None and value not in allowed:
            raise self.fail(f"bad {key} {value!r} (expected one of {', '.join(allowed)})")
        return value

    def reason(self) -> str | None:
        value = self.text("reason")
        if value is not None and not is_reason(value):
            raise self.fail(f"reason {value!r} is not a slug of docs/CONTRACTS.md")
        return value


_CATEGORIES = tuple(c.value for c in Category)
_SEVERITIES = tuple(s.value for s in Severity)


def _common(row: _Row, *, required: bool) -> dict[str, Any]:
    return {
        "category": row.choice("category", _CATEGORIES, required=required),
        "severity": row.choice("severity", _SEVERITIES, required=required),
        "fix": row.text("fix"),
        "source": row.choice("source", SOURCES, required=required),
        "reason": row.reason(),
        "note": row.text("note"),
        "message": row.texts("message", required=True),
    }


def _code_row(data: Any, index: int) -> Entry:
    row = _Row(data, f"[[code]] #{index}")
    code, http = row.integer("code"), row.integer("http")
    row.where += f" ({'code ' + str(code) if code is not None else 'http ' + str(http)})"
    row.check_keys(_CODE_KEYS)
    if (code is None) == (http is None):
        raise row.fail("needs exactly one of 'code' or 'http'")
    fields = _common(row, required=True)
    name = row.text("name", required=True)
    expected = Category.HTTP if http is not None else range_category(code or 0)
    if fields["category"] != expected:
        raise row.fail(f"category {fields['category']!r} does not fit its range ({expected.value})")
    reason = fields["reason"]
    if reason and reason.startswith("param:"):
        if fields["category"] != Category.REQUEST or reason != f"param:{(name or '').lower()}":
            raise row.fail(f"reason {reason!r} must be 'param:<name in lower case>' on -11xx codes")
    see = row.text("see")
    if fields["fix"] is None and see is None:
        raise row.fail("missing 'fix' (or 'see' to take it from a message rule)")
    table_message, table_fix = row.text("table_message"), row.text("table_fix")
    from_table = fields["source"].startswith("reference table")
    if from_table != (table_message is not None):
        raise row.fail("'table_message' is required exactly when source names the reference table")
    if fields["source"] == _CORRECTED and fields["note"] is None:
        raise row.fail("a corrected row needs a 'note' saying why the fix differs")
    wins, yields_to = row.flag("wins"), row.texts("yields_to")
    if http is None and (wins or yields_to):
        raise row.fail("'wins' and 'yields_to' apply to http rows only")
    return Entry(
        kind="http" if http is not None else "code",
        code=code,
        http=http,
        name=name or "",
        table_message=table_message,
        table_fix=table_fix,
        spot=row.flag("spot") if "spot" in row.data else True,
        see=see,
        wins=wins,
        yields_to=yields_to,
        **{**fields, "fix": fields["fix"] or ""},
    )


def _compile(row: _Row, pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
        pl.select(pl.lit("").str.contains(pattern))  # the Rust engine polars uses
    except (re.error, pl.exceptions.PolarsError) as exc:
        raise row.fail(f"regex {pattern!r} does not compile: {exc}") from None
    if compiled.search("") is not None:
        raise row.fail(f"regex {pattern!r} matches the empty string")
    return compiled


def _message_row(data: Any, index: int, by_code: dict[int, Entry]) -> Entry:
    row = _Row(data, f"[[message]] #{index}")
    row.where += f" ({row.data.get('reason')!r})" if isinstance(data, dict) else ""
    row.check_keys(_MESSAGE_KEYS)
    fields = _common(row, required=False)
    if fields["reason"] is None:
        raise row.fail("missing 'reason'")
    pattern = row.text("match", required=True) or ""
    compiled = _compile(row, pattern)
    templated = "{name}" in fields["reason"] or "{name}" in (fields["fix"] or "")
    if templated and "name" not in compiled.groupindex:
        raise row.fail("'{name}' needs a regex group named 'name'")
    codes, default_code = row.integers("codes"), row.integer("default_code")
    if codes and default_code not in (None, 0, *codes):
        raise row.fail(f"default_code {default_code} is not in codes {list(codes)}")
    parent = by_code.get(default_code) if default_code else None
    for key in _INHERITED:
        if fields[key] is None:
            if parent is None:
                raise row.fail(f"missing {key!r} (and no default_code row to take it from)")
            fields[key] = getattr(parent, key)
    return Entry(
        kind="message",
        match=pattern,
        codes=codes,
        default_code=default_code or None,
        bare=row.flag("bare"),
        status=row.integer("status"),
        implies_code=row.data.get("implies_code", True) is not False,
        **fields,
    )


def _rows(doc: dict[str, Any], key: str) -> list[Any]:
    rows = doc.get(key, [])
    if not isinstance(rows, list):
        raise ReferenceDataError(f"'{key}' must be an array of tables ([[{key}]])")
    return rows


def _sort_key(entry: Entry) -> tuple[int, int]:
    if entry.kind == "code":
        return (0, abs(entry.code or 0))
    return (1, entry.http or 0)


def parse_reference(text: str, origin: str = DATA_FILE) -> tuple[Entry, ...]:
    """Parse and validate reference data; entries sorted codes, http rows, message rules."""
    try:
        doc = tomllib.loads(text)
        extra = sorted(set(doc) - {"code", "message"})
        if extra:
            raise ReferenceDataError(f"unknown top-level key(s) {', '.join(map(repr, extra))}")
        coded: list[Entry] = []
        seen: set[tuple[str, int | None]] = set()
        for index, data in enumerate(_rows(doc, "code"), start=1):
            entry = _code_row(data, index)
            key = (entry.kind, entry.code if entry.kind == "code" else entry.http or 0)
            if key in seen:
                raise ReferenceDataError(f"[[code]] #{index}: duplicate {key[0]} {key[1]}")
            seen.add(key)
            coded.append(entry)
        by_code = {e.code: e for e in coded if e.code is not None}
        rules: list[Entry] = []
        for index, data in enumerate(_rows(doc, "message"), start=1):
            rule = _message_row(data, index, by_code)
            if any(r.match == rule.match for r in rules):
                raise ReferenceDataError(f"[[message]] #{index}: duplicate match {rule.match!r}")
            rules.append(rule)
        by_reason: dict[str | None, Entry] = {}
        for rule in rules:
            by_reason.setdefault(rule.reason, rule)
        resolved = []
        for entry in sorted(coded, key=_sort_key):
            if entry.see is not None and entry.see not in by_reason:
                raise ReferenceDataError(
                    f"[[code]] {entry.label}: 'see' names no message rule ({entry.see!r})"
                )
            if not entry.fix:
                entry = replace(entry, fix=by_reason[entry.see].fix)
            resolved.append(entry)
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(f"{origin}: not valid TOML: {exc}") from None
    except ReferenceDataError as exc:
        raise ReferenceDataError(f"{origin}: {exc}") from None
    return (*resolved, *rules, *_implied_rules(resolved, rules))


# A generated rule needs this many literal characters: "Invalid side." is specific enough,
# a bare "%s" or "Error." is not.
_MIN_LITERAL = 12


def _implied_rules(coded: list[Entry], rules: list[Entry]) -> list[Entry]:
    """Message rules generated from the code rows' official messages, so that a line that shows
    only the message ("Invalid symbol.") gets its code (-1121). Only spot codes, only messages
    no explicit rule matches, and only messages that one code alone sends."""
    owners: dict[str, set[int]] = {}
    for entry in coded:
        for message in entry.message if entry.kind == "code" else ():
            owners.setdefault(message, set()).add(entry.code or 0)
    explicit = [re.compile(rule.match or "") for rule in rules]
    implied: list[Entry] = []
    for entry in coded:
        if entry.kind != "code" or not entry.spot or entry.code is None:
            continue
        for message in entry.message:
            pieces = message.split("%s")
            literal = sum(len(p.strip()) for p in pieces)
            if (
                len(owners[message]) > 1
                or literal < _MIN_LITERAL
                or any(rule.search(message) for rule in explicit)
            ):
                continue
            pattern = r"[^\n]*?".join(re.escape(p) for p in pieces).replace(r"\ ", " ")
            implied.append(
                Entry(
                    kind="message",
                    match=pattern,
                    message=(message,),
                    codes=(entry.code,),
                    default_code=entry.code,
                    category=entry.category,
                    severity=entry.severity,
                    fix=entry.fix,
                    source=entry.source,
                    reason=entry.reason,
                )
            )
    return implied


@cache
def load_entries() -> tuple[Entry, ...]:
    """The shipped reference data, parsed and validated once per process."""
    text = resources.files("analyzer.reference").joinpath(DATA_FILE).read_text("utf-8")
    return parse_reference(text)
