"""Extraction: every log shape → exact events; records fold tracebacks; non-codes are not events."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from analyzer.extract import ExtractOptions, extract_text
from analyzer.schema import EXTRACTED_SCHEMA


def one(text: str, **kw) -> dict:
    """The single event of a log snippet, as a dict."""
    events = extract_text(text, **kw)
    assert events.height == 1, events.select("line", "code", "msg", "raw").rows()
    return events.row(0, named=True)


def ts(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (log text, expected fields of its one event). Each shape is written as its library prints it.
SHAPES = [
    pytest.param(
        '2024-03-18 02:10:01,118 - freqtrade.exchange.common - WARNING - get_balances() returned exception: "Could not get balance due to InvalidNonce. Message: binanceus {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}". Retrying still for 3 times.',
        {
            "code": -1021,
            "msg": "Timestamp for this request is outside of the recvWindow.",
            "client": "freqtrade",
            "shape": "json",
            "ts": ts(2024, 3, 18, 2, 10, 1, 118000),
        },
        id="freqtrade-retrier",
    ),
    pytest.param(
        "2024-03-18 16:07:29,512 - 7 - hummingbot.core.web_assistant.rest_assistant - ERROR - Error executing request GET https://api.binance.us/api/v3/ticker/price. HTTP status is 503. Error: N/A",
        {
            "code": None,
            "http_status": 503,
            "client": "hummingbot",
            "shape": "http",
            "endpoint": "/api/v3/ticker/price",
            "ts": ts(2024, 3, 18, 16, 7, 29, 512000),
        },
        id="hummingbot-503",
    ),
    pytest.param(
        '2024-03-18 16:07:29,512 - 7 - hummingbot.connector.exchange.binance.binance_exchange.BinanceExchange - NETWORK - Error executing request POST https://api.binance.us/api/v3/order. HTTP status is 400. Error: {"code":-2010,"msg":"Account has insufficient balance for requested action."}',
        {
            "code": -2010,
            "http_status": 400,
            "client": "hummingbot",
            "shape": "json",
            "endpoint": "/api/v3/order",
        },
        id="hummingbot-400-json",
    ),
    pytest.param(
        "[2024-05-03T14:02:11.482Z] ERROR bot.market: APIError(code=-1003): Way too much request weight used; IP banned until 1714745231482. Please use WebSocket Streams for live updates to avoid bans.",
        {
            "code": -1003,
            "client": "python-binance",
            "shape": "python-binance",
            "ban_until": 1714745231482,
            "ts": ts(2024, 5, 3, 14, 2, 11, 482000),
        },
        id="python-binance-ban",
    ),
    pytest.param(
        "2024-09-12 08:00:03.117 UTC ERROR root: Found error. status: 401, error code: -2015, error message: Invalid API-key, IP, or permissions for action.",
        {
            "code": -2015,
            "http_status": 401,
            "client": "binance-connector",
            "shape": "connector",
            "msg": "Invalid API-key, IP, or permissions for action.",
            "ts": ts(2024, 9, 12, 8, 0, 3, 117000),
        },
        id="connector-found-error",
    ),
    pytest.param(
        "(400, -1121, 'Invalid symbol.', {'Content-Type': 'application/json;charset=UTF-8'}, None)",
        {
            "code": -1121,
            "http_status": 400,
            "msg": "Invalid symbol.",
            "client": "binance-connector",
            "shape": "connector-tuple",
        },
        id="connector-tuple",
    ),
    pytest.param(
        "InsufficientFunds: binanceus Account has insufficient balance for requested action.",
        {
            "code": None,
            "msg": "Account has insufficient balance for requested action.",
            "client": "ccxt",
            "shape": "message",
        },
        id="ccxt-bare-message",
    ),
    pytest.param(
        'ccxt.base.errors.InvalidOrder: binanceus order amount should be evenly divisible by lot size {"code":-1013,"msg":"Filter failure: LOT_SIZE"}',
        {"code": -1013, "msg": "Filter failure: LOT_SIZE", "client": "ccxt", "shape": "json"},
        id="ccxt-json",
    ),
    pytest.param(
        'DDoSProtection: binanceus 418 I\'m a teapot {"code":-1003,"msg":"Way too much request weight used; IP banned until 1659146400000. Please use WebSocket Streams for live updates to avoid bans."}',
        {"code": -1003, "http_status": 418, "client": "ccxt", "ban_until": 1659146400000},
        id="ccxt-418",
    ),
    pytest.param(
        '2024-07-01T09:00:00.000Z error: Error: {"code":-2010,"msg":"Account has insufficient balance for requested action."}',
        {"code": -2010, "client": "node-binance-api", "ts": ts(2024, 7, 1, 9)},
        id="node-v1",
    ),
    pytest.param(
        "{'code': -1021, 'msg': \"Timestamp for this request was 1000ms ahead of the server's time.\"}",
        {
            "code": -1021,
            "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
            "shape": "dict",
        },
        id="dict-repr",
    ),
    pytest.param(
        "code=-2011, msg=Unknown order sent.",
        {"code": -2011, "msg": "Unknown order sent.", "shape": "kv"},
        id="kv",
    ),
    pytest.param(
        "Array\n(\n    [code] => -1022\n    [msg] => Signature for this request is not valid.\n)",
        {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
            "client": "php",
            "line": 1,
        },
        id="php-print-r",
    ),
    pytest.param(
        "com.binance.api.client.exception.BinanceApiException: ERROR: -1013, Filter failure: LOT_SIZE",
        {"code": -1013, "msg": "Filter failure: LOT_SIZE", "client": "java", "shape": "java"},
        id="java",
    ),
    pytest.param(
        '{\\"code\\":-1121,\\"msg\\":\\"Invalid symbol.\\"}',
        {"code": -1121, "msg": "Invalid symbol.", "shape": "json"},
        id="escaped-json",
    ),
    pytest.param(
        '{\n  "code": -1100,\n  "msg": "Illegal characters found in parameter \'symbol\'; legal range is \'^[A-Z0-9-_.]{1,20}$\'."\n}',
        {"code": -1100, "shape": "json", "line": 1},
        id="pretty-json",
    ),
    pytest.param(
        "requests.exceptions.HTTPError: 400 Client Error: Bad Request for url: https://api.binance.us/api/v3/order?symbol=BTCUSD&side=BUY",
        {
            "code": None,
            "http_status": 400,
            "symbol": "BTCUSD",
            "endpoint": "/api/v3/order",
            "shape": "http",
        },
        id="requests-httperror",
    ),
    pytest.param(
        'ccxt.base.errors.ExchangeNotAvailable: binance GET https://api.binance.com/api/v3/exchangeInfo 451  {\n  "code": 0,\n  "msg": "Service unavailable from a restricted location according to \'b. Eligibility\' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."\n}',
        {"code": None, "http_status": 451, "client": "ccxt", "endpoint": "/api/v3/exchangeInfo"},
        id="ccxt-451-pretty",
    ),
    pytest.param(
        '{"ts":"2024-05-03T14:05:12.003Z","method":"GET","url":"https://api.binance.us/api/v3/depth?symbol=BTCUSD&limit=1000","status":429,"headers":{"Retry-After":"21","X-MBX-USED-WEIGHT-1M":"1213"},"body":{"code":-1003,"msg":"Too much request weight used; current limit is 1200 request weight per 1 MINUTE."}}',
        {
            "code": -1003,
            "http_status": 429,
            "retry_after": 21,
            "used_weight": 1213,
            "symbol": "BTCUSD",
            "ts": ts(2024, 5, 3, 14, 5, 12, 3000),
        },
        id="jsonl-capture",
    ),
    pytest.param(
        '{"log":"2024-03-18 02:10:01,118 - freqtrade.exchange.common - WARNING - x {\\"code\\":-1021,\\"msg\\":\\"Timestamp for this request is outside of the recvWindow.\\"}\\n","stream":"stderr","time":"2024-03-18T02:10:01.118123456Z"}',
        {"code": -1021, "client": "freqtrade", "ts": ts(2024, 3, 18, 2, 10, 1, 118123)},
        id="docker-json-file",
    ),
    pytest.param(
        "Error: Filter failure: PRICE_FILTER\n    code: -1013",
        {"code": -1013, "msg": "Filter failure: PRICE_FILTER", "client": "binance-api-node"},
        id="binance-api-node",
    ),
    pytest.param(
        "BadRequestError: (-1121, 'Invalid symbol.')",
        {"code": -1121, "msg": "Invalid symbol.", "client": "binance-sdk", "shape": "sdk-tuple"},
        id="binance-sdk",
    ),
    pytest.param(
        "2025-01-20 10:14:03,221 ERROR grid: order failed: RequestTimeout: binanceus POST https://api.binance.us/api/v3/order",
        {
            "code": None,
            "http_status": None,
            "shape": "message",
            "endpoint": "/api/v3/order",
            "msg": "RequestTimeout: binanceus POST https://api.binance.us/api/v3/order",
        },
        id="ccxt-timeout",
    ),
]


@pytest.mark.parametrize(("text", "expected"), SHAPES)
def test_each_shape_gives_one_exact_event(text: str, expected: dict) -> None:
    event = one(text)
    for key, value in expected.items():
        assert event[key] == value, (key, event)


def test_schema_is_exact_for_every_shape() -> None:
    # A plain line between shapes: a lone "{" or "Array" continues the line above it.
    events = extract_text("\nbot: next\n".join(p.values[0] for p in SHAPES))
    assert dict(events.schema) == EXTRACTED_SCHEMA
    assert events.height == len(SHAPES)


def test_traceback_with_logged_error_and_chain_is_one_event() -> None:
    log = "\n".join(
        [
            "2024-03-18 02:10:02,118 - freqtrade.worker - INFO - heartbeat",
            "2024-03-18 02:10:03,000 - bot - ERROR - Failed: APIError(code=-1013): Filter failure: LOT_SIZE",
            "Traceback (most recent call last):",
            '  File "x.py", line 3, in <module>',
            "    foo()",
            "binance.exceptions.BinanceAPIException: APIError(code=-1013): Filter failure: LOT_SIZE",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            '  File "y.py", line 4',
            "RuntimeError: APIError(code=-1013): Filter failure: LOT_SIZE",
            "2024-03-18 02:10:04,000 - bot - INFO - next order",
            "APIError(code=-1013): Filter failure: LOT_SIZE",
        ]
    )
    events = extract_text(log)
    assert events.select("line", "code").rows() == [(2, -1013), (14, -1013)]


def test_bare_traceback_after_plain_line_starts_at_its_header_record() -> None:
    log = 'placing order\nTraceback (most recent call last):\n  File "a.py", line 1\nccxt.base.errors.InvalidNonce: binanceus {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}\nnext'
    events = extract_text(log)
    assert events.select("line", "code", "client").rows() == [(1, -1021, "ccxt")]
    assert events["raw"][0].startswith("ccxt.base.errors.InvalidNonce")


def test_numbers_that_only_look_like_codes_are_not_events() -> None:
    log = "\n".join(
        [
            "2024-01-01 00:00:00,000 INFO bot: placed OCO orderListId=-1",
            "2024-01-01 00:00:01,000 INFO bot: realized pnl -1021.40 USD",
            "2024-01-01 00:00:02,000 INFO bot: pid -2010 started",
            "2024-01-01 00:00:03,000 INFO bot: price change -1013.5 (-2.1%)",
            '2024-01-01 00:00:04,000 DEBUG binance.api: raw response from server:{"orderId":12,"status":"FILLED"}',
            "2024-01-01 00:00:05,000 INFO bot: GET /api/v3/account HTTP/1.1 200",
        ]
    )
    assert extract_text(log).height == 0


def test_wrapper_echo_of_the_previous_error_is_not_a_new_event() -> None:
    err = '{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}'
    log = "\n".join(
        [
            f'2024-03-18 02:10:01,000 - freqtrade.exchange.common - WARNING - get_balances() returned exception: "Could not get balance due to InvalidNonce. Message: binanceus {err}". Retrying still for 1 times.',
            f'2024-03-18 02:10:02,000 - freqtrade.exchange.common - WARNING - get_balances() returned exception: "Could not get balance due to InvalidNonce. Message: binanceus {err}". Giving up.',
            f"2024-03-18 02:10:02,100 - freqtrade.worker - WARNING - Error: Could not get balance due to InvalidNonce. Message: binanceus {err}, retrying in 30 seconds...",
            f"2024-03-18 02:10:40,000 - freqtrade.worker - WARNING - Error: Could not get balance due to InvalidNonce. Message: binanceus {err}, retrying in 30 seconds...",
        ]
    )
    # Two retrier attempts are two requests; the first worker line echoes the second attempt;
    # the later worker line (38 s on) has no attempt before it, so it stands.
    assert extract_text(log)["line"].to_list() == [1, 2, 4]


def test_connector_found_error_after_raw_response_is_one_event() -> None:
    log = "\n".join(
        [
            '2024-09-12 08:00:03.115 UTC DEBUG binance.api: raw response from server:{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}',
            "2024-09-12 08:00:03.117 UTC ERROR root: Found error. status: 401, error code: -2015, error message: Invalid API-key, IP, or permissions for action.",
        ]
    )
    events = extract_text(log)
    assert events.select("line", "code", "client").rows() == [(1, -2015, "binance-connector")]


def test_timestamps_in_every_layout_become_utc() -> None:
    cases = {
        "2024-03-18 02:10:01,118 - x - ERROR - APIError(code=-1000): a": ts(
            2024, 3, 18, 2, 10, 1, 118000
        ),
        "2024-03-18T02:10:01+02:00 APIError(code=-1000): a": ts(2024, 3, 18, 0, 10, 1),
        "2024-03-18T02:10:01.5-0130 APIError(code=-1000): a": ts(2024, 3, 18, 3, 40, 1, 500000),
        "1710727801 APIError(code=-1000): a": ts(2024, 3, 18, 2, 10, 1),
        "1710727801118 APIError(code=-1000): a": ts(2024, 3, 18, 2, 10, 1, 118000),
        "2024-13-18 02:10:01 APIError(code=-1000): month 13": None,
        "APIError(code=-1000): no time": None,
    }
    events = extract_text("\n".join(cases))
    assert events["ts"].to_list() == list(cases.values())


def test_naive_timestamps_use_the_tz_option() -> None:
    event = one(
        "2024-07-01 12:00:00,000 ERROR x: APIError(code=-1000): a",
        options=ExtractOptions(tz="America/New_York"),
    )
    assert event["ts"] == ts(2024, 7, 1, 16)


def test_absurd_code_is_kept_as_an_event_without_code() -> None:
    events = extract_text('{"code": -99999999999999999999, "msg": "Filter failure: LOT_SIZE"}')
    assert events.select("code", "msg").rows() == [(None, "Filter failure: LOT_SIZE")]


def test_truncated_json_still_counts_with_its_code() -> None:
    event = one('2024-01-01 00:00:00,000 ERROR bot: {"code":-1021,"msg":"Timestamp for this req')
    assert (event["code"], event["shape"]) == (-1021, "code-only")


def test_mixed_file_keeps_input_order_and_paths() -> None:
    log = "\n".join(p.values[0] for p in SHAPES[:5])
    events = extract_text(log, path="bot.log")
    assert events["path"].unique().to_list() == ["bot.log"]
    assert events["line"].is_sorted()
    assert events.filter(pl.col("code").is_not_null()).height == 4


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("2024-01-01 00:00:00,000 WARN bot: Signature for this request is not valid.", -1022),
        (
            "2024-01-01 00:00:00,000 WARN bot: Timestamp for this request is outside of the recvWindow.",
            -1021,
        ),
        (
            "2024-01-01 00:00:00,000 WARN bot: Invalid API-key, IP, or permissions for action.",
            -2015,
        ),
        ("2024-01-01 00:00:00,000 WARN bot: Market is closed.", -2010),
    ],
)
def test_bare_known_message_without_error_words_is_an_event(line: str, code: int) -> None:
    from analyzer.reference import classify

    events = classify(extract_text(line))
    assert events.select("code", "shape").rows() == [(code, "message")]
