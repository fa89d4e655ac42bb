"""What a report shows of the world, made inert: file names redacted, control characters escaped.

Log lines and file names are written by others. Before a renderer draws a Report:
- every file name it prints (evidence `path`, the `path:line:` of an other-errors example, the
  warnings) goes through the project's redaction, like the log text already did (unless
  --no-redact);
- every text in it has its control characters (C0, DEL, C1), bidirectional overrides, lone
  surrogates and the non-characters U+FFFE/U+FFFF shown escaped as `\\x1b`, `\\u202e`…, so no
  escape sequence reaches a terminal, a CI log or an XML file raw.
Line breaks survive only where the renderer folds or splits them itself: evidence and messages
are folded to one line by `text.one_line`, which escapes what is left; a fix is split into
paragraphs. Anywhere else a `\\n` is shown escaped, so a file name cannot start a line of its own.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import TypeVar, cast

from analyzer.detectors import Evidence, Finding
from analyzer.redact import redact_text
from analyzer.report import CodeRow, OtherRow, Report

T = TypeVar("T")

_UNSAFE = (
    "\x00-\x1f\x7f-\x9f"  # C0 controls, DEL, C1 controls (\x9b is a one-byte CSI)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks and overrides
    "\ud800-\udfff"  # lone surrogates (undecodable bytes smuggled into a str)
    "\ufffe\uffff"  # non-characters XML does not allow
)
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# Texts one_line() folds into one line (it escapes what is left after folding and stripping),
# and texts the renderers split into paragraphs at "\n". Everything else is one line.
_FOLDED = {(Evidence, "text"), (OtherRow, "message"), (OtherRow, "example")}
_KEEP: dict[tuple[type, str], str] = {(Finding, "fix"): "\n", (CodeRow, "fix"): "\n"}


def _escape_char(m: re.Match[str]) -> str:
    char = m.group(0)
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: str, keep: str = "") -> str:
    """`text` with every control character, bidi override, lone surrogate and non-character
    shown escaped (`\\x1b`, `\\t`, `\\u202e`, `\\udcff`); the characters in `keep` stay."""
    if not _UNSAFE_RE.search(text):
        return text
    if not keep:
        return _UNSAFE_RE.sub(_escape_char, text)
    return _UNSAFE_RE.sub(lambda m: m.group(0) if m.group(0) in keep else _escape_char(m), text)


def _map_strings(value: T, keep: str = "") -> T:
    """`value` with escape_controls applied to every string in it: dataclass fields, tuples,
    lists and dict keys and values (enums, numbers and datetimes stay as they are)."""
    result: object = value
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        result = escape_controls(value, keep)
    elif isinstance(value, tuple):
        result = tuple(_map_strings(v) for v in value)
    elif isinstance(value, list):
        result = [_map_strings(v) for v in value]
    elif isinstance(value, dict):
        result = {_map_strings(k): _map_strings(v) for k, v in value.items()}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        changes = {
            f.name: _map_strings(getattr(value, f.name), _KEEP.get((kind, f.name), ""))
            for f in dataclasses.fields(value)
            if f.init and (kind, f.name) not in _FOLDED
        }
        result = dataclasses.replace(value, **changes)
    return cast(T, result)


def shown_paths(report: Report) -> Report:
    """The report with file names redacted wherever one is printed (when redaction is on).

    Redaction is idempotent, so the already redacted log text of an example is unchanged."""
    if not report.redacted:
        return report
    findings = tuple(
        dataclasses.replace(
            f,
            evidence=tuple(dataclasses.replace(e, path=redact_text(e.path)) for e in f.evidence),
            source=redact_text(f.source),
        )
        for f in report.findings
    )
    other = tuple(dataclasses.replace(o, example=redact_text(o.example)) for o in report.other)
    warnings = tuple(redact_text(w) for w in report.warnings)  # they name files too
    return dataclasses.replace(report, findings=findings, other=other, warnings=warnings)


def inert(report: Report) -> Report:
    """The report as a renderer may print it: file names redacted, control characters escaped."""
    return _map_strings(shown_paths(report))
