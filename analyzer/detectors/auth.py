"""Authentication failures: since when the bot cannot trade, whether it recovered, and why."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from analyzer.detectors.base import (
    AUTH_FAILURE_REASONS,
    DetectContext,
    Finding,
    about,
    duration_text,
    explained,
    iso,
    plural,
    time_span,
    utc,
    value_counts,
    when,
)
from analyzer.schema import Category, Severity

CODES = {
    "auth_key_ip_permissions": -2015,
    "bad_signature": -1022,
    "bad_api_key_format": -2014,
    "unauthorized": -1002,
    "auth_not_found": -1099,
}
LABELS = {
    "auth_key_ip_permissions": "API key, IP or permissions",
    "bad_signature": "an invalid signature",
    "bad_api_key_format": "a malformed API key",
    "unauthorized": "missing authorisation",
    "auth_not_found": "a key that was not found or not authorised",
}
CAUSES = {
    "auth_key_ip_permissions": (
        "-2015 has three causes; check them in this order: (1) the key's IP whitelist does not "
        "include this machine's current public IP (a new IP, a VPN, a cloud or Docker egress "
        "address); (2) the key lacks the permission for the action (enable trading on the "
        "key); (3) the key was revoked or deleted: create a new one. A binance.com key does "
        "not work on Binance.US."
    ),
    "bad_signature": (
        "-1022: the signature does not match: the secret is wrong (another key pair, or a "
        "stray space or newline) or the parameters changed after signing (re-encoded or "
        "reordered by custom code or a proxy). It is not a clock problem; that is -1021."
    ),
    "bad_api_key_format": (
        "-2014: the API key string is malformed, usually a trailing newline, space or quotes "
        "picked up from a .env or config file: strip it."
    ),
    "unauthorized": (
        "-1002: the request carried no usable key (no X-MBX-APIKEY header) or the key may "
        "not call this endpoint."
    ),
    "auth_not_found": (
        "-1099: not found, authenticated or authorised: check that the key exists on "
        "Binance.US and is sent with the request."
    ),
}
CHANGED_ADVICE = (
    "The key worked earlier in this log, so something changed: the machine's IP, the key's "
    "permissions, or the key itself was deleted."
)
QUIET_BEFORE_S = 120
QUIET_ADVICE = (
    "The log runs for {duration} before the first failure, all without authentication errors: "
    "the key most likely worked until then, so look for what changed at that moment (the "
    "machine's public IP, the key's permissions, or the key was deleted)."
)
# Events that only a request which passed authentication can produce.
PROOF_CATEGORIES = (Category.ORDER.value, Category.FILTER.value)


def _is_auth() -> pl.Expr:
    return (
        pl.col("reason").is_in(list(AUTH_FAILURE_REASONS))
        | pl.col("code").is_in(list(CODES.values()))
    ).fill_null(False)


class Auth:
    """Recognises a bot whose signed requests are refused for key, signature or IP reasons."""

    name = "auth"
    story = (
        "Signed requests are refused because of the API key itself (its IP whitelist, "
        "permissions, format or secret), so the bot cannot trade at all."
    )
    explains = _is_auth()

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding for all authentication failures, with the recovery status."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        proof = events.filter(
            pl.col("category").is_in(list(PROOF_CATEGORIES))
            & ~_is_auth()
            & pl.col("ts").is_not_null()
        ).get_column("ts")
        worked_before = first is not None and bool((proof < first).any())
        # A log that runs on for a while before the first failure: the key was in use then.
        quiet_s = (
            int((first - ctx.log_start).total_seconds())
            if first is not None and ctx.log_start is not None
            else 0
        )
        quiet_before = quiet_s >= QUIET_BEFORE_S
        after = proof.filter(proof > last).min() if last is not None else None
        between = last is not None and bool(((proof > first) & (proof < last)).any())
        recovered_at = utc(after)
        status = "recovered" if recovered_at else "intermittent" if between else "failing"
        by_reason = _by_reason(hits)
        details: dict[str, object] = {
            "status": status,
            "cannot_trade_since": iso(first),
            "worked_before": worked_before,
            "log_quiet_before_s": quiet_s,
            "worked_again_at": iso(recovered_at),
            "by_reason": by_reason,
        }
        title = self._title(hits.height, by_reason, first, last, status, recovered_at)
        lines = [CAUSES[r] for r in by_reason if r in CAUSES]
        if worked_before:
            lines.append(CHANGED_ADVICE)
        elif quiet_before:
            lines.append(QUIET_ADVICE.format(duration=duration_text(quiet_s)))
        return [
            Finding(
                kind=self.name,
                severity=Severity.CRITICAL if status == "failing" else Severity.ERROR,
                title=title,
                first_seen=first,
                last_seen=last,
                **about(hits),  # type: ignore[arg-type]
                fix="\n".join(lines),
                details=details,
                impact=float(hits.height),
            )
        ]

    @staticmethod
    def _title(
        count: int,
        by_reason: dict[str, int],
        first: datetime | None,
        last: datetime | None,
        status: str,
        recovered_at: datetime | None,
    ) -> str:
        main = next(iter(by_reason))
        codes = ", ".join(str(CODES[r]) for r in by_reason if r in CODES)
        rejected = f"{plural(count, 'request')} rejected for {LABELS.get(main, main)} ({codes})"
        if status == "failing":
            since = f" since {first:%H:%M} UTC on {first:%Y-%m-%d}" if first else ""
            return f"Trading blocked{since}: {rejected}, still failing at the end of the log"
        if status == "recovered" and recovered_at is not None:
            return (
                f"{rejected}{when(first, last)}; the key worked again at {recovered_at:%H:%M} UTC"
            )
        return f"{rejected}{when(first, last)}, with successful requests in between"


def _by_reason(hits: pl.DataFrame) -> dict[str, int]:
    """Counts per auth reason, filling the reason from the code where classification left none."""
    from_code = pl.col("code").replace_strict(
        {code: reason for reason, code in CODES.items()}, default=None, return_dtype=pl.String
    )
    return value_counts(
        hits.with_columns(pl.coalesce("reason", from_code).alias("reason")), "reason"
    )
