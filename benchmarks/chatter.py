"""Ordinary (non-error) bot-log lines for the benchmark log: five writers, their layouts.

A line is lead + day + sep1 + hh:mm:ss + sep2 + mmm + body; this module makes the layouts
and the bodies, generate.py the timestamps. Used by generate.py and planted.py.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

START_EPOCH_MS = 1740787200000  # 2025-03-01T00:00:00Z, a UTC midnight
SPAN_MS = 30 * 86_400_000

# --- timestamps -------------------------------------------------------------------------------

# Logs aim at SPAN_MS; high error rates and storms may run longer, so a year of days is ready.
DAYS = [
    time.strftime("%Y-%m-%d", time.gmtime(START_EPOCH_MS // 1000 + d * 86400)) for d in range(366)
]
HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
MS3 = [f"{m:03d}" for m in range(1000)]

# How each writer starts a line: (lead, date/time separator, second/millisecond separator).
# The line is lead + day + sep1 + hh:mm:ss + sep2 + mmm + body.
FT = ("", " ", ",")  # freqtrade / python logging: 2025-03-01 12:00:00,123 - name - LEVEL - msg
HB = ("", " ", ",")  # hummingbot: same asctime, then " - <pid> - name - LEVEL - msg"
BC = ("", " ", ".")  # binance-connector config_logging: 2025-03-01 12:00:00.123 UTC LEVEL name: msg
NODE = ("", "T", ".")  # node bot (ISO, UTC): 2025-03-01T12:00:00.123Z level: msg
JSONL = ('{"ts":"', "T", ".")  # JSON-lines capture: {"ts":"2025-03-01T12:00:00.123Z",...}

PAIRS = [("BTC", "USDT"), ("ETH", "USDT"), ("SOL", "USD"), ("ADA", "USD"), ("XRP", "USDT")]
PRICES = {"BTC": 64000.0, "ETH": 3400.0, "SOL": 150.0, "ADA": 0.7, "XRP": 0.6}
ENDPOINTS = ["/api/v3/order", "/api/v3/account", "/api/v3/openOrders", "/api/v3/myTrades"]
HEX = "0123456789abcdef"


def fake_signature(rng: random.Random) -> str:
    return "".join(rng.choices(HEX, k=64))


def pick_pair(rng: random.Random) -> tuple[str, str, float]:
    base, quote = rng.choice(PAIRS)
    return base, quote, PRICES[base] * rng.uniform(0.9, 1.1)


# --- chatter ----------------------------------------------------------------------------------

Chatter = tuple[str, str, str, str]  # lead, sep1, sep2, body (body starts right after the ms)
Layout = tuple[str, str, str]


def _ft_lines(rng: random.Random) -> list[tuple[float, Callable[[], str]]]:
    base, quote, price = pick_pair(rng)
    pair = f"{base}/{quote}"
    return [
        (
            3,
            lambda: (
                " - freqtrade.worker - INFO - Bot heartbeat. PID=1, version='2025.2', state='RUNNING'"
            ),
        ),
        (
            3,
            lambda: (
                f" - freqtrade.freqtradebot - INFO - Long signal found: about create a new trade for {pair} with stake_amount: {rng.uniform(20, 200):.2f} and price: {price:.4f} ..."
            ),
        ),
        (
            3,
            lambda: (
                f" - freqtrade.wallets - INFO - Wallets synced. {quote}: free={rng.uniform(10, 5000):.2f} used={rng.uniform(0, 500):.2f}"
            ),
        ),
        (
            6,
            lambda: (
                f" - freqtrade.exchange.exchange - DEBUG - Fetching pair {pair}, spot, interval 5m, since {START_EPOCH_MS + rng.randrange(SPAN_MS)} ..."
            ),
        ),
        (
            2,
            lambda: (
                f" - freqtrade.freqtradebot - INFO - Order {rng.randrange(10**8, 10**9)} for {pair} placed: limit buy amount {rng.uniform(0.001, 50):.5f} at {price:.4f}"
            ),
        ),
        (
            2,
            lambda: (
                f" - freqtrade.freqtradebot - INFO - Fill buy order for Trade(id={rng.randrange(1, 4000)}, pair={pair}, amount={rng.uniform(0.001, 50):.5f}, is_short=False, leverage=1.0, open_rate={price:.4f}, open_since=recent) order_status=closed"
            ),
        ),
        (
            6,
            lambda: (
                f" - freqtrade.strategy.interface - DEBUG - Checking exit signal for {pair}: exit=False, roi=False"
            ),
        ),
        (
            0.2,
            lambda: (
                " - freqtrade.exchange.common - INFO - Applying DDosProtection backoff delay: 1"
            ),
        ),
        (
            0.1,
            lambda: (
                " - freqtrade.rpc.telegram - ERROR - Telegram NetworkError: Bad Gateway! Trying one more time."
            ),
        ),
    ]


def _hb_lines(rng: random.Random) -> list[tuple[float, Callable[[], str]]]:
    base, quote, price = pick_pair(rng)
    sym = f"{base}{quote}"
    return [
        (
            4,
            lambda: (
                f" - 7 - hummingbot.strategy.pure_market_making.pure_market_making - INFO - ({base}-{quote}) Creating 1 bid orders at (Size, Price): ['{rng.uniform(0.001, 5):.4f} {base}, {price:.2f} {quote}']"
            ),
        ),
        (
            2,
            lambda: (
                f" - 7 - hummingbot.connector.client_order_tracker - INFO - The BUY order HBOTB{sym}{rng.randrange(10**8, 10**9)} amounting to {rng.uniform(0.001, 5):.4f}/{rng.uniform(0.001, 5):.4f} {base} has been filled at {price:.2f} {quote}."
            ),
        ),
        (
            4,
            lambda: (
                f" - 7 - hummingbot.strategy.pure_market_making.pure_market_making - INFO - ({base}-{quote}) Cancelling the limit order HBOTS{sym}{rng.randrange(10**8, 10**9)}."
            ),
        ),
        (
            0.2,
            lambda: (
                " - 7 - hummingbot.connector.exchange.binance.binance_exchange.BinanceExchange - INFO - Network status has changed to CONNECTED. Starting networking..."
            ),
        ),
        (
            2,
            lambda: (
                f" - 7 - hummingbot.core.rate_oracle.rate_oracle - INFO - Rate for {base}-{quote} updated: {price:.4f}"
            ),
        ),
    ]


def _bc_lines(rng: random.Random) -> list[tuple[float, Callable[[], str]]]:
    base, quote, price = pick_pair(rng)
    sym = f"{base}{quote}"
    ts = START_EPOCH_MS + rng.randrange(SPAN_MS)
    qty = rng.uniform(0.001, 5)
    oid = rng.randrange(10**8, 10**9)
    return [
        (
            4,
            lambda: (
                f" UTC DEBUG binance.api: url: https://api.binance.us/api/v3/order?symbol={sym}&side=BUY&type=LIMIT&timeInForce=GTC&quantity={qty:.5f}&price={price:.2f}&recvWindow=6000&timestamp={ts}&signature={fake_signature(rng)}"
            ),
        ),
        (
            4,
            lambda: (
                f" UTC DEBUG binance.api: url: https://api.binance.us/api/v3/account?recvWindow=6000&timestamp={ts}&signature={fake_signature(rng)}"
            ),
        ),
        (
            4,
            lambda: (
                f' UTC DEBUG urllib3.connectionpool: https://api.binance.us:443 "GET /api/v3/openOrders?symbol={sym}&timestamp={ts}&signature={fake_signature(rng)} HTTP/1.1" 200 None'
            ),
        ),
        (
            3,
            lambda: (
                f' UTC DEBUG binance.api: raw response from server:{{"symbol":"{sym}","orderId":{oid},"clientOrderId":"x-{oid}","transactTime":{ts},"price":"{price:.2f}","origQty":"{qty:.5f}","status":"NEW"}}'
            ),
        ),
        (
            2,
            lambda: (
                f" UTC INFO root: order placed symbol={sym} side=SELL orderId={oid} qty={qty:.5f} price={price:.2f}"
            ),
        ),
        (
            2,
            lambda: (
                f" UTC INFO root: order filled symbol={sym} orderId={oid} executedQty={qty:.5f} avgPrice={price:.2f}"
            ),
        ),
        (
            1,
            lambda: (
                " UTC DEBUG urllib3.connectionpool: Starting new HTTPS connection (1): api.binance.us:443"
            ),
        ),
    ]


def _node_lines(rng: random.Random) -> list[tuple[float, Callable[[], str]]]:
    base, quote, price = pick_pair(rng)
    sym = f"{base}{quote}"
    return [
        (
            2,
            lambda: (
                f"Z info: balance update {quote} free={rng.uniform(10, 5000):.2f} locked={rng.uniform(0, 50):.2f}"
            ),
        ),
        (
            2,
            lambda: (
                f'Z info: order placed {{"symbol":"{sym}","orderId":{rng.randrange(10**8, 10**9)},"status":"NEW","type":"LIMIT","side":"BUY"}}'
            ),
        ),
        (
            3,
            lambda: (
                f"Z debug: x-mbx-used-weight-1m={rng.randrange(1, 1200)} x-mbx-order-count-10s={rng.randrange(0, 50)}"
            ),
        ),
        (4, lambda: f"Z info: ticker {sym} bid={price:.4f} ask={price * 1.0005:.4f}"),
    ]


def _jsonl_lines(rng: random.Random) -> list[tuple[float, Callable[[], str]]]:
    oid = rng.randrange(10**8, 10**9)
    sym = "".join(pick_pair(rng)[:2])
    return [
        (
            2,
            lambda: (
                f'Z","level":"info","logger":"bot","msg":"heartbeat","uptime_s":{rng.randrange(10**6)}}}'
            ),
        ),
        (
            2,
            lambda: (
                f'Z","level":"info","logger":"ws-api","msg":"order.place ok","response":{{"id":"{oid}","status":200,"result":{{"symbol":"{sym}","orderId":{oid}}}}}}}'
            ),
        ),
        (
            1,
            lambda: (
                f'Z","level":"debug","logger":"ws-api","msg":"rateLimits","rateLimits":[{{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":1200,"count":{rng.randrange(1, 1200)}}}]}}'
            ),
        ),
    ]


# Writer mix: (share of chatter lines, timestamp layout, line menu).
WRITERS: list[
    tuple[float, Layout, Callable[[random.Random], list[tuple[float, Callable[[], str]]]]]
] = [
    (0.30, FT, _ft_lines),
    (0.22, HB, _hb_lines),
    (0.28, BC, _bc_lines),
    (0.13, NODE, _node_lines),
    (0.07, JSONL, _jsonl_lines),
]


def chatter_line(rng: random.Random) -> Chatter:
    """One ordinary (non-error) line body, with its writer's timestamp layout."""
    _, layout, menu = rng.choices(WRITERS, weights=[w[0] for w in WRITERS])[0]
    options = menu(rng)
    make = rng.choices([o[1] for o in options], weights=[o[0] for o in options])[0]
    return (*layout, make())
