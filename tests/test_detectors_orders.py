"""Account and order detectors: auth, geo_block, filter_violation, insufficient_balance,
order_state, bad_request, unknown_code."""

from __future__ import annotations

import pytest
from test_detectors_helpers import at, make_events, repeat

from analyzer.detectors import DetectContext
from analyzer.detectors.auth import Auth
from analyzer.detectors.bad_request import BadRequest
from analyzer.detectors.filter_violation import FilterViolation
from analyzer.detectors.geo_block import GeoBlock
from analyzer.detectors.insufficient_balance import InsufficientBalance
from analyzer.detectors.order_state import OrderState
from analyzer.detectors.unknown_code import UnknownCode
from analyzer.schema import Severity

CTX = DetectContext()
KEY_IP = {"reason": "auth_key_ip_permissions", "code": -2015, "category": "order"}
FILLED = {"reason": "insufficient_balance", "code": -2010, "category": "order"}
LOT = {"reason": "filter:LOT_SIZE", "code": -1013, "category": "filter"}
UNKNOWN_ORDER = {"reason": "unknown_order", "code": -2011, "category": "order"}


def day(*times: str) -> list[str]:
    return [f"2024-03-18 {t}" for t in times]


# ---------------------------------------------------------------------------- auth


def test_auth_still_failing_after_the_key_worked() -> None:
    rows = [{**FILLED, "ts": "2024-03-18 01:00:00"}, *repeat(KEY_IP, day("02:10:00", "05:40:00"))]
    (f,) = Auth().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count) == ("auth", Severity.CRITICAL, 2)
    assert (f.first_seen, f.last_seen) == (at("2024-03-18 02:10:00"), at("2024-03-18 05:40:00"))
    assert f.title == (
        "Trading blocked since 02:10 UTC on 2024-03-18: 2 requests rejected for API key, IP or "
        "permissions (-2015), still failing at the end of the log"
    )
    assert f.details == {
        "status": "failing",
        "cannot_trade_since": "2024-03-18T02:10:00Z",
        "worked_before": True,
        "log_quiet_before_s": 0,
        "worked_again_at": None,
        "by_reason": {"auth_key_ip_permissions": 2},
    }
    assert "IP whitelist" in f.fix and "permission" in f.fix and "revoked or deleted" in f.fix
    assert "The key worked earlier" in f.fix


def test_auth_recovered_with_signature_cause() -> None:
    rows = [
        {"reason": "bad_signature", "code": -1022, "ts": "2024-03-18 02:00:00"},
        {**LOT, "ts": "2024-03-18 03:00:00"},
    ]
    (f,) = Auth().detect(make_events(rows), CTX)
    assert f.severity == Severity.ERROR
    assert f.details["status"] == "recovered"
    assert f.details["worked_again_at"] == "2024-03-18T03:00:00Z"
    assert f.title == (
        "1 request rejected for an invalid signature (-1022) at 02:00 UTC on 2024-03-18; "
        "the key worked again at 03:00 UTC"
    )
    assert "wrong" in f.fix and "changed after signing" in f.fix
    assert "not a clock problem" in f.fix


def test_auth_intermittent_and_code_without_reason() -> None:
    rows = [
        {"code": -2014, "ts": "2024-03-18 02:00:00"},
        {**FILLED, "ts": "2024-03-18 02:30:00"},
        {"reason": "bad_api_key_format", "code": -2014, "ts": "2024-03-18 03:00:00"},
    ]
    (f,) = Auth().detect(make_events(rows), CTX)
    assert f.details["status"] == "intermittent"
    assert f.details["by_reason"] == {"bad_api_key_format": 2}
    assert f.title.endswith(", with successful requests in between")
    assert "newline" in f.fix


# ---------------------------------------------------------------------------- geo_block


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("ccxt", "ccxt.binanceus"),
        ("python-binance", "Client(api_key, api_secret, tld='us')"),
        ("freqtrade", '"name": "binanceus"'),
    ],
)
def test_geo_block_points_at_binance_us(client: str, expected: str) -> None:
    raw = "ExchangeNotAvailable: binance GET https://api.binance.com/api/v3/exchangeInfo 451"
    row = {"reason": "geo_block", "code": 0, "http_status": 451, "client": client, "raw": raw}
    (f,) = GeoBlock().detect(make_events([{**row, "ts": "2024-03-18 01:00:00"}]), CTX)
    assert (f.kind, f.severity, f.count, f.codes) == ("geo_block", Severity.CRITICAL, 1, (451,))
    assert f.title == (
        "1 request refused from a restricted location (HTTP 451) at 01:00 UTC on 2024-03-18: "
        "the bot talks to api.binance.com, not Binance.US"
    )
    assert f.details == {"hosts": {"api.binance.com": 1}, "endpoints": {}}
    assert expected in f.fix and "https://api.binance.us" in f.fix


def test_geo_block_from_binance_us_itself_is_about_where_the_bot_runs() -> None:
    raw = (
        "OSError: Error executing request GET https://api.binance.us/api/v3/time. "
        "HTTP status is 451. Error: {...}"
    )
    com = "ExchangeNotAvailable: binance GET https://api.binance.com/api/v3/exchangeInfo 451"
    rows = [
        {"reason": "geo_block", "http_status": 451, "client": "hummingbot", "raw": raw},
        {"reason": "geo_block", "http_status": 451, "client": "ccxt", "raw": com},
    ]
    wrong_api, wrong_place = GeoBlock().detect(
        make_events([{**r, "ts": "2024-03-18 01:00:00"} for r in rows]), CTX
    )
    assert "the bot talks to api.binance.com" in wrong_api.title
    assert wrong_place.title == (
        "1 request to Binance.US refused from a restricted location (HTTP 451) at 01:00 UTC on "
        "2024-03-18: the machine's IP is outside the area Binance.US serves"
    )
    assert "Changing the endpoint does not help" in wrong_place.fix
    assert "ccxt.binanceus" not in wrong_place.fix
    assert wrong_place.details["hosts"] == {"api.binance.us": 1}


# ---------------------------------------------------------------------------- filter_violation


def test_lot_size_on_one_symbol_only() -> None:
    rows = repeat(
        {**LOT, "symbol": "SOLUSD", "client": "python-binance"}, day("04:00:00", "04:20:00")
    )
    (f,) = FilterViolation().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count) == ("filter_violation", Severity.ERROR, 2)
    assert f.title == (
        "2 LOT_SIZE failures on SOLUSD only between 04:00 and 04:20 UTC on 2024-03-18: your "
        "quantity rounding for SOLUSD ignores stepSize (or leaves minQty..maxQty)"
    )
    assert f.details == {"filter": "LOT_SIZE", "by_symbol": {"SOLUSD": 2}}
    assert "round_step_size" in f.fix and "binance.helpers" in f.fix
    assert "amount_to_precision" not in f.fix


def test_one_finding_per_filter_listing_its_symbols() -> None:
    notional = {"reason": "filter:MIN_NOTIONAL", "code": -1013, "client": "ccxt"}
    rows = [
        {**notional, "symbol": "ETHUSD"},
        {**notional, "symbol": "BTCUSD"},
        {**notional, "symbol": "BTCUSD"},
        {"reason": "filter:PRICE_FILTER", "code": -1013, "symbol": "BTCUSD", "client": "ccxt"},
    ]
    found = FilterViolation().detect(make_events(rows), CTX)
    assert [(f.details["filter"], f.details["by_symbol"], f.count) for f in found] == [
        ("MIN_NOTIONAL", {"BTCUSD": 2, "ETHUSD": 1}, 3),
        ("PRICE_FILTER", {"BTCUSD": 1}, 1),
    ]
    assert found[0].title == (
        "3 MIN_NOTIONAL failures on BTCUSD and ETHUSD: orders on BTCUSD and ETHUSD are worth "
        "less than the minimum notional (price × quantity)"
    )
    assert found[0].symbols == ("BTCUSD", "ETHUSD")
    assert "market['limits']['cost']['min']" in found[0].fix
    assert "price_to_precision" in found[1].fix and "tickSize" in found[1].fix


def test_precision_and_zero_quantity_without_symbol() -> None:
    rows = [
        {"reason": "precision", "code": -1111, "category": "request", "client": "ccxt"},
        {"reason": "price_qty_zero", "code": -1013},
    ]
    precision, zero = FilterViolation().detect(make_events(rows), CTX)
    assert precision.title == (
        "1 precision (-1111) failure on unnamed symbols: quantities or prices for unnamed "
        "symbols carry too many decimals"
    )
    assert "amount_to_precision" in precision.fix and "price_to_precision" in precision.fix
    assert zero.details == {"filter": "price_qty_zero", "by_symbol": {}}
    assert zero.title == (
        "1 'Price * QTY is zero' failure on unnamed symbols: quantities for unnamed symbols "
        "round down to zero"
    )
    assert "check the minimum before rounding" in zero.fix


# ---------------------------------------------------------------------------- insufficient_balance


def test_insufficient_balance_per_symbol() -> None:
    rows = [
        *repeat({**FILLED, "symbol": "ETHUSD", "client": "freqtrade"}, day("04:00:00", "04:05:00")),
        {**FILLED, "symbol": "BTCUSD", "ts": "2024-03-18 04:10:00"},
    ]
    (f,) = InsufficientBalance().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count) == ("insufficient_balance", Severity.WARNING, 3)
    assert f.title == (
        "3 orders rejected for insufficient balance on ETHUSD and BTCUSD between 04:00 and "
        "04:10 UTC on 2024-03-18"
    )
    assert f.details == {"by_symbol": {"ETHUSD": 2, "BTCUSD": 1}}
    assert f.symbols == ("BTCUSD", "ETHUSD")
    assert "tradable_balance_ratio" in f.fix and "fee" in f.fix


# ---------------------------------------------------------------------------- order_state


def test_sporadic_unknown_orders_are_a_benign_race() -> None:
    rows = repeat(UNKNOWN_ORDER, day("04:00:00", "09:00:00"))
    rows += [{"reason": "network_timeout"} for _ in range(20)]
    (f,) = OrderState().detect(make_events(rows), CTX)
    assert (f.severity, f.count) == (Severity.INFO, 2)
    assert f.details == {
        "pattern": "sporadic",
        "by_reason": {"unknown_order": 2},
        "peak_hour": "2024-03-18T04:00:00Z",
        "peak_hour_count": 1,
        "share_of_events": 0.091,
    }
    assert f.title.endswith(": a normal race with fills")
    assert "already gone" in f.fix and "openOrders" not in f.fix


def test_order_state_storm_by_rate_only_is_a_warning() -> None:
    rows = repeat(UNKNOWN_ORDER, [f"2024-03-18 04:{m:02d}:00" for m in range(0, 60, 5)])
    rows += [{"reason": "network_timeout"} for _ in range(60)]
    (f,) = OrderState().detect(make_events(rows), CTX)
    assert (f.severity, f.details["pattern"], f.details["peak_hour_count"]) == (
        Severity.WARNING,
        "storm",
        12,
    )
    assert f.title.startswith("Order-state storm: 12 requests for orders that do not exist (-2011)")
    assert f.title.endswith("up to 12 in one hour: the bot tracks stale order ids")
    assert "GET /api/v3/openOrders" in f.fix


def test_order_state_storm_by_rate_and_share_is_an_error() -> None:
    rows = repeat(UNKNOWN_ORDER, [f"2024-03-18 04:{m:02d}:00" for m in range(0, 50, 5)])
    rows += [{"reason": "order_archived", "code": -2026, "ts": "2024-03-18 04:59:00"}]
    (f,) = OrderState().detect(make_events(rows), CTX)
    assert f.severity == Severity.ERROR and f.codes == (-2026, -2011)
    assert "archived" in f.fix


# ---------------------------------------------------------------------------- bad_request


def test_bad_request_groups_by_code_and_names_parameters() -> None:
    missing = {
        "reason": "param:mandatory_param_empty_or_malformed",
        "code": -1102,
        "category": "request",
        "fix": "Send every mandatory parameter.",
    }
    rows = [
        {
            **missing,
            "msg": "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        },
        {
            **missing,
            "msg": "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        },
        {**missing, "msg": "Param 'price' or 'stopPrice' must be sent, but both were empty/null!"},
        {"reason": "recv_window_too_large", "code": -1131, "category": "request"},
        {"reason": "bad_symbol", "code": -1121, "category": "request", "symbol": "BTCUSDX"},
        {"reason": "precision", "code": -1111, "category": "request"},  # filter_violation's
        {"reason": "unknown_code", "code": -1199, "category": "request", "known": False},
    ]
    found = BadRequest().detect(make_events(rows), CTX)
    assert [(f.codes, f.count, f.severity) for f in found] == [
        ((-1131,), 1, Severity.ERROR),
        ((-1121,), 1, Severity.ERROR),
        ((-1102,), 3, Severity.ERROR),
    ]
    recv, symbol, param = found
    assert param.title == (
        "3 requests rejected with -1102 (mandatory param empty or malformed); parameter "
        "'quantity' and 'price'"
    )
    assert param.details == {
        "code": -1102,
        "reason": "param:mandatory_param_empty_or_malformed",
        "params": {"quantity": 2, "price": 1},
        "endpoints": {},
        "messages": {
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.": 2,
            "Param 'price' or 'stopPrice' must be sent, but both were empty/null!": 1,
        },
    }
    assert param.fix == (
        "Send every mandatory parameter.\nParameters named in the errors: quantity (2), price (1)."
    )
    assert "at most 60000" in recv.fix
    assert symbol.title == "1 request rejected with -1121 (bad symbol); symbol BTCUSDX"
    assert "Binance.US lists fewer pairs" in symbol.fix


# ---------------------------------------------------------------------------- unknown_code


def test_unknown_codes_are_counted_and_never_dropped() -> None:
    rows = [
        *repeat({"code": -1999, "msg": "odd", "known": False}, day("04:00:00", "04:01:00")),
        {"code": -1999, "msg": "odder", "known": False, "ts": "2024-03-18 04:02:00"},
        {"http_status": 499, "msg": "teapot?", "category": "unknown", "ts": "2024-03-18 04:03:00"},
        {"code": -1199, "category": "request", "known": False, "ts": "2024-03-18 04:04:00"},
    ]
    (f,) = UnknownCode().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count) == ("unknown_code", Severity.WARNING, 5)
    assert f.title == (
        "5 errors with codes bnlog does not know: -1999 ×3, -1199 ×1 and HTTP 499 ×1 between "
        "04:00 and 04:04 UTC on 2024-03-18"
    )
    assert f.details == {
        "shapes": 4,
        "top_shapes": [
            {"code": -1999, "http_status": None, "msg": "odd", "count": 2},
            {"code": -1999, "http_status": None, "msg": "odder", "count": 1},
            {"code": -1199, "http_status": None, "msg": None, "count": 1},
            {"code": None, "http_status": 499, "msg": "teapot?", "count": 1},
        ],
    }
    assert f.codes == (-1999, -1199, 499)
    assert [e.line for e in f.evidence] == [1, 2, 3]


def test_auth_after_a_quiet_stretch_of_log_says_something_changed() -> None:
    from datetime import UTC, datetime

    from analyzer.detectors import DetectContext
    from analyzer.detectors.auth import Auth

    events = make_events(
        [
            {
                "ts": "2024-09-12 08:07:00",
                "code": -2015,
                "reason": "auth_key_ip_permissions",
                "category": "order",
                "severity": "critical",
            },
        ]
    )
    ctx = DetectContext(log_start=datetime(2024, 9, 12, 7, 55, tzinfo=UTC))
    (f,) = Auth().detect(events, ctx)
    assert f.details["log_quiet_before_s"] == 720
    assert "The log runs for 12m before the first failure" in f.fix
    (g,) = Auth().detect(events, DetectContext())
    assert "The log runs for" not in g.fix
