"""Error records planted in the benchmark log, in the shapes of shared/domain.md section (c).

Each generator returns a Planted: the text and what it carries (visible code, HTTP status,
reason slug of docs/CONTRACTS.md, shape), so generate.py can write the truth file. The storm
records at the end (RETRY_LOOP, RandomCodes) feed generate.py's --storm modes.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatter import BC, ENDPOINTS, FT, HB, HEX, JSONL, NODE, pick_pair

# --- errors -----------------------------------------------------------------------------------


@dataclass
class Planted:
    """One error event as written: visible code (None if the log shows none), HTTP status, …"""

    layout: tuple[str, str, str]
    body: str  # text after the millisecond digits; may hold more lines ("\n"-joined)
    code: int | None
    http: int | None
    reason: str  # "" when the generator does not know it (RandomCodes: the message rules decide)
    shape: str


MSG_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_OUTSIDE = "Timestamp for this request is outside of the recvWindow."
MSG_WEIGHT = "Too much request weight used; current limit is 1200 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
MSG_BAN = "Way too much request weight used; IP banned until {until}. Please use WebSocket Streams for live updates to avoid bans."
MSG_BAN_OLD = "Way too much request weight used; IP banned until {until}. Please use the websocket for live updates to avoid bans."
MSG_FUNDS = "Account has insufficient balance for requested action."
MSG_GEO = "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."
FILTERS = ["LOT_SIZE", "MIN_NOTIONAL", "NOTIONAL", "PRICE_FILTER", "PERCENT_PRICE_BY_SIDE"]
OTHER = [  # (code, msg, http, reason) for the "misc" shapes
    (-1022, "Signature for this request is not valid.", 400, "bad_signature"),
    (-2015, "Invalid API-key, IP, or permissions for action.", 401, "auth_key_ip_permissions"),
    (-1121, "Invalid symbol.", 400, "bad_symbol"),
    (-2013, "Order does not exist.", 400, "order_not_found"),
    (-1131, "'recvWindow' must be less than 60000.", 400, "recv_window_too_large"),
    (
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        408,
        "execution_unknown",
    ),
    (
        -1015,
        "Too many new orders; current limit is 100 orders per 10 SECOND.",
        429,
        "order_rate_limit",
    ),
    (-2011, "Unknown order sent.", 400, "unknown_order"),
]


def _clock(rng: random.Random) -> tuple[str, str]:
    return (MSG_AHEAD, "clock_ahead") if rng.random() < 0.5 else (MSG_OUTSIDE, "clock_behind")


def _j(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg}, separators=(",", ":"))


def _ban_until(rng: random.Random, now_ms: int) -> int:
    """Epoch ms when an IP ban lifts: bans escalate from 2 minutes to 3 days."""
    return now_ms + rng.choice([120, 300, 900, 3600, 86400, 259200]) * 1000


def e_ft_nonce(rng: random.Random, now: int) -> Planted:
    msg, reason = _clock(rng)
    n = rng.randrange(0, 4)
    tail = f"Retrying still for {n} times." if n else "Giving up."
    body = f' - freqtrade.exchange.common - WARNING - get_balances() returned exception: "Could not get balance due to InvalidNonce. Message: binanceus {_j(-1021, msg)}". {tail}'
    return Planted(FT, body, -1021, None, reason, "freqtrade-retrier")


def e_ft_ddos(rng: random.Random, now: int) -> Planted:
    base, quote, _ = pick_pair(rng)
    body = f' - freqtrade.exchange.common - WARNING - _async_get_candle_history() returned exception: "Could not fetch historical candle (OHLCV) data for pair {base}/{quote} due to DDoSProtection. Message: binanceus 429 Too Many Requests {_j(-1003, MSG_WEIGHT)}". Retrying still for 3 times.'
    return Planted(FT, body, -1003, 429, "rate_limit", "freqtrade-retrier")


def e_ft_order(rng: random.Random, now: int) -> Planted:
    base, quote, price = pick_pair(rng)
    amt = rng.uniform(0.0001, 3)
    f = rng.choice(FILTERS[:3])
    if f == "LOT_SIZE":
        exc = f"binanceus order amount should be evenly divisible by lot size {_j(-1013, 'Filter failure: LOT_SIZE')}"
    else:
        exc = f"binanceus {_j(-1013, 'Filter failure: ' + f)}"
    body = f" - freqtrade.freqtradebot - WARNING - Unable to create trade for {base}/{quote}: Could not create limit buy order on market {base}/{quote}. Tried to buy amount {amt:.6f} at rate {price:.4f}. Message: {exc}"
    return Planted(FT, body, -1013, None, f"filter:{f}", "freqtrade-order")


def e_ft_funds(rng: random.Random, now: int) -> Planted:
    base, quote, price = pick_pair(rng)
    body = f" - freqtrade.freqtradebot - WARNING - Unable to create trade for {base}/{quote}: Insufficient funds to create limit buy order on market {base}/{quote}. Tried to buy amount {rng.uniform(0.01, 3):.6f} at rate {price:.4f}.Message: binanceus {MSG_FUNDS}"
    return Planted(FT, body, None, None, "insufficient_balance", "freqtrade-order")


def e_ccxt_invalid_order(rng: random.Random, now: int) -> Planted:
    f = rng.choice(["LOT_SIZE", "PRICE_FILTER"])
    if f == "LOT_SIZE":
        exc = f"InvalidOrder: binanceus order amount should be evenly divisible by lot size {_j(-1013, 'Filter failure: LOT_SIZE')}"
    else:
        exc = f"InvalidOrder: binanceus order price is invalid, i.e. exceeds allowed price precision, exceeds min price or max price limits or is invalid value in general, use self.price_to_precision (symbol, amount) {_j(-1013, 'Filter failure: PRICE_FILTER')}"
    body = f" - bot.trader - ERROR - create_order failed: {exc}"
    return Planted(FT, body, -1013, None, f"filter:{f}", "ccxt")


def e_ccxt_traceback(rng: random.Random, now: int) -> Planted:
    msg, reason = _clock(rng)
    body = "\n".join(
        [
            " - freqtrade - ERROR - Fatal exception!",
            "Traceback (most recent call last):",
            '  File "/freqtrade/freqtrade/exchange/exchange.py", line 1552, in get_balances',
            "    balances = self._api.fetch_balance()",
            '  File "/home/ftuser/.local/lib/python3.11/site-packages/ccxt/binance.py", line 3419, in fetch_balance',
            "    response = self.privateGetAccount(self.extend(request, query))",
            '  File "/home/ftuser/.local/lib/python3.11/site-packages/ccxt/base/exchange.py", line 650, in fetch',
            "    self.handle_errors(http_status_code, http_status_text, url, method, headers, http_response, json_response, request_headers, request_body)",
            '  File "/home/ftuser/.local/lib/python3.11/site-packages/ccxt/base/exchange.py", line 4567, in throw_exactly_matched_exception',
            "    raise exact[string](message)",
            f"ccxt.base.errors.InvalidNonce: binanceus {_j(-1021, msg)}",
        ]
    )
    return Planted(FT, body, -1021, None, reason, "traceback")


def e_pb_traceback(rng: random.Random, now: int) -> Planted:
    base, quote, _ = pick_pair(rng)
    body = "\n".join(
        [
            f" - bot.main - ERROR - order for {base}{quote} failed",
            "Traceback (most recent call last):",
            '  File "/app/bot.py", line 212, in place_order',
            "    order = client.order_market_buy(symbol=symbol, quantity=qty)",
            '  File "/app/.venv/lib/python3.11/site-packages/binance/client.py", line 1380, in _request_api',
            "    return self._handle_response(self.response)",
            '  File "/app/.venv/lib/python3.11/site-packages/binance/client.py", line 128, in _handle_response',
            "    raise BinanceAPIException(response, response.status_code, response.text)",
            f"binance.exceptions.BinanceAPIException: APIError(code=-2010): {MSG_FUNDS}",
        ]
    )
    return Planted(FT, body, -2010, None, "insufficient_balance", "traceback")


def e_pb_rate(rng: random.Random, now: int) -> Planted:
    return Planted(
        FT,
        f" - bot.main - ERROR - APIError(code=-1003): {MSG_WEIGHT}",
        -1003,
        None,
        "rate_limit",
        "python-binance",
    )


def e_pb_ban(rng: random.Random, now: int) -> Planted:
    until = _ban_until(rng, now)
    tmpl = MSG_BAN if rng.random() < 0.7 else MSG_BAN_OLD
    body = f" - bot.main - ERROR - APIError(code=-1003): {tmpl.format(until=until)}"
    return Planted(FT, body, -1003, None, "ip_ban", "python-binance")


def e_pb_filter(rng: random.Random, now: int) -> Planted:
    f = rng.choice(["MIN_NOTIONAL", "PERCENT_PRICE_BY_SIDE", "LOT_SIZE"])
    body = f" - bot.main - ERROR - APIError(code=-1013): Filter failure: {f}"
    return Planted(FT, body, -1013, None, f"filter:{f}", "python-binance")


def e_pb_unknown_order(rng: random.Random, now: int) -> Planted:
    body = " - bot.main - WARNING - cancel failed: APIError(code=-2011): Unknown order sent."
    return Planted(FT, body, -2011, None, "unknown_order", "python-binance")


def e_pb_geo(rng: random.Random, now: int) -> Planted:
    return Planted(
        FT,
        f" - bot.main - ERROR - APIError(code=0): {MSG_GEO}",
        0,
        None,
        "geo_block",
        "python-binance",
    )


def e_hb_503(rng: random.Random, now: int) -> Planted:
    ep = rng.choice(ENDPOINTS)
    body = f" - 7 - hummingbot.connector.exchange.binance.binance_exchange.BinanceExchange - NETWORK - Unexpected error while fetching account updates. Error executing request GET https://api.binance.us{ep}. HTTP status is 503. Error: N/A"
    return Planted(HB, body, None, 503, "execution_unknown", "hummingbot")


def e_hb_json(rng: random.Random, now: int) -> Planted:
    r = rng.random()
    if r < 0.5:
        code, msg, http, reason = -2010, MSG_FUNDS, 400, "insufficient_balance"
        what, req = "Error submitting order.", "POST https://api.binance.us/api/v3/order"
    elif r < 0.8:
        msg, reason = _clock(rng)
        code, http = -1021, 400
        what = "Unexpected error while fetching account updates."
        req = "GET https://api.binance.us/api/v3/account"
    else:
        code, msg, http, reason = -1003, MSG_WEIGHT, 429, "rate_limit"
        what = "Unexpected error while fetching last traded prices."
        req = "GET https://api.binance.us/api/v3/ticker/price"
    body = f" - 7 - hummingbot.connector.exchange.binance.binance_exchange.BinanceExchange - NETWORK - {what} Error executing request {req}. HTTP status is {http}. Error: {_j(code, msg)}"
    return Planted(HB, body, code, http, reason, "hummingbot")


def e_connector(rng: random.Random, now: int) -> Planted:
    r = rng.random()
    if r < 0.45:
        code, msg, http, reason = -2010, MSG_FUNDS, 400, "insufficient_balance"
    elif r < 0.7:
        f = rng.choice(FILTERS)
        code, msg, http, reason = -1013, f"Filter failure: {f}", 400, f"filter:{f}"
    elif r < 0.85:
        code, msg, http, reason = -2015, OTHER[1][1], 401, "auth_key_ip_permissions"
    else:
        code, msg, http, reason = -1003, MSG_WEIGHT, 429, "rate_limit"
    body = f" UTC ERROR root: Found error. status: {http}, error code: {code}, error message: {msg}"
    return Planted(BC, body, code, http, reason, "binance-connector")


def e_node(rng: random.Random, now: int) -> Planted:
    r = rng.random()
    if r < 0.5:
        code, msg, reason = -2010, MSG_FUNDS, "insufficient_balance"
    elif r < 0.8:
        m, reason = _clock(rng)
        code, msg = -1021, m
    else:
        code, msg, reason = -1022, OTHER[0][1], "bad_signature"
    lines = [f"Z error: Error: {_j(code, msg)}"]
    if rng.random() < 0.5:
        lines += [
            "    at Request._callback (/app/node_modules/node-binance-api/dist/node-binance-api.js:446:27)",
            "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
        ]
    return Planted(NODE, "\n".join(lines), code, None, reason, "node-binance-api")


def e_jsonl(rng: random.Random, now: int) -> Planted:
    rid = "".join(rng.choices(HEX, k=12))
    if rng.random() < 0.6:
        code, http, reason, msg = -2010, 400, "insufficient_balance", MSG_FUNDS
        err = {"code": code, "msg": msg}
    else:
        until = _ban_until(rng, now)
        code, http, reason, msg = -1003, 418, "ip_ban", MSG_BAN.format(until=until)
        err = {"code": code, "msg": msg, "data": {"serverTime": now, "retryAfter": until}}
    resp = {"id": rid, "status": http, "error": err}
    tail = json.dumps(resp, separators=(",", ":"))
    body = f'Z","level":"error","logger":"ws-api","msg":"order.place failed","response":{tail}}}'
    return Planted(JSONL, body, code, http, reason, "jsonl")


def e_ccxt_http(rng: random.Random, now: int) -> Planted:
    ep = rng.choice(ENDPOINTS)
    body = f" - bot.trader - ERROR - fetch failed: ExchangeNotAvailable: binanceus GET https://api.binance.us{ep} 503 Service Unavailable <html><body><h1>503 Service Unavailable</h1></body></html>"
    return Planted(FT, body, None, 503, "execution_unknown", "ccxt")


def e_misc(rng: random.Random, now: int) -> Planted:
    code, msg, http, reason = rng.choice(OTHER)
    if rng.random() < 0.5:
        body = f" - bot.main - ERROR - APIError(code={code}): {msg}"
        return Planted(FT, body, code, None, reason, "python-binance")
    body = f" UTC ERROR root: Found error. status: {http}, error code: {code}, error message: {msg}"
    return Planted(BC, body, code, http, reason, "binance-connector")


# (generator, weight, max burst length): clock and rate-limit trouble comes in storms.
ERROR_SHAPES: list[tuple[Callable[[random.Random, int], Planted], float, int]] = [
    (e_ft_nonce, 14, 6),
    (e_ft_ddos, 6, 8),
    (e_ft_order, 6, 1),
    (e_ft_funds, 2, 1),
    (e_ccxt_invalid_order, 4, 1),
    (e_ccxt_traceback, 3, 1),
    (e_pb_traceback, 2, 1),
    (e_pb_rate, 3, 6),
    (e_pb_ban, 2, 2),
    (e_pb_filter, 3, 1),
    (e_pb_unknown_order, 3, 1),
    (e_pb_geo, 0.3, 1),
    (e_hb_503, 5, 4),
    (e_hb_json, 5, 2),
    (e_connector, 6, 1),
    (e_node, 6, 2),
    (e_jsonl, 3, 1),
    (e_ccxt_http, 1, 3),
    (e_misc, 5, 1),
]


# --- storms -----------------------------------------------------------------------------------

# A bot stuck retrying: one freqtrade retrier line over and over; only the timestamp moves.
RETRY_LOOP = Planted(
    FT,
    f' - freqtrade.exchange.common - WARNING - get_balances() returned exception: "Could not get balance due to InvalidNonce. Message: binanceus {_j(-1021, MSG_OUTSIDE)}". Retrying still for 3 times.',
    -1021,
    None,
    "clock_behind",
    "freqtrade-retrier",
)

REFERENCE_TOML = Path(__file__).resolve().parent.parent / "analyzer/reference/error_codes.toml"
UNKNOWN_SHARE = 0.3  # share of RandomCodes events whose code the reference table does not list
UNKNOWN_RANGE = range(-9999, -999)  # unknown codes are drawn from here, minus the listed ones
UNKNOWN_MSG = "Unexpected error from the exchange."
CODE_HTTP = {-1002: 401, -1003: 429, -1007: 408, -1015: 429, -2008: 401, -2014: 401, -2015: 401}


def reference_codes(path: Path = REFERENCE_TOML) -> list[tuple[int, str]]:
    """(code, first message) of every [[code]] row of the reference table that has a message."""
    rows = tomllib.loads(path.read_text(encoding="utf-8")).get("code", [])
    found = []
    for row in rows:
        msgs = row.get("message")
        msg = msgs[0] if isinstance(msgs, list) and msgs else msgs
        if "code" in row and isinstance(msg, str) and msg:
            found.append((int(row["code"]), msg.replace("%s", "quantity")))
    return found


def _rc_python_binance(code: int, msg: str, http: int, rid: str) -> Planted:
    return Planted(
        FT, f" - bot.main - ERROR - APIError(code={code}): {msg}", code, None, "", "python-binance"
    )


def _rc_connector(code: int, msg: str, http: int, rid: str) -> Planted:
    body = f" UTC ERROR root: Found error. status: {http}, error code: {code}, error message: {msg}"
    return Planted(BC, body, code, http, "", "binance-connector")


def _rc_node(code: int, msg: str, http: int, rid: str) -> Planted:
    return Planted(NODE, f"Z error: Error: {_j(code, msg)}", code, None, "", "node-binance-api")


def _rc_hummingbot(code: int, msg: str, http: int, rid: str) -> Planted:
    body = f" - 7 - hummingbot.connector.exchange.binance.binance_exchange.BinanceExchange - NETWORK - Error submitting order. Error executing request POST https://api.binance.us/api/v3/order. HTTP status is {http}. Error: {_j(code, msg)}"
    return Planted(HB, body, code, http, "", "hummingbot")


def _rc_jsonl(code: int, msg: str, http: int, rid: str) -> Planted:
    resp = json.dumps(
        {"id": rid, "status": http, "error": {"code": code, "msg": msg}}, separators=(",", ":")
    )
    body = f'Z","level":"error","logger":"ws-api","msg":"order.place failed","response":{resp}}}'
    return Planted(JSONL, body, code, http, "", "jsonl")


_RC_SHAPES = [_rc_python_binance, _rc_connector, _rc_node, _rc_hummingbot, _rc_jsonl]


class RandomCodes:
    """One-line error records with assorted codes: the reference table's and unlisted ones.

    Five shapes (python-binance, binance-connector, node, hummingbot, JSON-lines); the HTTP
    status is visible in three of them. The reason is left to bnlog ("" in the Planted).
    """

    def __init__(self, path: Path = REFERENCE_TOML) -> None:
        self.known = reference_codes(path)
        listed = {code for code, _ in self.known}
        self.unknown = [code for code in UNKNOWN_RANGE if code not in listed]

    def __call__(self, rng: random.Random, now: int) -> Planted:
        if rng.random() < UNKNOWN_SHARE:
            code, msg = rng.choice(self.unknown), UNKNOWN_MSG
        else:
            code, msg = rng.choice(self.known)
        shape = _RC_SHAPES[int(rng.random() * len(_RC_SHAPES))]
        rid = "".join(rng.choices(HEX, k=12))
        return shape(code, msg, CODE_HTTP.get(code, 400), rid)
