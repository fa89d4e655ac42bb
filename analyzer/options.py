"""Analysis options and the parsing of user-given times (`--since 90m`, `--until 2024-05-03T14:00`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analyzer.errors import UsageError

# Defined here, not in sources: `import analyzer` stays light (no polars), so that Ctrl-C while
# the CLI starts is caught by its entry point (analyzer.__main__).
DEFAULT_MAX_LINE_BYTES = 64 << 10
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
    reset_state: bool = False  # --reset-state: forget what the state file says, start over
    group_by: str = "dir"  # whose story a finding tells: each directory's, file's, or one for all
    progress: bool = False  # a progress line on stderr while reading (a terminal, long runs)

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise UsageError(
                f"--until {self.until.isoformat()} is not after --since "
                f"{self.since.isoformat()}: no event can match (swap them?)"
            )


def check_zone(name: str) -> str:
    """The zone name if the system knows it; else a UsageError naming the way out."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(
            f"--tz {name!r}: unknown time zone (use e.g. UTC, Europe/Berlin)"
        ) from None
    return name


def parse_when(text: str, *, now: datetime, tz: str = "UTC", flag: str = "--since") -> datetime:
    """`90m`, `24h`, `7d` (before now) or an ISO-8601 time (naive = in `tz`) → aware UTC."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except (OverflowError, ValueError):  # 999999d is before year 1; 10**20 d is no duration
            raise UsageError(
                f"{flag} {text!r}: too far back (use a time after year 1, e.g. 90m, 24h, 7d)"
            ) from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{flag} {text!r}: not a time (use ISO-8601 like 2024-05-03T14:00 or 90m, 24h, 7d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise UsageError(f"{flag} {text!r}: out of range once converted to UTC") from None


def normalise_symbol(text: str) -> str:
    """BTC/USD, btc-usd, BTCUSD → BTCUSD (the exchange's own spelling)."""
    return re.sub(r"[/\-_ ]", "", text).upper()
