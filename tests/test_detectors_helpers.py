"""Builders for tiny events frames in the exact EVENT_SCHEMA (imported by the detector tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from analyzer.detectors.base import TIME_OFFSET_SCHEMA
from analyzer.schema import EVENT_SCHEMA

DEFAULTS: dict[str, object] = {"path": "bot.log", "known": True, "severity": "error", "kind": "api"}


def at(text: str) -> datetime:
    """'2024-03-18 02:10:00' (or with .fff) as an aware UTC datetime."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def make_events(rows: list[dict[str, object]]) -> pl.DataFrame:
    """An events frame from partial rows: `ts` may be a string, missing columns are null.

    `line` defaults to the row's 1-based position and `raw` to 'line N: <msg>', so every
    row is distinct and evidence is easy to predict.
    """
    full = []
    for n, row in enumerate(rows, start=1):
        values: dict[str, object] = {name: None for name in EVENT_SCHEMA}
        values.update(DEFAULTS)
        values["line"] = n
        values.update(row)
        if isinstance(values["ts"], str):
            values["ts"] = at(values["ts"])
        if values["raw"] is None:
            values["raw"] = f"line {values['line']}: {values['msg'] or values['reason']}"
        full.append(values)
    return pl.DataFrame(full, schema=EVENT_SCHEMA)


def make_offsets(rows: list[tuple[str, int]]) -> pl.DataFrame:
    """A time-offset frame from (ts, offset_ms) pairs."""
    return pl.DataFrame([(at(ts), ms) for ts, ms in rows], schema=TIME_OFFSET_SCHEMA, orient="row")


def repeat(row: dict[str, object], times: list[str]) -> list[dict[str, object]]:
    """The same event at several times."""
    return [{**row, "ts": ts} for ts in times]


def epoch_ms(text: str) -> int:
    """'2024-03-18 06:07:00' as epoch milliseconds (the form of 'IP banned until N')."""
    return int(at(text).timestamp() * 1000)


def mixed_log() -> list[dict[str, object]]:
    """A log where every detector finds something (used for ordering and determinism tests)."""
    rows: list[dict[str, object]] = []
    clock = {"reason": "clock_ahead", "code": -1021, "client": "ccxt", "category": "general"}
    rows += repeat(clock, ["2024-03-18 02:10:00", "2024-03-18 03:00:00", "2024-03-18 05:40:00"])
    limited = {"reason": "rate_limit", "code": -1003, "http_status": 429, "retry_after": 30}
    rows += repeat(limited, ["2024-03-18 06:00:00", "2024-03-18 06:00:10", "2024-03-18 06:01:00"])
    ban = {"reason": "ip_ban", "code": -1003, "http_status": 418}
    rows += [
        {**ban, "ts": "2024-03-18 06:02:00", "ban_until": epoch_ms("2024-03-18 06:07:00")},
        {**ban, "ts": "2024-03-18 06:03:00", "ban_until": epoch_ms("2024-03-18 06:30:00")},
    ]
    busy = {"reason": "execution_unknown", "code": -1007, "endpoint": "/api/v3/order"}
    rows += [
        {**busy, "ts": f"2024-03-18 07:0{i}:00", "symbol": symbol}
        for i, symbol in enumerate(["BTCUSD", "ETHUSD", "SOLUSD"])
    ]
    rows += [{"reason": "server_busy", "code": -1008, "ts": "2024-03-18 10:00:00"}]
    rows += [{"reason": "auth_key_ip_permissions", "code": -2015, "ts": "2024-03-18 08:00:00"}]
    rows += [{"reason": "geo_block", "code": 0, "http_status": 451, "ts": "2024-03-18 01:00:00"}]
    lot = {"reason": "filter:LOT_SIZE", "code": -1013, "category": "filter", "symbol": "SOLUSD"}
    rows += repeat(lot, ["2024-03-18 04:00:00", "2024-03-18 04:00:00"])
    rows += [
        {"reason": "filter:MIN_NOTIONAL", "code": -1013, "category": "filter", "symbol": s}
        | {"ts": "2024-03-18 04:00:00"}
        for s in ["BTCUSD", "ETHUSD"]
    ]
    order = {"code": -2010, "symbol": "BTCUSD", "category": "order"}
    rows += [{**order, "reason": "insufficient_balance", "ts": "2024-03-18 04:30:00"}]
    rows += [{**order, "reason": "unknown_order", "code": -2011, "ts": "2024-03-18 04:31:00"}]
    rows += [
        {
            "reason": "param:mandatory_param_empty_or_malformed",
            "code": -1102,
            "category": "request",
            "msg": "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
            "ts": "2024-03-18 04:32:00",
        }
    ]
    rows += [{"reason": "unknown_code", "code": -1999, "known": False, "ts": "2024-03-18 04:33:00"}]
    timeouts = {"reason": "network_timeout", "category": "network"}
    rows += repeat(timeouts, [f"2024-03-18 11:00:{i:02d}" for i in range(30)])
    rows += [{"reason": "clock_behind", "code": -1021}]  # an untimed event
    return rows
