"""Secret redaction applied to every text bnlog emits: keys, signatures, passwords, tokens.

The shapes are data (redact_shapes.toml, validated by redact_shapes.py). Each shape's pattern
only *locates* a candidate; whether it is a secret, and which part is the value, is decided
here in Python on the matched text alone (`_redact_span`), so the two ways of running it agree
exactly: `redact_text` (Python `re`, for single strings) and `redact_series` (polars' Rust
regex finds the candidates of a whole column; Python sees each distinct candidate once).

Two stages: the "main" shapes, then the "wrap" shapes on their result (the rest of a value
that a line wrap moved to the next line). Line breaks are never removed, so a redacted record
has the lines it had.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from analyzer.redact_shapes import (
    SecretShape,
    load_secret_shapes,
    rust_pattern,
    without_names,
)

__all__ = [
    "REDACTION_MARKER_RE",
    "redact_column",
    "redact_error",
    "redact_series",
    "redact_text",
    "redaction_marker",
]

REDACTION_MARKER_RE: re.Pattern[str] = re.compile(r"<redacted:[0-9a-f]{6}>")

# A candidate's rest is searched again (a value cut at `&`, a lookalike that was not a
# secret): at most this deep. Deeper nesting (only crafted text has it) is redacted whole.
MAX_DEPTH = 8


def redaction_marker(secret: str) -> str:
    """`<redacted:xxxxxx>`: the first 6 hex of sha256(secret), stable across runs and machines."""
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    return f"<redacted:{digest[:6]}>"


_LINE_BREAK = re.compile(r"\r?\n")


def _replacement(value: str) -> str:
    """The marker of a value; a value over several lines keeps its line breaks after it."""
    return redaction_marker(value) + "".join(_LINE_BREAK.findall(value))


# --- the checks: is a candidate a secret, and which part of it ------------------------------

# What a check returns: the spans of the candidate to replace by their markers, and where in
# the candidate to search again (after the last span, or the value of a rejected candidate).
Verdict = tuple[list[tuple[int, int]], int]

_NOT_SECRET = re.compile(
    r"(?i:none|null|nil|true|false|undefined|n/a)"  # placeholders
    r"|[*xX.•-]+|<[A-Za-z_ -]{1,40}>"  # masks someone already applied: ***, xxxx, <REMOVED>
    r"|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?"  # a shell variable: X-MBX-APIKEY: $KEY
    r"|-?[0-9]{1,19}(?:\.[0-9]+)?"  # plain numbers: counts, ids, epochs (no secret is one)
)
_PROSE = re.compile(r"[A-Z][a-z]+")  # "INVALID_SIGNATURE: Signature for this request …"
_TOKEN_COMPOUNDS = ("access_token", "refresh_token", "auth_token", "api_token", "bot_token")
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_DATE_LIKE = re.compile(r"[0-9]{2,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}")
_PLAIN_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+")
# A key name before its value (`api_secret=`, `apiKey=`): the start of a new pair, not the rest
# of the value above.
_KEY_NAME = re.compile(r"[a-z]+(?:_[a-z]+|[A-Z][a-z]+)*=")
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")


def _mixed(value: str) -> bool:
    """Letters and digits both (a key, a signature; not a word, not a number)."""
    return bool(_DIGIT.search(value) and _LETTER.search(value))


def _plausible(value: str) -> bool:
    """False for empty values, markers, placeholders, masks and plain numbers."""
    return (
        bool(value)
        and not REDACTION_MARKER_RE.fullmatch(value)
        and not _NOT_SECRET.fullmatch(value)
    )


def _value_group(m: re.Match[str]) -> str:
    """The value group that took part in the match (a shape has exactly one per branch)."""
    return next(g for g, v in m.groupdict().items() if g[0] == "v" and v is not None)


# A rejected value longer than this is not searched again for pairs glued into it: it was
# rejected for having no digit, and a glued key or signature would have brought one.
_RESCAN_MAX = 256


def _rejected(m: re.Match[str], group: str) -> Verdict:
    """Nothing to replace; search again from the value (or after it, when it starts the
    candidate, so the same shape would only match it again, or when it is long)."""
    start, end = m.span(group)
    return [], start if 0 < start and end - start <= _RESCAN_MAX else end


def _check_value(m: re.Match[str]) -> Verdict:
    """The context already says "secret": only placeholders and masks are spared."""
    group = _value_group(m)
    if not _plausible(m.group(group)):
        return _rejected(m, group)
    return [m.span(group)], m.end(group)


def _check_key(m: re.Match[str]) -> Verdict:
    """A bare run is an API key (64) or listen key (60) when it mixes letters and digits."""
    value = m.group("v")
    if len(value) in (60, 64) and _mixed(value):
        return [m.span("v")], m.end("v")
    return _rejected(m, "v")


# Where a bare value ends before its whitespace: a quote that closes a structure ("…","next"
# or '…', 'next'), a `,` `;` `&` followed by the next name (`secret=abc,next=1`), or an
# escaped line break or quote of a dumped string (`…\r\nUser-Agent: …`). (In a query string
# the pattern itself stops at `&`, `#` and what a URL cannot hold unencoded.)
_BARE_STOP = re.compile(
    r"[\"'`](?=[,:;}\])&>|]|$)|[,;&](?=[A-Za-z_][A-Za-z0-9_.-]{0,40}[=:])|\\[rnt\"']"
)


def _bare_end(value: str, structured: bool) -> int:
    """Where a bare value really ends (`structured`: it may sit in JSON, a repr or a list of
    pairs), and without trailing `,;.`, an unbalanced closing bracket or an unpaired quote."""
    stop = _BARE_STOP.search(value) if structured else None
    end = stop.start() if stop else len(value)
    while end > 0:
        c = value[end - 1]
        body = value[: end - 1]
        if c in ",;." or (c in _CLOSERS and body.count(_CLOSERS[c]) <= body.count(c)):
            end -= 1
        elif c in "'\"`" and body.count(c) % 2 == 0:
            end -= 1
        else:
            break
    return end


def _check_kv(m: re.Match[str]) -> Verdict:
    """A `name=value` / `name: value` pair whose name ends in a secret word."""
    group = _value_group(m)
    start, end = m.span(group)
    value = m.group(group)
    if group in ("v_bare", "v_q"):
        end = start + _bare_end(value, group == "v_bare")
        value = value[: end - start]
    if not _plausible(value):
        return _rejected(m, group)
    key = m.group("k") if m.group("k") is not None else m.group("kq")
    separator = m.group("s") if group != "v_q" else "="
    if group == "v_bare" and separator == ":" and _PROSE.fullmatch(value):
        if not m.string[m.end("s") : start].strip(" \t"):  # `Name: Word` is prose
            return _rejected(m, group)
    if key == "PWD" and value.startswith("/"):  # the shell's working directory
        return _rejected(m, group)
    # `token` also names coins (`quote_token: USDT`), a bare `key` a market or a cache entry
    # (`key=XRP/USDT:USDT`): there only long values with a digit count.
    lower = key.lower()
    bare_key = lower == "key" and m.groupdict().get("j") is None
    if bare_key or (lower.endswith("token") and not lower.endswith(_TOKEN_COMPOUNDS)):
        if len(value) < 16 or not _DIGIT.search(value):
            return _rejected(m, group)
    return [(start, end)], end


_LETTERS_DIGITS = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def _continues(run: str, whole_line: bool) -> bool:
    """Is `run`, at the start of the line after a redacted value, the rest of that value?
    A whole line is, unless it is a plain word or a date; a run with more text after it
    (Rich indents the rest of a wrapped line) only when it looks random: 8+ characters where
    letters and digits alternate 3 times or more (not `freqtrade-3  | …`, `HTTP/1.1 …`)."""
    if _DATE_LIKE.match(run) or _KEY_NAME.fullmatch(run):
        return False
    if whole_line:
        return not _PLAIN_WORD.fullmatch(run)
    return len(run) >= 8 and len(_LETTERS_DIGITS.findall(run)) >= 3


_QUOTED_PIECE = {
    '"': re.compile(r'\r?\n[ \t]*"((?:[^"\\\r\n]|\\[^\r\n])*)"'),
    "'": re.compile(r"\r?\n[ \t]*'((?:[^'\\\r\n]|\\[^\r\n])*)'"),
}
_RUN_PIECE = re.compile(r"\r?\n[ \t]*([A-Za-z0-9+/_][A-Za-z0-9+/_-]*={0,2})")


def _check_wrapped(m: re.Match[str]) -> Verdict:
    """The lines after a marker go on with the value the marker replaced: each piece is
    redacted, up to the first line that does not continue it."""
    span = m.group(0)
    marker = REDACTION_MARKER_RE.match(span)
    at = marker.end() if marker else 0
    spans: list[tuple[int, int]] = []
    if span[at] in _QUOTED_PIECE:  # pprint's adjacent literals: 'tr0ub4dor h0rse '\n  'b4ttery'
        pos = at + 1
        while piece := _QUOTED_PIECE[span[at]].match(span, pos):
            if not _plausible(piece.group(1)):
                return spans, piece.start(1)
            spans.append(piece.span(1))
            pos = piece.end()
        return spans, pos
    pieces = list(_RUN_PIECE.finditer(span, at))
    end = m.group("end")
    for i, piece in enumerate(pieces):
        whole_line = i < len(pieces) - 1 or end is None or end in "\r\n"
        if not _continues(piece.group(1), whole_line):
            return spans, piece.start(1)
        spans.append(piece.span(1))
    return spans, spans[-1][1]


def _check_bare_wrapped(m: re.Match[str]) -> Verdict:
    """Two runs around a line break that make one 60/64-character key."""
    first, second = ("v", "v_next") if m.group("v") is not None else ("v_short", "v_long")
    joined = m.group(first) + m.group(second)
    if len(joined) in (60, 64) and _mixed(joined):
        return [m.span(first), m.span(second)], m.end(second)
    return [], m.end(first)


CHECKS: dict[str, Callable[[re.Match[str]], Verdict]] = {
    "value": _check_value,
    "kv": _check_kv,
    "key": _check_key,
    "wrapped": _check_wrapped,
    "bare_wrapped": _check_bare_wrapped,
}


# --- the engine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """One shape, compiled, with its check."""

    shape: SecretShape
    check: Callable[[re.Match[str]], Verdict]
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.shape.pattern, re.ASCII))


@dataclass(frozen=True)
class _Stage:
    """The shapes of one stage: each alone (to decide), and all in one regex (to locate)."""

    index: int
    rules: tuple[_Rule, ...]
    python: re.Pattern[str]
    rust: str


def _stages() -> tuple[_Stage, ...]:
    shapes = load_secret_shapes()
    out = []
    for index, name in enumerate(("main", "wrap")):
        rules = tuple(_Rule(s, CHECKS[s.check]) for s in shapes.stage(name))
        joined = "|".join(f"(?:{without_names(r.shape.pattern)})" for r in rules)
        out.append(_Stage(index, rules, re.compile(joined, re.ASCII), rust_pattern(joined)))
    return tuple(out)


_STAGES = _stages()


@lru_cache(maxsize=8192)
def _redact_span(stage: int, span: str, depth: int = 0) -> str:
    """Redact one candidate (a whole match of the stage's combined pattern): the first shape
    that matches all of it decides; the part after its value is searched again."""
    for rule in _STAGES[stage].rules:
        m = rule.regex.fullmatch(span)
        if m is None:
            continue
        spans, resume = rule.check(m)
        out, pos = [], 0
        for start, end in spans:
            out += [span[pos:start], _replacement(span[start:end])]
            pos = end
        resume = max(resume, pos)
        out.append(span[pos:resume])
        out.append(_search(stage, span[resume:], depth + 1))
        return "".join(out)
    return span


def _search(stage: int, text: str, depth: int) -> str:
    """Every candidate of the stage in `text`, redacted."""
    if not text:
        return text
    if depth > MAX_DEPTH:
        return _replacement(text)
    return _STAGES[stage].python.sub(lambda m: _redact_span(stage, m.group(0), depth), text)


# The wrap stage runs again on its own result this often at most (a key split by a line wrap
# and then wrapped on: each pass takes a whole run of continued lines at once).
WRAP_PASSES = 4


def redact_text(text: str) -> str:
    """Replace every secret value in `text` by its marker; key names and the rest stay."""
    text = _search(0, text, 0)
    if "\n" not in text:
        return text
    for _ in range(WRAP_PASSES):
        again = _search(1, text, 0)
        if again == text:
            break
        text = again
    return text


def _sentinel(s: pl.Series) -> str:
    """A separator that occurs nowhere in `s` and overlaps with no copy of itself."""
    i = 0
    while s.str.contains(sentinel := f"\x00{i}\x01", literal=True).any():
        i += 1
    return sentinel


def _series_stage(s: pl.Series, stage: int) -> pl.Series:
    """One stage over a column: polars locates the candidates, Python decides each distinct one."""
    pattern = _STAGES[stage].rust
    hit = s.str.contains(pattern).fill_null(False)
    if not hit.any():
        return s
    rows = hit.arg_true()
    sub = s.gather(rows)
    sep = _sentinel(sub)
    # Wrap every candidate in separators: split gives [text, match, text, match, …, text].
    pieces = sub.str.replace_all(pattern, f"{sep}${{0}}{sep}").str.split(sep)
    candidates = pieces.list.gather_every(2, offset=1).explode().drop_nulls().unique().to_list()
    changed = {c: r for c in candidates if (r := _redact_span(stage, c)) != c}
    if not changed:
        return s
    is_match = pl.int_range(pl.len()) % 2 == 1
    redacted = pieces.list.eval(
        pl.when(is_match)
        .then(pl.element().replace(list(changed), list(changed.values())))
        .otherwise(pl.element())
    ).list.join("")
    out = s.clone()
    out.scatter(rows, redacted)
    return out


def redact_series(s: pl.Series) -> pl.Series:
    """`redact_text` on every element, vectorised: Python only sees the distinct candidates."""
    if s.dtype != pl.String:
        raise TypeError(f"redact_series needs a String series, got {s.dtype}")
    s = _series_stage(s, 0)
    multiline = s.str.contains("\n", literal=True).fill_null(False)
    if not multiline.any():
        return s
    rows = multiline.arg_true()
    lines = s.gather(rows)
    for _ in range(WRAP_PASSES):
        again = _series_stage(lines, 1)
        if again.equals(lines):
            break
        lines = again
    out = s.clone()
    out.scatter(rows, lines)
    return out


def redact_column(df: pl.DataFrame, column: str) -> pl.DataFrame:
    """`df` with `column` redacted in place (same name, same position)."""
    return df.with_columns(redact_series(df.get_column(column)))


# --- values echoed in error messages --------------------------------------------------------

# An error echoes what the user typed ("--tz 'xyz': unknown time zone", "no such file"). A
# secret pasted into the wrong place has no key around it to recognise it by, so there a run
# of 12+ letters and digits that looks random is redacted too: letters and digits, both cases
# (or 24+ characters), no date in it, and at least detect-secrets' hex-string limit of
# Shannon entropy (3.0 bits per character). Words joined by `_` or `-` (file and test names)
# are runs of their own, each too short or too plain.
_ECHO_TOKEN = re.compile(r"[A-Za-z0-9]{12,}")
ECHO_MIN_ENTROPY = 3.0


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_random(token: str) -> bool:
    """Does an echoed token look like a machine-made secret rather than a word, path or time?"""
    cased = any(c.isupper() for c in token) and any(c.islower() for c in token)
    return (
        _mixed(token)
        and (cased or len(token) >= 24)
        and not _DATE_LIKE.search(token)
        and _entropy(token) >= ECHO_MIN_ENTROPY
    )


def redact_error(message: str) -> str:
    """An error message for stderr: `redact_text`, and every echoed token that looks random."""
    return _ECHO_TOKEN.sub(
        lambda m: redaction_marker(m.group(0)) if looks_random(m.group(0)) else m.group(0),
        redact_text(message),
    )
