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
# * Linear time in both engines: no nested quantifiers, and every pattern starts at a literal or at
#   an ASCII word start, so a backtracking attempt never rescans more than one bounded stretch.
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
_SCHEME = r"(?:(?i:bearer|basic|token|digest)[ \t])?"  # one space, as clients print it
_SPACE = r"\t\n\x0b\x0c\r "
_STOP = _SPACE + r"\"'`\\&,;|<>(){}\[\]"  # what ends an unquoted value
_DQ = r"(?:[^\"\\\r\n]|\\[^\r\n])*"  # inside "…", backslash escapes allowed
_SQ = r"(?:[^'\\\r\n]|\\[^\r\n])*"  # inside '…'
_EQ = r"[^\"\\\r\n]*"  # inside \"…\" (JSON quoted inside a JSON string)


def _value(rule: str, first: str = f"[^{_STOP}]") -> str:
    """The value forms after a separator: "…", '…', \\"…\\", or a bare run (maybe unterminated)."""
    return (
        f'(?:b?"{_SCHEME}(?P<v_{rule}_dq>{_MARKER}|{_DQ})"'
        f"|b?'{_SCHEME}(?P<v_{rule}_sq>{_MARKER}|{_SQ})'"
        f'|\\\\"{_SCHEME}(?P<v_{rule}_eq>{_MARKER}|{_EQ})\\\\"'
        f"|(?:b[\"']|[\"']|\\\\\")?{_SCHEME}(?P<v_{rule}_bare>{_MARKER}|{first}[^{_STOP}]*))"
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
    return bool(value) and not REDACTION_MARKER_RE.fullmatch(value) and not _NOT_SECRET.fullmatch(value)


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


_SECRET_NAME = re.compile(rf"[A-Za-z0-9_-]*{_WORDS}", re.ASCII)


def _cli_is_secret(m: re.Match[str], group: str, value: str) -> bool:
    """`--api-secret xyz`: the flag's name ends in a secret word."""
    return bool(_SECRET_NAME.fullmatch(m.group("k_cli"))) and _plausible(value)


def _value_is_secret(m: re.Match[str], group: str, value: str) -> bool:
    """Rules whose context already says "secret": only placeholders and masks are spared."""
    return _plausible(value)


@dataclass(frozen=True)
class _Rule:
    """One secret shape: where it is found and how to tell a real secret from a lookalike."""

    name: str
    pattern: str
    is_secret: Callable[[re.Match[str], str, str], bool]
    rescan: bool = False  # not a secret: other rules may still match inside the value
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern, re.ASCII))


# Order matters only where two rules can start at the same place (kv before bearer and bare).
_RULES: tuple[_Rule, ...] = (
    # https://user:pass@host, redis://:pass@host — the password only; the user stays readable.
    _Rule(
        "url",
        rf"://[^{_SPACE}/?#@:]*:(?P<v_url>{_MARKER}|[^{_SPACE}/?#@]+)@",
        _value_is_secret,
    ),
    # wss://stream.binance.us:9443/ws/<listenKey>
    _Rule("ws", rf"/ws/(?P<v_ws>{_MARKER}|[A-Za-z0-9]{{32,}})", _value_is_secret),
    # --api-secret xyz, --password "a b" (`--name=value` is the kv rule's). Any `--flag value`
    # is a candidate (a word list here would cost Python 30 tries per `--`); _cli_is_secret
    # looks at the name, and the value of any other flag is scanned again on its own.
    _Rule(
        "cli",
        rf"--\b(?P<k_cli>[A-Za-z0-9_-]{{1,40}})[ \t]+{_value('cli', first=f'[^{_STOP}-]')}",
        _cli_is_secret,
        rescan=True,
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


@lru_cache(maxsize=65536)
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
            return span[:start] + redact_text(span[start:]) if rule.rescan else span
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
