"""Load and validate redact_shapes.toml: the secret shapes, their samples, and text to keep."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import polars as pl

from analyzer.errors import ReferenceDataError

DATA_FILE = "redact_shapes.toml"
# The Python tests a candidate can be put to (analyzer/redact.py holds them; a test checks
# that both lists agree).
CHECKS = frozenset({"value", "kv", "key", "wrapped", "bare_wrapped"})
# "main" shapes run first, "wrap" shapes on their result (a value cut by a line wrap).
STAGES = ("main", "wrap")
# Group names a pattern may use: v… the value, k (kq) the key, s the separator, q a query's ? or &,
# j a `_`/`-` joining the key to a longer name, qd/qs the quote of a wrapped quoted value, end
# the character after a wrapped run.
_VALUE_GROUP = re.compile(r"v(?:_[a-z]+)?")
_OTHER_GROUPS = frozenset({"k", "kq", "s", "q", "j", "qd", "qs", "end"})
_TOKEN = re.compile(r"<([A-Z_]+)>")
_GROUP = re.compile(r"\(\?P<(\w+)>")
_NAME = re.compile(r"[a-z][a-z_]*")


@dataclass(frozen=True)
class SecretSample:
    """Text as a bot prints it, the secrets in it, and (when not simply each secret replaced by
    its marker) the exact redacted text, with <M1>, <M2>, … for the markers."""

    text: str
    secrets: tuple[str, ...]
    expect: str | None = None


@dataclass(frozen=True)
class SecretShape:
    """One place a secret sits: a pattern that locates it and the check that confirms it."""

    name: str
    stage: str
    check: str
    about: str
    pattern: str  # tokens expanded; Python `re` syntax that polars' regex also accepts
    samples: tuple[SecretSample, ...]

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(_GROUP.findall(self.pattern))


@dataclass(frozen=True)
class SecretShapes:
    """Everything redact_shapes.toml defines, validated."""

    shapes: tuple[SecretShape, ...]
    keep: tuple[str, ...]  # text that must come out unchanged

    def stage(self, stage: str) -> tuple[SecretShape, ...]:
        return tuple(s for s in self.shapes if s.stage == stage)


def _fail(where: str, problem: str) -> ReferenceDataError:
    return ReferenceDataError(f"{DATA_FILE}: {where}: {problem}")


def value_forms(first: str) -> str:
    """Every way a value follows its key: "…", '…', \\"…\\" or a bare run starting with
    `first` (unterminated quotes fall back to the bare run)."""
    return (
        '(?:b?"<SCHEME>(?P<v_dq><MARKER>|<DQ>)"'
        "|b?'<SCHEME>(?P<v_sq><MARKER>|<SQ>)'"
        '|\\\\"<SCHEME>(?P<v_eq><MARKER>|<EQ>)\\\\"'
        f'|(?:b["\']|["\']|\\\\")?<SCHEME>(?P<v_bare><MARKER>|{first}))'
    )


def _expand(pattern: str, fragments: dict[str, str], where: str) -> str:
    """Tokens replaced until none is left (fragments may use other fragments)."""
    for _ in range(5):
        if not _TOKEN.search(pattern):
            return pattern

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "VALUE":
                return value_forms("<BARE>")
            if name not in fragments:
                raise _fail(where, f"unknown token <{name}>")
            return fragments[name]

        pattern = _TOKEN.sub(sub, pattern)
    raise _fail(where, "tokens nest too deep")


def _compile(pattern: str, where: str) -> None:
    """The pattern must compile in both engines, with the group names the engine knows."""
    try:
        re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise _fail(where, f"bad regex: {exc}") from None
    try:
        pl.Series([""], dtype=pl.String).str.contains(rust_pattern(pattern))
    except pl.exceptions.ComputeError as exc:
        detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise _fail(where, f"polars cannot run it: {detail}") from None
    groups = _GROUP.findall(pattern)
    if not any(_VALUE_GROUP.fullmatch(g) for g in groups):
        raise _fail(where, "needs a value group (?P<v…>…)")
    if bad := sorted(g for g in groups if not _VALUE_GROUP.fullmatch(g) and g not in _OTHER_GROUPS):
        raise _fail(where, f"unknown group(s) {bad}")


def rust_pattern(pattern: str) -> str:
    """The same pattern for polars' Rust regex, with ASCII-only `\\b` and case folding."""
    return pattern.replace(r"\b", r"(?-u:\b)").replace("(?i:", "(?i-u:")


def without_names(pattern: str) -> str:
    """The pattern with its named groups made non-capturing (to join many in one regex)."""
    return _GROUP.sub("(?:", pattern)


def _samples(row: dict[str, Any], where: str) -> tuple[SecretSample, ...]:
    out = []
    for i, item in enumerate(row.get("sample", [])):
        at = f"{where} sample {i + 1}"
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise _fail(at, "needs a text")
        if extra := sorted(set(item) - {"text", "secrets", "expect"}):
            raise _fail(at, f"unknown key(s) {extra}")
        secrets = item.get("secrets")
        if not isinstance(secrets, list) or not secrets:
            raise _fail(at, "needs secrets (a list of the values that must vanish)")
        for secret in secrets:
            if not isinstance(secret, str) or not secret:
                raise _fail(at, "every secret is a non-empty string")
            if secret not in item["text"]:
                raise _fail(at, f"secret {secret[:12]!r}… does not occur in the text")
        expect = item.get("expect")
        if expect is not None and not isinstance(expect, str):
            raise _fail(at, "expect is a string")
        out.append(SecretSample(item["text"], tuple(secrets), expect))
    if not out:
        raise _fail(where, "has no samples")
    return tuple(out)


def parse_secret_shapes(text: str) -> SecretShapes:
    """Validate the TOML text; every problem names the shape and sample."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail("file", str(exc)) from None
    if extra := sorted(set(data) - {"fragments", "shape", "keep"}):
        raise _fail("file", f"unknown section(s) {extra}")
    fragments = data.get("fragments", {})
    if not all(isinstance(v, str) for v in fragments.values()):
        raise _fail("fragments", "every fragment is a string")
    shapes: list[SecretShape] = []
    for i, row in enumerate(data.get("shape", [])):
        where = f"shape #{i + 1} {row.get('name', '?')!r}"
        if extra := sorted(set(row) - {"name", "stage", "check", "about", "pattern", "sample"}):
            raise _fail(where, f"unknown key(s) {extra}")
        for key in ("name", "check", "about", "pattern"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise _fail(where, f"missing {key!r}")
        if not _NAME.fullmatch(row["name"]) or any(s.name == row["name"] for s in shapes):
            raise _fail(where, "needs a unique lower-case name")
        if row["check"] not in CHECKS:
            raise _fail(where, f"check {row['check']!r} is not one of {sorted(CHECKS)}")
        stage = row.get("stage", "main")
        if stage not in STAGES:
            raise _fail(where, f"stage {stage!r} is not one of {list(STAGES)}")
        pattern = _expand(row["pattern"], fragments, where)
        _compile(pattern, where)
        shapes.append(
            SecretShape(
                name=row["name"],
                stage=stage,
                check=row["check"],
                about=row["about"],
                pattern=pattern,
                samples=_samples(row, where),
            )
        )
    if not shapes:
        raise _fail("file", "defines no shape")
    keep = []
    for i, item in enumerate(data.get("keep", [])):
        if not isinstance(item, dict) or set(item) != {"text"} or not isinstance(item["text"], str):
            raise _fail(f"keep #{i + 1}", "needs exactly a text")
        keep.append(item["text"])
    return SecretShapes(shapes=tuple(shapes), keep=tuple(keep))


@cache
def load_secret_shapes() -> SecretShapes:
    """The shipped secret shapes, validated once."""
    text = resources.files("analyzer").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_secret_shapes(text)
