"""Secret redaction applied to every text bnlog emits: keys, signatures, passwords, tokens."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

__all__ = [
    "REDACTION_MARKER_RE",
    "redact_column",
    "redact_series",
    "redact_text",
    "redaction_marker",
]

# How the rules are written (read this before adding one):
# * Every pattern runs twice: in Python `re` (redact_text) and in polars' Rust regex (redact_series),
#   so only syntax both share: no lookaround, no backreferences, no `.`/`\s`/`\w`/`\d` (their
#   Unicode meanings differ between the engines); word boundaries and case folding are ASCII-only.
# * Linear time in both engines: no nested quantifiers (a test walks the parsed patterns), and each
#   rule starts at a literal (`://`, `/ws/`, `--`), an ASCII word start or `_`, or (bare keys) gives
#   up within 60 characters, so Python's backtracking never rescans a long stretch.
# * Rules only locate candidates. Whether a candidate is a secret, and which part is the value, is
#   decided in Python on the matched text alone (`_redact_span`), so both paths agree exactly.
# * Group names: `v_*` the value (exactly one takes part in a match), `k_*` the key, `s_*` the
#   separator. A value group always tries MARKER first, so a redacted value is never re-redacted.

_MARKER = r"<redacted:[0-9a-f]{6}>"
REDACTION_MARKER_RE: re.Pattern[str] = re.compile(_MARKER)

_WORDS = (
    "(?i:key|secret|password|passwd|passphrase|signature|token|authorization"
    "|access_token|refresh_token|auth_token|api_token|bot_token)"
)
_SEGMENT = r"[A-Za-z0-9]{1,16}[_-]"  # one `api-` / `binance_` in a flag name
_SCHEME = r"(?:(?i:bearer|basic|token|digest)[ \t])?"  # one space, as clients print it
_SPACE = r"\t\n\x0b\x0c\r "
_STOP = _SPACE + r"\"'`\\&,;|<>(){}\[\]"  # what ends an unquoted value
# Inside quotes: anything but the quote and line ends, backslash escapes allowed, and `<` only when
# not followed by `r` — so no quoted value can run through a marker (`<redacted:…>`) left by an
# earlier redaction, which keeps redaction idempotent.
_DQ = r"(?:[^\"\\<\r\n]|\\[^\r\n]|<[^r\"\\\r\n])*<?"  # inside "…"
_SQ = r"(?:[^'\\<\r\n]|\\[^\r\n]|<[^r'\\\r\n])*<?"  # inside '…'
_EQ = r"(?:[^\"\\<\r\n]|<[^r\"\\\r\n])*<?"  # inside \"…\" (JSON quoted in a JSON string)


def _value(rule: str, first: str = f"[^{_STOP}]") -> str:
    """The value forms after a separator: "…", '…', \\"…\\", or a bare run (maybe unterminated)."""
    return (
        f'(?:b?"{_SCHEME}(?P<v_{rule}_dq>{_MARKER}|{_DQ})"'
        f"|b?'{_SCHEME}(?P<v_{rule}_sq>{_MARKER}|{_SQ})'"
        f'|\\\\"{_SCHEME}(?P<v_{rule}_eq>{_MARKER}|{_EQ})\\\\"'
        f'|(?:b["\']|["\']|\\\\")?{_SCHEME}(?P<v_{rule}_bare>{_MARKER}|{first}[^{_STOP}]*))'
    )


_NOT_SECRET = re.compile(
    r"(?i:none|null|nil|true|false|undefined|n/a)"  # placeholders
    r"|[*xX.•-]+"  # masks someone already applied: ***, xxxx, •••
    r"|-?[0-9]{1,19}(?:\.[0-9]+)?"  # plain numbers: counts, ids, epochs (no secret is one)
)
_PROSE = re.compile(r"[A-Z][a-z]+")  # "INVALID_SIGNATURE: Signature for this request …"
_TOKEN_COMPOUNDS = ("access_token", "refresh_token", "auth_token", "api_token", "bot_token")


def _plausible(value: str) -> bool:
    """False for empty values, markers, placeholders, masks and plain numbers."""
    return (
        bool(value)
        and not REDACTION_MARKER_RE.fullmatch(value)
        and not _NOT_SECRET.fullmatch(value)
    )


def _kv_is_secret(m: re.Match[str], group: str, value: str) -> bool:
    """A `name=value` / `name: value` pair whose name ends in a secret word."""
    if not _plausible(value):
        return False
    if group == "v_kv_bare" and m.group("s_kv") == ":" and _PROSE.fullmatch(value):
        between = m.string[m.end("s_kv") : m.start(group)]
        if not between.strip(" \t"):  # `Name: Word` with nothing else is prose, not a secret
            return False
    key = m.group("k_kv")
    # `token` also names coins (`quote_token: USDT`): only long values with a digit count.
    if key.lower().endswith("token") and not key.lower().endswith(_TOKEN_COMPOUNDS):
        return len(value) >= 16 and any(c.isdigit() for c in value)
    return True


def _looks_like_key(m: re.Match[str], group: str, value: str) -> bool:
    """A bare run is an API key (64) or listen key (60) when it mixes letters and digits."""
    return (
        len(value) in (60, 64)
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def _value_is_secret(m: re.Match[str], group: str, value: str) -> bool:
    """Rules whose context already says "secret": only placeholders and masks are spared."""
    return _plausible(value)


@dataclass(frozen=True)
class _Rule:
    """One secret shape: where it is found and how to tell a real secret from a lookalike."""

    name: str
    pattern: str
    is_secret: Callable[[re.Match[str], str, str], bool]
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern, re.ASCII))


# Order matters only where two rules can start at the same place (kv before bearer and bare).
_RULES: tuple[_Rule, ...] = (
    # https://user:pass@host, redis://:pass@host — the password only; the user stays readable.
    _Rule(
        "url",
        rf"://[^{_SPACE}/?#@:<>]*:(?P<v_url>{_MARKER}|[^{_SPACE}/?#@<>]+)@",
        _value_is_secret,
    ),
    # wss://stream.binance.us:9443/ws/<listenKey>
    _Rule("ws", rf"/ws/(?P<v_ws>{_MARKER}|[A-Za-z0-9]{{32,}})", _value_is_secret),
    # --api-secret xyz, --binance-api-key "…" (`--name=value` is the kv rule's). The name is
    # 0-3 segments then a word, spelled as branches: no nested quantifier, few tries per `--`.
    _Rule(
        "cli",
        rf"--\b(?P<k_cli>{'|'.join(_SEGMENT * n + _WORDS for n in range(4))})[ \t]+"
        + _value("cli", first=f"[^{_STOP}-]"),
        _value_is_secret,
    ),
    # apiKey=…, "secret": "…", 'X-MBX-APIKEY': '…', binance_api_key: …, Authorization: Bearer …
    # The name starts at a word start or at an underscore (`binance_api_key`), ends in a word.
    _Rule(
        "kv",
        rf"(?:\b|_)(?P<k_kv>[A-Za-z0-9]{{0,40}}{_WORDS})(?:\\[\"']|[\"'])?[ \t]*"
        rf"(?P<s_kv>[:=])>?[ \t]*{_value('kv')}",
        _kv_is_secret,
    ),
    # a bearer token outside an Authorization header
    _Rule(
        "bearer",
        rf"\b(?i:bearer)[ \t]+(?P<v_bearer>{_MARKER}|[A-Za-z0-9._~+/=-]{{8,}})",
        _value_is_secret,
    ),
    # a bare 64-char API key / HMAC signature or a 60-char listen key (checked in _looks_like_key)
    _Rule("bare", r"(?P<v_bare>[A-Za-z0-9]{60,})", _looks_like_key),
)

_PY_ALL: re.Pattern[str] = re.compile("|".join(f"(?:{r.pattern})" for r in _RULES), re.ASCII)


def _to_rust(pattern: str) -> str:
    """The same pattern for polars' Rust regex, with ASCII-only `\\b` and case folding."""
    return pattern.replace(r"\b", r"(?-u:\b)").replace("(?i:", "(?i-u:")


_RUST_ALL: str = _to_rust(_PY_ALL.pattern)


def redaction_marker(secret: str) -> str:
    """`<redacted:xxxxxx>`: the first 6 hex of sha256(secret), stable across runs and machines."""
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    return f"<redacted:{digest[:6]}>"


@lru_cache(maxsize=4096)
def _redact_span(span: str) -> str:
    """Redact one candidate (a whole match of the combined pattern), or return it unchanged."""
    for rule in _RULES:
        m = rule.regex.fullmatch(span)
        if m is None:
            continue
        group = next(g for g, v in m.groupdict().items() if g.startswith("v_") and v is not None)
        value = m.group(group)
        start, end = m.span(group)
        if not rule.is_secret(m, group, value):
            return span
        return span[:start] + redaction_marker(value) + span[end:]
    return span


def redact_text(text: str) -> str:
    """Replace every secret value in `text` by its marker; key names and the rest stay."""
    return _PY_ALL.sub(lambda m: _redact_span(m.group(0)), text)


def _sentinel(s: pl.Series) -> str:
    """A separator that occurs nowhere in `s` and overlaps with no copy of itself."""
    i = 0
    while s.str.contains(sentinel := f"\x00{i}\x01", literal=True).any():
        i += 1
    return sentinel


def redact_series(s: pl.Series) -> pl.Series:
    """`redact_text` on every element, vectorised: Python only sees the distinct candidates."""
    if s.dtype != pl.String:
        raise TypeError(f"redact_series needs a String series, got {s.dtype}")
    hit = s.str.contains(_RUST_ALL).fill_null(False)
    if not hit.any():
        return s
    rows = hit.arg_true()
    sub = s.gather(rows)
    sep = _sentinel(sub)
    # Wrap every candidate in separators: split gives [text, match, text, match, …, text].
    pieces = sub.str.replace_all(_RUST_ALL, f"{sep}${{0}}{sep}").str.split(sep)
    candidates = pieces.list.gather_every(2, offset=1).explode().drop_nulls().unique().to_list()
    changed = {c: r for c in candidates if (r := _redact_span(c)) != c}
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


def redact_column(df: pl.DataFrame, column: str) -> pl.DataFrame:
    """`df` with `column` redacted in place (same name, same position)."""
    return df.with_columns(redact_series(df.get_column(column)))
