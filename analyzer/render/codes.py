"""Plain-text rendering of reference entries for `bnlog codes` (pure, no colour)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from analyzer.reference import Entry

WIDTH = 100
MEANING_WIDTH = 64
_LABEL_WIDTH = 11  # field labels ("Severity:") are padded to this width
_NO_MESSAGE = "(no fixed message: the msg field says why)"
_NOT_SPOT = "* not sent by the spot exchange (Binance.US); see the message rule it points to"


def _code_cell(entry: Entry) -> str:
    return entry.label + ("*" if not entry.spot else "")


def _meaning(entry: Entry) -> str:
    text = entry.message[0] if entry.message else _NO_MESSAGE
    return text if len(text) <= MEANING_WIDTH else text[: MEANING_WIDTH - 3].rstrip() + "..."


def _table(entries: Sequence[Entry]) -> str:
    header = ("CODE", "NAME", "CATEGORY", "SEVERITY", "MEANING")
    rows = [(_code_cell(e), e.title, e.category, e.severity, _meaning(e)) for e in entries]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        + "  "
        + row[-1]
        for row in (header, *rows)
    ]
    if any(not e.spot for e in entries):
        lines += ["", _NOT_SPOT]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _field(label: str, text: str) -> list[str]:
    """'  Label:    text' wrapped to WIDTH with a hanging indent."""
    lead = f"  {label + ':' if label else '':<{_LABEL_WIDTH}} "
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=lead,
        subsequent_indent=" " * len(lead),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [lead.rstrip()]


def _prose(text: str) -> list[str]:
    """A free-standing sentence, indented like the fields and wrapped to WIDTH."""
    return textwrap.wrap(
        text, width=WIDTH, initial_indent="  ", subsequent_indent="    ", break_long_words=False
    )


def _codes_text(entry: Entry) -> str:
    codes = ", ".join(str(c) for c in entry.codes) if entry.codes else "any code or none"
    if entry.bare:
        codes = "only without a code and an HTTP status"
    default = f"; code assumed when only the message is logged: {entry.implied_code}"
    return codes + (default if entry.implied_code is not None else "")


def _detail(entry: Entry) -> list[str]:
    lines = [f"{entry.label}  {entry.title}".rstrip()]
    messages = entry.message or (_NO_MESSAGE,)
    lines += _field("Meaning", messages[0])
    for extra in messages[1:]:
        lines += _field("", extra)
    if entry.kind == "message":
        lines += _field("Matches", entry.match or "")
        lines += _field("Codes", _codes_text(entry))
    lines += _field("Category", entry.category)
    lines += _field("Severity", entry.severity)
    if entry.reason:
        lines += _field("Reason", entry.reason)
    if not entry.spot:
        real = f"; the real event is classified as {entry.see}" if entry.see else ""
        lines += _field("Spot", f"never sent by the spot exchange{real}")
    lines += _field("Fix", entry.fix)
    lines += _field("Source", entry.source)
    if entry.differs and entry.table_message:
        said = entry.table_message + (f" -- {entry.table_fix}" if entry.table_fix else "")
        lines += _prose(f"Reference table says: {said}")
        lines += _prose(f"Why bnlog differs: {entry.note}")
    elif entry.note:
        lines += _field("Note", entry.note)
    return lines


# More matching message rules than this are listed one per line, not in full.
MAX_FULL_RULES = 2


def _rule_line(entry: Entry) -> str:
    message = entry.message[0] if entry.message else (entry.match or "")
    head = f"  {entry.reason or '-':<30} "
    room = max(WIDTH - len(head), 20)  # a long reason leaves less room for the message
    if len(message) > room:
        message = message[: room - 3].rstrip() + "..."
    return head + message


def render_codes(entries: Sequence[Entry], *, detail: bool) -> str:
    """The `bnlog codes` output: an aligned table, or one block per entry with detail. When a
    code carries many message rules (-1013, -2010), the rules are one line each, so the answer
    fits a screen; `bnlog codes <reason>` shows one of them in full."""
    if not entries:
        return "No matching error codes.\n"
    if not detail:
        return _table(entries)
    heads = [e for e in entries if e.kind != "message"]
    rules = [e for e in entries if e.kind == "message"]
    if not heads or len(rules) <= MAX_FULL_RULES:
        return "\n\n".join("\n".join(_detail(entry)) for entry in entries) + "\n"
    blocks = ["\n".join(_detail(entry)) for entry in heads]
    listed = [f"Messages that name the reason ({len(rules)}; `bnlog codes <reason>` for one):"]
    listed += [_rule_line(rule) for rule in rules]
    return "\n\n".join([*blocks, "\n".join(listed)]) + "\n"
