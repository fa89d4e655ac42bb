"""Extraction: every log shape → exact events; records fold tracebacks; non-codes are not events."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from analyzer.extract import ExtractOptions, extract_text
from analyzer.extract.shapes import load_shapes
from analyzer.schema import EXTRACTED_SCHEMA


def one(text: str, **kw) -> dict:
    """The single event of a log snippet, as a dict."""
    events = extract_text(text, **kw)
    assert events.height == 1, events.select("line", "code", "msg", "raw").rows()
    return events.row(0, named=True)


def ts(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Every shape's samples, with their exact fields, are in analyzer/extract/shapes.toml and are
# checked by tests/test_shapes.py; these tests are about records, echoes and the schema.


def test_schema_is_exact_for_every_shape() -> None:
    samples = [s for shape in load_shapes().codes for s in shape.samples]
    # Neutral timed records between samples: no two samples are adjacent (no echo), and an
    # untimed sample joins the record of the tick line before it.
    tick = "2024-01-01 00:00:00,000 INFO bot: tick"
    events = extract_text(f"\n{tick}\n{tick}\n".join(s.text for s in samples))
    assert dict(events.schema) == EXTRACTED_SCHEMA
    assert events.height == sum(s.events for s in samples)


def test_transport_failure_is_kept_but_is_no_api_event() -> None:
    event = one(
        "2025-01-20 10:14:03,221 ERROR grid: order failed: RequestTimeout: binanceus POST "
        "https://api.binance.us/api/v3/order"
    )
    assert (event["code"], event["http_status"], event["kind"], event["shape"]) == (
        None,
        None,
        "transport",
        "network",
    )
    assert event["msg"] == "RequestTimeout: POST https://api.binance.us/api/v3/order"


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
            "2024-03-18 02:10:09,000 - bot - INFO - next order",
            "APIError(code=-1013): Filter failure: LOT_SIZE",
        ]
    )
    # The untimed line after "next order" belongs to that record: its event has its line.
    events = extract_text(log)
    assert events.select("line", "code").rows() == [(2, -1013), (13, -1013)]


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


def test_a_code_after_the_level_word_and_its_message_are_one_event() -> None:
    # The known message read from the capitalised level word on ("ERROR -1013 Filter
    # failure: …") holds the coded mention's own message: one error, not a second one.
    for level in ("ERROR", "Error"):
        log = f"2024-05-03 14:05:12 {level} -1013 Filter failure: LOT_SIZE"
        events = extract_text(log)
        assert events.select("code", "msg").rows() == [(-1013, "Filter failure: LOT_SIZE")]


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
        "2024-03-18T02:10:01+02:00 APIError(code=-1001): a": ts(2024, 3, 18, 0, 10, 1),
        "2024-03-18T02:10:01.5-0130 APIError(code=-1002): a": ts(2024, 3, 18, 3, 40, 1, 500000),
        "1710727801 APIError(code=-1003): a": ts(2024, 3, 18, 2, 10, 1),
        "1710727801118 APIError(code=-1004): a": ts(2024, 3, 18, 2, 10, 1, 118000),
        "2024-13-18 02:10:01 APIError(code=-1005): month 13": None,
        "14/02/2025 09:00:00 APIError(code=-1006): day first": ts(2025, 2, 14, 9),
        "2025-02-31 09:00:00 APIError(code=-1007): no such day": None,
    }
    events = extract_text("\n".join(cases))
    assert events["ts"].to_list() == list(cases.values())


def test_an_untimed_line_after_a_timed_one_takes_its_time() -> None:
    events = extract_text("2024-03-18 02:10:01,118 - x - INFO - a\nAPIError(code=-1000): no time")
    assert events.select("line", "ts").rows() == [(1, ts(2024, 3, 18, 2, 10, 1, 118000))]


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
    samples = [shape.samples[0].text for shape in load_shapes().codes[:5]]
    events = extract_text("\n".join(samples), path="bot.log")
    assert events["path"].unique().to_list() == ["bot.log"]
    assert events["line"].is_sorted()
    assert events.filter(pl.col("code").is_not_null()).height == 5


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
        ("2024-01-01 00:00:00,000 WARN bot: Invalid symbol.", -1121),
        (
            "2024-01-01 00:00:00,000 WARN bot: Precision is over the maximum defined for this asset.",
            -1111,
        ),
        # arrives as -1013 or -2010: the message alone names no code
        ("2024-01-01 00:00:00,000 WARN bot: Market is closed.", None),
        ("2024-01-01 00:00:00,000 WARN bot: Filter failure: LOT_SIZE", None),
    ],
)
def test_bare_known_message_without_error_words_is_an_event(line: str, code: int | None) -> None:
    from analyzer.reference import classify

    events = classify(extract_text(line))
    assert events.select("code", "shape").rows() == [(code, "message")]


# --- one event per failed request (corpus_policy.md) ----------------------------------------


def rows(text: str, *columns: str) -> list[tuple]:
    from analyzer.reference import classify

    return classify(extract_text(text)).select(*columns).rows()


def test_a_logged_line_and_the_untimed_exception_line_after_it_are_one_event() -> None:
    log = (
        "2025-06-02 08:14:09,331 - 1 - hummingbot.strategy - ERROR - Error submitting buy LIMIT "
        "order for 0.12 SOL-USDT.\n"
        "OSError: Error executing request POST https://api.binance.us/api/v3/order. HTTP status "
        'is 400. Error: {"code":-1013,"msg":"Filter failure: LOT_SIZE"}'
    )
    assert rows(log, "line", "ts", "symbol", "code", "http_status") == [
        (1, ts(2025, 6, 2, 8, 14, 9, 331000), "SOLUSDT", -1013, 400)
    ]


def test_fragments_of_one_error_stay_together() -> None:
    split = (
        "2024-05-01 10:00:00 ERROR bot: order rejected, code -1013\n\n: Filter failure: LOT_SIZE"
    )
    quoted = 'order response:\n> {\n>   "code": -2010,\n>   "msg": "Account has insufficient balance for requested action."\n> }'
    assert rows(split, "code", "msg") == [(-1013, "Filter failure: LOT_SIZE")]
    assert rows(quoted, "line", "code") == [(1, -2010)]


def test_indented_lines_with_their_own_times_are_records_of_their_own() -> None:
    log = (
        "2024-05-01 10:00:00 worker summary:\n"
        "    2024-05-01 10:00:01 APIError(code=-1021): Timestamp for this request is outside of the recvWindow.\n"
        "    2024-05-01 10:00:09 APIError(code=-1021): Timestamp for this request is outside of the recvWindow."
    )
    assert rows(log, "line", "code") == [(2, -1021), (3, -1021)]


def test_a_message_line_then_its_coded_line_is_one_event_with_both() -> None:
    log = "ERROR:root:Timestamp for this request is outside of the recvWindow.\n{'code': -1021, 'msg': 'Timestamp for this request is outside of the recvWindow.'}"
    assert rows(log, "line", "code") == [(1, -1021)]


def test_a_status_line_and_the_json_body_after_it_are_one_event() -> None:
    log = (
        "2024-05-01 10:00:00.100 WARN http: POST /api/v3/order answered HTTP 400\n"
        '2024-05-01 10:00:00.101 WARN http: body {"code":-1013,"msg":"Filter failure: PRICE_FILTER"}'
    )
    assert rows(log, "line", "code", "http_status") == [(1, -1013, 400)]


def test_byte_identical_lines_at_different_times_are_retries() -> None:
    line = (
        "ERROR bot: APIError(code=-1021): Timestamp for this request is outside of the recvWindow."
    )
    log = f"2024-05-01 10:00:00,000 {line}\n2024-05-01 10:00:00,400 {line}\n2024-05-01 10:00:03,000 {line}"
    assert rows(log, "line") == [(1,), (2,), (3,)]


def test_the_same_wrapper_for_two_orders_in_one_second_is_two_requests() -> None:
    log = (
        "2024-05-01 10:00:00,100 ERROR bot - Failed to cancel order x-AB12 APIError(code=-2011): Unknown order sent.\n"
        "2024-05-01 10:00:00,300 ERROR bot - Failed to cancel order x-CD34 APIError(code=-2011): Unknown order sent."
    )
    assert rows(log, "line") == [(1,), (2,)]


def test_a_record_with_two_different_codes_is_two_events() -> None:
    log = (
        "2024-05-01 10:00:00 ERROR batch failed: "
        '[{"code":-1013,"msg":"Filter failure: LOT_SIZE"},{"code":-2010,"msg":"Account has insufficient balance for requested action."}]'
    )
    assert rows(log, "code") == [(-1013,), (-2010,)]


def test_a_cut_off_traceback_never_swallows_the_next_event() -> None:
    log = (
        "2024-05-01 10:00:00 ERROR bot: fetch failed\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/bot/run.py", line 12, in poll\n'
        "2024-05-01 10:00:05 ERROR bot: APIError(code=-1003): Too much request weight used; current limit is 1200 request weight per 1 MINUTE."
    )
    assert rows(log, "line", "code") == [(4, -1003)]


def test_another_hosts_status_is_not_a_binance_event() -> None:
    log = (
        "2024-02-18 10:02:12,301 ERROR send_telegram_message - HTTPError('404 Client Error: Not "
        "Found for url: https://api.telegram.org/botNone/sendMessage?text=hi')\n"
        "2024-02-18 10:05:12,301 ERROR hedge - Error fetching data from https://api.crypto.com/v2/"
        "private/create-order. HTTP status is 400."
    )
    assert rows(log, "code", "http_status") == []


def test_an_exchange_not_available_wrapper_is_classified_by_the_binance_message() -> None:
    log = "ccxt.base.errors.ExchangeNotAvailable: binance Rest API trading is not enabled."
    assert rows(log, "kind", "reason") == [("api", "api_trading_disabled")]
