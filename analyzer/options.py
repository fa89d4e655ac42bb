"""Analysis options and the parsing of user-given times (`--since 90m`, `--until 2024-05-03T14:00`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analyzer.errors import UsageError
from analyzer.sources import DEFAULT_MAX_LINE_BYTES

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Options:
    """What to read and which events to keep; every field has a safe default."""

    tz: str = "UTC"  # zone of timestamps written without one
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    redact: bool = True
    since: datetime | None = None  # keep events at or after (UTC)
    until: datetime | None = None  # keep events before (UTC)
    symbols: tuple[str, ...] = ()  # keep events of these symbols (normalised: BTCUSD)
    codes: tuple[int, ...] = ()  # keep events with these codes or HTTP statuses
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: str | None = None  # --state FILE: read only what is new since the last run


def check_zone(name: str) -> str:
    """The zone name if the system knows it; else a UsageError naming the way out."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--tz {name!r}: unknown time zone (use e.g. UTC, Europe/Berlin)"
        ) from None
    return name


def parse_when(text: str, *, now: datetime, tz: str = "UTC", flag: str = "--since") -> datetime:
    """`90m`, `24h`, `7d` (before now) or an ISO-8601 time (naive = in `tz`) → aware UTC."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{flag} {text!r}: not a time (use ISO-8601 like 2024-05-03T14:00 or 90m, 24h, 7d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(UTC)


def normalise_symbol(text: str) -> str:
    """BTC/USD, btc-usd, BTCUSD → BTCUSD (the exchange's own spelling)."""
    return re.sub(r"[/\-_ ]", "", text).upper()
