"""Rejection detectors (order_rejected, account_blocked, transport) and reason coverage: every
reason slug of docs/CONTRACTS.md is reported by some finding."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from test_detectors_helpers import epoch_ms, make_events, repeat

from analyzer.detectors import DetectContext, run_detectors
from analyzer.detectors.account_blocked import AccountBlocked
from analyzer.detectors.order_rejected import OrderRejected
from analyzer.detectors.transport import Transport
from analyzer.schema import Severity

CTX = DetectContext()
CONTRACTS = Path(__file__).resolve().parents[1] / "docs" / "CONTRACTS.md"
ME = {"code": -2010, "category": "order"}
MAKER = {**ME, "reason": "would_match_take", "msg": "Order would immediately match and take."}
DISABLED = {
    **ME,
    "reason": "account_trading_disabled",
    "msg": "This account may not place or cancel orders.",
}
NOT_PERMITTED = {
    **ME,
    "reason": "symbol_not_permitted",
    "msg": "This symbol is not permitted for this account.",
}
TIMEOUT = {"reason": "network_timeout", "category": "network"}


def day(*times: str) -> list[str]:
    return [f"2024-03-18 {t}" for t in times]


# ---------------------------------------------------------------------------- order_rejected


def test_order_rejected_one_finding_per_reason_with_its_symbols() -> None:
    rows = [
        {**MAKER, "symbol": "BTCUSD", "ts": "2024-03-18 04:00:00"},
        {**MAKER, "symbol": "ETHUSD", "ts": "2024-03-18 04:10:00"},
        {**MAKER, "symbol": "BTCUSD", "ts": "2024-03-18 04:20:00"},
        {**ME, "reason": "market_closed", "msg": "Market is closed.", "symbol": "LUNAUSD"},
    ]
    closed, maker = OrderRejected().detect(make_events(rows), CTX)  # in REASONS order
    assert (maker.kind, maker.severity, maker.count) == ("order_rejected", Severity.WARNING, 3)
    assert maker.title == (
        "3 orders rejected ('Order would immediately match and take.') on BTCUSD and ETHUSD "
        "between 04:00 and 04:20 UTC on 2024-03-18: LIMIT_MAKER orders are priced through the "
        "book"
    )
    assert maker.details == {
        "reason": "would_match_take",
        "by_symbol": {"BTCUSD": 2, "ETHUSD": 1},
        "messages": {"Order would immediately match and take.": 3},
    }
    assert (maker.symbols, maker.codes) == (("BTCUSD", "ETHUSD"), (-2010,))
    assert [e.line for e in maker.evidence] == [1, 2, 3]
    assert "best ask" in maker.fix and "best bid" in maker.fix and "LIMIT GTC" in maker.fix
    assert closed.title == (
        "1 order rejected ('Market is closed.') on LUNAUSD: the symbol is not TRADING"
    )
    assert (closed.first_seen, closed.last_seen) == (None, None)
    assert "exchangeInfo" in closed.fix and "TRADING" in closed.fix


def test_order_rejected_is_an_error_from_ten_repeats() -> None:
    dup = {**ME, "reason": "duplicate_order", "msg": "Duplicate order sent.", "symbol": "SOLUSD"}
    nine = make_events(repeat(dup, [f"2024-03-18 05:{m:02d}:00" for m in range(9)]))
    ten = make_events(repeat(dup, [f"2024-03-18 05:{m:02d}:00" for m in range(10)]))
    ((few,), (many,)) = (OrderRejected().detect(nine, CTX), OrderRejected().detect(ten, CTX))
    assert (few.severity, few.count) == (Severity.WARNING, 9)
    assert (many.severity, many.count) == (Severity.ERROR, 10)
    assert many.title == (
        "10 orders rejected ('Duplicate order sent.') on SOLUSD between 05:00 and 05:09 UTC on "
        "2024-03-18: the bot reuses client order ids"
    )
    assert "newClientOrderId" in many.fix and "unique per order" in many.fix


@pytest.mark.parametrize(
    ("reason", "code", "words"),
    [
        ("would_trigger_immediately", -2010, ["stopPrice below the last price"]),
        ("oco_price_relationship", -2010, ["SELL limit price > last price > stopPrice"]),
        ("oco_price_relationship", -2010, ["BUY limit price < last price < stopPrice"]),
        ("order_type_unsupported", -2010, ["orderTypes", "exchangeInfo", "GTC"]),
        ("order_type_unsupported", -1014, ["Unsupported order combination"]),
        ("cancel_restrictions", -2011, ["ONLY_NEW", "ONLY_PARTIALLY_FILLED", "still open"]),
        ("cancel_replace_failed", -2021, ["-2021 (HTTP 409)", "futures-only"]),
    ],
)
def test_order_rejected_fix_per_reason(reason: str, code: int, words: list[str]) -> None:
    (f,) = OrderRejected().detect(make_events([{"reason": reason, "code": code}]), CTX)
    assert f.details["reason"] == reason and f.codes == (code,)
    for word in words:
        assert word in f.fix


def test_cancel_replace_title_says_which_legs_failed() -> None:
    partial = {"reason": "cancel_replace_failed", "code": -2021, "http_status": 409}
    both = {"reason": "cancel_replace_failed", "code": -2022, "http_status": 400}
    (one,) = OrderRejected().detect(make_events([partial]), CTX)
    (two,) = OrderRejected().detect(make_events([both]), CTX)
    (mixed,) = OrderRejected().detect(make_events([partial, both, both]), CTX)
    assert one.title == (
        "1 cancel-replace request failed (cancelReplace): the cancel or the new order failed, "
        "not both (-2021)"
    )
    assert two.title.endswith(": both the cancel and the new order failed (-2022)")
    assert mixed.title == (
        "3 cancel-replace requests failed (cancelReplace): one leg (-2021) or both legs (-2022) "
        "of the cancel-replace failed"
    )
    assert mixed.codes == (-2022, -2021)


def test_order_rejected_ignores_other_order_errors() -> None:
    rows = [{**ME, "reason": "insufficient_balance"}, {**ME, "reason": "unknown_order"}]
    assert OrderRejected().detect(make_events(rows), CTX) == []


# ---------------------------------------------------------------------------- account_blocked


def test_account_disabled_is_critical_since_the_first_refusal() -> None:
    rows = [
        {**ME, "reason": "insufficient_balance", "ts": "2024-03-18 01:00:00"},
        *repeat(DISABLED, day("02:10:00", "05:40:00")),
    ]
    (f,) = AccountBlocked().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count) == ("account_blocked", Severity.CRITICAL, 2)
    assert f.title == (
        "Trading disabled on this account since 02:10 UTC on 2024-03-18: 2 requests refused: "
        "this account may not place or cancel orders, still failing at the end of the log"
    )
    assert f.details == {
        "reason": "account_trading_disabled",
        "status": "failing",
        "blocked_since": "2024-03-18T02:10:00Z",
        "worked_again_at": None,
        "by_symbol": {},
        "messages": {"This account may not place or cancel orders.": 2},
    }
    assert "Contact Binance.US support" in f.fix and "verification tier" in f.fix


def test_account_disabled_that_ended_is_an_error() -> None:
    rows = [
        {**DISABLED, "ts": "2024-03-18 02:10:00"},
        # Key errors and filter failures do not show that the account may trade again.
        {"reason": "auth_key_ip_permissions", "code": -2015, "category": "order"}
        | {"ts": "2024-03-18 03:00:00"},
        {"reason": "filter:LOT_SIZE", "code": -1013, "category": "filter"}
        | {"ts": "2024-03-18 03:10:00"},
        {**ME, "reason": "insufficient_balance", "ts": "2024-03-18 04:00:00"},
    ]
    (f,) = AccountBlocked().detect(make_events(rows), CTX)
    assert f.severity == Severity.ERROR
    assert (f.details["status"], f.details["worked_again_at"]) == (
        "recovered",
        "2024-03-18T04:00:00Z",
    )
    assert f.title == (
        "Trading disabled on this account at 02:10 UTC on 2024-03-18: 1 request refused: this "
        "account may not place or cancel orders; later orders got past this check from 04:00 UTC"
    )


def test_symbol_not_permitted_only_recovers_on_the_same_symbol() -> None:
    rows = [
        *repeat({**NOT_PERMITTED, "symbol": "XRPUSD"}, day("03:00:00", "03:05:00")),
        {**NOT_PERMITTED, "symbol": "DOGEUSD", "ts": "2024-03-18 03:10:00"},
        {**ME, "reason": "insufficient_balance", "symbol": "BTCUSD", "ts": "2024-03-18 04:00:00"},
        {**DISABLED, "ts": "2024-03-18 02:00:00"},
    ]
    disabled, symbol = AccountBlocked().detect(make_events(rows), CTX)
    assert disabled.details["reason"] == "account_trading_disabled"
    assert (symbol.severity, symbol.count) == (Severity.CRITICAL, 3)
    assert symbol.title == (
        "XRPUSD and DOGEUSD are not permitted for this account since 03:00 UTC on 2024-03-18: "
        "3 orders refused, still failing at the end of the log"
    )
    assert symbol.details["by_symbol"] == {"XRPUSD": 2, "DOGEUSD": 1}
    assert symbol.symbols == ("DOGEUSD", "XRPUSD")
    assert "permissions" in symbol.fix and "account tier" in symbol.fix

    xrp_again = {**ME, "reason": "insufficient_balance", "symbol": "XRPUSD"}
    later = make_events([*rows, {**xrp_again, "ts": "2024-03-18 05:00:00"}])
    _, recovered = AccountBlocked().detect(later, CTX)
    assert (recovered.severity, recovered.details["worked_again_at"]) == (
        Severity.ERROR,
        "2024-03-18T05:00:00Z",
    )


def test_symbol_not_permitted_without_a_symbol() -> None:
    (f,) = AccountBlocked().detect(make_events([NOT_PERMITTED]), CTX)
    assert f.title == (
        "A symbol is not permitted for this account: 1 order refused, still failing at the end "
        "of the log"
    )
    assert f.details["blocked_since"] is None


# ---------------------------------------------------------------------------- transport


def test_timeouts_on_order_requests_need_reconciling() -> None:
    url = "https://api.binance.us/api/v3/order"
    rows = [
        {**TIMEOUT, "endpoint": "/api/v3/order", "raw": f"RequestTimeout: binanceus POST {url}"},
        {**TIMEOUT, "endpoint": "/api/v3/order", "raw": f"RequestTimeout: binanceus GET {url}"},
        {**TIMEOUT, "endpoint": "/api/v3/order/oco"},  # method unknown: may have placed it
        {**TIMEOUT, "endpoint": "/api/v3/account"},
    ]
    times = day("04:00:00", "04:01:00", "04:02:00", "04:03:00")
    rows = [{**row, "client": "ccxt", "ts": ts} for row, ts in zip(rows, times, strict=True)]
    (f,) = Transport().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count, f.codes) == ("transport", Severity.WARNING, 4, ())
    assert f.title == (
        "4 requests timed out or lost the connection between 04:00 and 04:03 UTC on 2024-03-18; "
        "2 order requests with unknown outcome"
    )
    assert f.details == {
        "reason": "network_timeout",
        "order_requests": 2,
        "endpoints": {"/api/v3/order": 2, "/api/v3/account": 1, "/api/v3/order/oco": 1},
    }
    assert "execution status is UNKNOWN" in f.fix and "origClientOrderId" in f.fix
    assert "ccxt: these are RequestTimeout / NetworkError" in f.fix


def test_timeouts_on_reads_only_do_not_mention_orders() -> None:
    rows = repeat(
        {**TIMEOUT, "endpoint": "/api/v3/account", "client": "python-binance"}, day("04:00:00")
    )
    (f,) = Transport().detect(make_events(rows), CTX)
    assert f.title == "1 request timed out or lost the connection at 04:00 UTC on 2024-03-18"
    assert "UNKNOWN" not in f.fix and "requests_params={'timeout': 10}" in f.fix


def test_waf_block_and_code_less_http_errors() -> None:
    rows = [
        {
            "reason": "waf_block",
            "http_status": 403,
            "category": "http",
            "ts": "2024-03-18 01:00:00",
        },
        {"reason": "http_error", "http_status": 404, "category": "http"},
        {"reason": "http_error", "http_status": 400, "category": "http"},
        {"reason": "http_error", "http_status": 400, "category": "http"},
        {"reason": "http_error", "http_status": 410, "category": "http", "fix": "Gone: move."},
        {"reason": "http_error", "http_status": 499, "category": "http", "known": False},
    ]
    waf, http = Transport().detect(make_events(rows), CTX)
    assert (waf.severity, waf.count, waf.codes) == (Severity.ERROR, 1, (403,))
    assert waf.title == (
        "1 request blocked by the web application firewall (HTTP 403) at 01:00 UTC on 2024-03-18"
    )
    assert "SQL-like keywords" in waf.fix and "security block" in waf.fix
    # The unknown 499 is unknown_code's: counted there, not here.
    assert (http.severity, http.count, http.codes) == (Severity.ERROR, 4, (400, 404, 410))
    assert http.title == "4 requests failed with HTTP 400 ×2, 404 ×1 and 410 ×1 and no Binance code"
    assert http.details == {
        "reason": "http_error",
        "by_status": {"400": 2, "404": 1, "410": 1},
        "endpoints": {},
    }
    assert http.fix.splitlines()[1:] == [
        "HTTP 404: the endpoint does not exist: Binance.US is https://api.binance.us, and "
        "binance.com-only endpoints (sapi, futures) do not exist there.",
        "Gone: move.",
    ]
    assert http.fix.startswith("HTTP 400 without a Binance code")


def test_http_error_without_advice_gets_the_generic_line() -> None:
    (f,) = Transport().detect(make_events([{"reason": "http_error", "http_status": 418}]), CTX)
    assert f.fix == (
        "HTTP 418: Read the response body and check the base URL, path, method and parameters."
    )


def test_recv_window_too_large_is_left_to_bad_request() -> None:
    rows = [{"reason": "recv_window_too_large", "code": -1131, "category": "request"}]
    assert Transport().detect(make_events(rows), CTX) == []
    (f,) = run_detectors(make_events(rows))
    assert f.kind == "bad_request" and "at most 60000" in f.fix


# ---------------------------------------------------------------------------- coverage


def contract_reasons() -> set[str]:
    """Every reason slug in the docs/CONTRACTS.md table; the two patterns made concrete."""
    text = CONTRACTS.read_text(encoding="utf-8")
    section = text.split("## `reason` slugs", 1)[1].split("\n## ", 1)[0]
    slugs = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
    patterns = {s for s in slugs if "<" in s}
    assert patterns == {"filter:<NAME>", "param:<official_name_lowercase>"}
    return (slugs - patterns) | {"filter:LOT_SIZE", "param:illegal_chars"}


GENERAL = {"category": "general"}
ORDER = {"category": "order"}
HTTP = {"category": "http"}
REQUEST = {"category": "request"}

# reason -> (a realistic event's fields, the detectors expected to report it)
COVERAGE: dict[str, tuple[dict[str, object], set[str]]] = {
    "clock_ahead": ({**GENERAL, "code": -1021}, {"clock_drift"}),
    "clock_behind": ({**GENERAL, "code": -1021}, {"clock_drift"}),
    "clock_skew": ({**GENERAL, "code": -1021}, {"clock_drift"}),
    "recv_window_too_large": ({**REQUEST, "code": -1131}, {"bad_request"}),
    "rate_limit": ({**GENERAL, "code": -1003, "http_status": 429}, {"rate_limit"}),
    "ip_ban": (
        {
            **GENERAL,
            "code": -1003,
            "http_status": 418,
            "ban_until": epoch_ms("2024-03-19 00:00:00"),
        },
        {"ip_ban"},
    ),
    "order_rate_limit": ({**GENERAL, "code": -1015, "http_status": 429}, {"rate_limit"}),
    "auth_key_ip_permissions": ({**ORDER, "code": -2015}, {"auth"}),
    "bad_api_key_format": ({**ORDER, "code": -2014}, {"auth"}),
    "bad_signature": ({**GENERAL, "code": -1022}, {"auth"}),
    "unauthorized": ({**GENERAL, "code": -1002}, {"auth"}),
    "auth_not_found": ({**GENERAL, "code": -1099}, {"auth"}),
    "geo_block": ({**HTTP, "code": 0, "http_status": 451}, {"geo_block"}),
    "waf_block": ({**HTTP, "http_status": 403}, {"transport"}),
    "execution_unknown": ({**GENERAL, "code": -1007}, {"outage"}),
    "server_busy": ({**GENERAL, "code": -1008}, {"outage"}),
    "disconnected": ({**GENERAL, "code": -1001}, {"outage"}),
    "unknown_error": ({**GENERAL, "code": -1000}, {"outage"}),
    "service_retired": ({**GENERAL, "code": -1016}, {"outage"}),
    "insufficient_balance": ({**ORDER, "code": -2010}, {"insufficient_balance"}),
    "unknown_order": ({**ORDER, "code": -2011}, {"order_state"}),
    "order_not_found": ({**ORDER, "code": -2013}, {"order_state"}),
    "order_archived": ({**ORDER, "code": -2026}, {"order_state"}),
    "duplicate_order": ({**ORDER, "code": -2010}, {"order_rejected"}),
    "market_closed": ({**ORDER, "code": -2010}, {"order_rejected"}),
    "api_trading_disabled": ({**ORDER, "code": -2010}, {"order_rejected"}),
    "would_match_take": ({**ORDER, "code": -2010}, {"order_rejected"}),
    "would_trigger_immediately": ({**ORDER, "code": -2010}, {"order_rejected"}),
    "oco_price_relationship": ({**ORDER, "code": -2010}, {"order_rejected"}),
    "order_type_unsupported": ({**ORDER, "code": -2010}, {"order_rejected"}),
    "account_trading_disabled": ({**ORDER, "code": -2010}, {"account_blocked"}),
    "symbol_not_permitted": ({**ORDER, "code": -2010}, {"account_blocked"}),
    "cancel_restrictions": ({**ORDER, "code": -2011}, {"order_rejected"}),
    "cancel_replace_failed": ({**ORDER, "code": -2021, "http_status": 409}, {"order_rejected"}),
    "price_qty_zero": ({**ORDER, "code": -1013}, {"filter_violation"}),
    "filter:LOT_SIZE": ({"category": "filter", "code": -1013}, {"filter_violation"}),
    "precision": ({**REQUEST, "code": -1111}, {"filter_violation"}),
    "bad_symbol": ({**REQUEST, "code": -1121}, {"bad_request"}),
    "param:illegal_chars": ({**REQUEST, "code": -1100}, {"bad_request"}),
    "network_timeout": ({"category": "network"}, {"transport"}),
    "http_error": ({**HTTP, "http_status": 400}, {"transport"}),
    "unknown_code": ({**GENERAL, "code": -1999, "known": False}, {"unknown_code"}),
}


def coverage_row(reason: str, n: int) -> dict[str, object]:
    fields, _ = COVERAGE[reason]
    minute = f"2024-03-18 {n // 6:02d}:{n % 6 * 10:02d}:00"  # ten minutes apart: no spikes
    return {**fields, "reason": reason, "symbol": "BTCUSD", "ts": minute}


def test_coverage_table_lists_every_contract_reason() -> None:
    assert set(COVERAGE) == contract_reasons()


@pytest.mark.parametrize("reason", sorted(COVERAGE))
def test_every_reason_alone_is_reported(reason: str) -> None:
    found = [
        f for f in run_detectors(make_events([coverage_row(reason, 0)])) if f.kind != "error_spike"
    ]
    assert {f.kind for f in found} == COVERAGE[reason][1]
    assert [f.count for f in found] == [1] * len(found)


def test_every_event_of_every_reason_is_counted_once() -> None:
    reasons = sorted(COVERAGE)
    events = make_events([coverage_row(reason, n) for n, reason in enumerate(reasons)])
    counted: Counter[str] = Counter()
    for f in run_detectors(events):
        if f.kind != "error_spike":
            counted[f.kind] += f.count
    expected = Counter(kind for _, kinds in COVERAGE.values() for kind in kinds)
    assert counted == expected
    assert sum(counted.values()) == events.height
