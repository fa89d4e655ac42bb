"""Time-pattern detectors: clock_drift, rate_limit, ip_ban, outage, error_spike."""

from __future__ import annotations

import pytest
from test_detectors_helpers import at, epoch_ms, make_events, make_offsets, repeat

from analyzer.detectors import DetectContext
from analyzer.detectors.clock_drift import ClockDrift
from analyzer.detectors.error_spike import ErrorSpike
from analyzer.detectors.ip_ban import IpBan
from analyzer.detectors.outage import Outage
from analyzer.detectors.rate_limit import RateLimit
from analyzer.schema import Severity

CTX = DetectContext()
AHEAD = {"reason": "clock_ahead", "code": -1021, "category": "general"}
BEHIND = {"reason": "clock_behind", "code": -1021, "category": "general"}
LIMITED = {"reason": "rate_limit", "code": -1003, "http_status": 429, "category": "general"}
BANNED = {"reason": "ip_ban", "code": -1003, "http_status": 418, "category": "general"}


def day(*times: str) -> list[str]:
    return [f"2024-03-18 {t}" for t in times]


# ---------------------------------------------------------------------------- clock_drift


def test_clock_ahead_getting_worse_with_ccxt_fix() -> None:
    times = day("02:10:00", "03:00:00", "04:00:00", "04:30:00", "05:00:00", "05:20:00", "05:40:00")
    events = make_events(repeat({**AHEAD, "client": "ccxt"}, times))
    (f,) = ClockDrift().detect(events, CTX)
    assert (f.kind, f.severity, f.count) == ("clock_drift", Severity.ERROR, 7)
    assert (f.first_seen, f.last_seen) == (at(times[0]), at(times[-1]))
    assert f.title == (
        "7 requests failed with -1021 (local clock ahead) between 02:10 and 05:40 UTC on "
        "2024-03-18, getting worse"
    )
    assert f.details == {
        "direction": "ahead",
        "by_reason": {"clock_ahead": 7},
        "rate_per_hour": 2.0,
        "span_hours": 3.5,
        "trend": "worsening",
        "first_half": 2,
        "second_half": 5,
        "offsets": None,
    }
    assert f.codes == (-1021,)
    assert [e.line for e in f.evidence] == [1, 2, 3]
    assert "options={'adjustForTimeDifference': True}" in f.fix
    assert "load_time_difference()" in f.fix
    assert "raising recvWindow cannot help" in f.fix
    assert "chronyc makestep" in f.fix and "timedatectl set-ntp true" in f.fix
    assert "ntpdate" in f.fix and "transitional" in f.fix
    assert "freqtrade" not in f.fix


def test_clock_behind_freqtrade_with_offsets_is_steady() -> None:
    times = day("02:30:00", "03:00:00", "04:00:00", "04:30:00")
    events = make_events(repeat({**BEHIND, "client": "freqtrade"}, times))
    offsets = make_offsets(
        [
            ("2024-03-18 02:00:00", -1000),
            ("2024-03-18 03:00:00", -1500),
            ("2024-03-18 04:00:00", -2000),
        ]
    )
    (f,) = ClockDrift().detect(events, DetectContext(clients=("freqtrade",), time_offsets=offsets))
    assert f.details["direction"] == "behind"
    assert f.details["trend"] == "steady"
    assert f.details["offsets"] == {
        "samples": 3,
        "first_ms": -1000,
        "last_ms": -2000,
        "max_abs_ms": 2000,
        "drift_ms_per_hour": -500.0,
        "max_abs_ms_at_errors": 2000,
    }
    assert f.title.endswith("(outside recvWindow) between 02:30 and 04:30 UTC on 2024-03-18")
    assert '"exchange": {"ccxt_config": {"options": {"adjustForTimeDifference": true}}}' in f.fix
    assert "regenerate API keys" in f.fix and "does not apply" in f.fix
    assert "only masks it" in f.fix


def test_clock_errors_easing_off() -> None:
    times = day("01:00:00", "01:05:00", "01:10:00", "01:15:00", "03:00:00")
    (f,) = ClockDrift().detect(make_events(repeat(AHEAD, times)), CTX)
    assert f.details["trend"] == "improving"
    assert (f.details["first_half"], f.details["second_half"]) == (4, 1)
    assert f.title.endswith(", easing off")


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("python-binance", "client.timestamp_offset = client.get_server_time()['serverTime']"),
        ("python-binance", "REQUEST_RECVWINDOW"),
        ("python-binance", "AsyncClient.create does it once"),
        ("node-binance-api", "useServerTime: true"),
        ("hummingbot", "OS clock is badly off"),
        ("binance-connector", "no clock-offset option"),
    ],
)
def test_clock_fix_is_specific_to_the_client(client: str, expected: str) -> None:
    (f,) = ClockDrift().detect(make_events([{**AHEAD, "client": client}]), CTX)
    assert expected in f.fix
    assert "adjustForTimeDifference" not in f.fix


def test_clock_fix_falls_back_to_the_clients_of_the_log() -> None:
    (f,) = ClockDrift().detect(make_events([AHEAD]), DetectContext(clients=("python-binance",)))
    assert "timestamp_offset" in f.fix


def test_clock_mixed_unknown_and_untimed() -> None:
    (mixed,) = ClockDrift().detect(make_events([AHEAD, BEHIND]), CTX)
    assert mixed.details["direction"] == "mixed"
    skew = {"reason": "clock_skew", "code": -1021}
    (f,) = ClockDrift().detect(make_events([skew]), CTX)
    assert f.title == "1 request failed with -1021"
    assert f.details["direction"] == "unknown"
    assert f.details["rate_per_hour"] is None and f.details["trend"] == "steady"
    assert (f.first_seen, f.last_seen) == (None, None)


# ---------------------------------------------------------------------------- rate_limit


def test_rate_limit_burst_without_ban() -> None:
    rows = [
        {**LIMITED, "ts": "2024-03-18 06:00:00", "retry_after": 30, "client": "python-binance"},
        {**LIMITED, "ts": "2024-03-18 06:00:10", "used_weight": 1250},
        {**LIMITED, "ts": "2024-03-18 06:00:20", "retry_after": 60, "used_weight": 1300},
        {**LIMITED, "ts": "2024-03-18 06:00:30"},
        {**LIMITED, "ts": "2024-03-18 06:03:00"},
    ]
    (f,) = RateLimit().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count) == ("rate_limit", Severity.WARNING, 5)
    assert f.title == (
        "5 requests rate-limited between 06:00 and 06:03 UTC on 2024-03-18, peak 4 in the "
        "minute of 06:00 UTC"
    )
    assert f.details == {
        "by_reason": {"rate_limit": 5},
        "active_minutes": 2,
        "peak_minute": "2024-03-18T06:00:00Z",
        "peak_per_minute": 4,
        "max_retry_after_s": 60,
        "max_used_weight": 1300,
        "followed_by_ban": False,
        "ban_at": None,
    }
    assert "ThreadedWebsocketManager" in f.fix and "Retry-After" in f.fix
    assert "per IP" in f.fix and "exchangeInfo" in f.fix


def test_rate_limit_followed_by_ban_is_an_error() -> None:
    rows = repeat(LIMITED, day("06:00:00", "06:01:00")) + [{**BANNED, "ts": "2024-03-18 06:10:30"}]
    (f,) = RateLimit().detect(make_events(rows), CTX)
    assert f.severity == Severity.ERROR
    assert f.details["followed_by_ban"] is True
    assert f.details["ban_at"] == "2024-03-18T06:10:30Z"
    assert f.title.endswith(", followed by an IP ban")


def test_ban_long_after_the_rate_limits_did_not_follow_them() -> None:
    rows = repeat(LIMITED, day("06:00:00")) + [{**BANNED, "ts": "2024-03-18 06:30:00"}]
    (f,) = RateLimit().detect(make_events(rows), CTX)
    assert (f.severity, f.details["followed_by_ban"]) == (Severity.WARNING, False)


def test_order_rate_limit_with_freqtrade() -> None:
    rows = [{"reason": "order_rate_limit", "code": -1015, "client": "freqtrade"}]
    (f,) = RateLimit().detect(make_events(rows), CTX)
    assert f.details["by_reason"] == {"order_rate_limit": 1}
    assert "GET /api/v3/rateLimit/order" in f.fix
    assert "do not lower exchange.ccxt_config.rateLimit" in f.fix
    assert "process_throttle_secs" in f.fix
    assert f.details["peak_minute"] is None and f.title == "1 request rate-limited"


def test_rate_limit_ccxt_fix() -> None:
    (f,) = RateLimit().detect(make_events([{**LIMITED, "client": "ccxt"}]), CTX)
    assert "enableRateLimit" in f.fix and "parallel loops" in f.fix


# ---------------------------------------------------------------------------- ip_ban


def test_ip_ban_windows_merge_and_count_requests_during_ban() -> None:
    rows = [
        *repeat(LIMITED, day("05:50:00", "05:55:00", "06:01:00")),
        {**BANNED, "ts": "2024-03-18 06:02:00", "ban_until": epoch_ms("2024-03-18 06:07:00")},
        {**BANNED, "ts": "2024-03-18 06:03:00", "ban_until": epoch_ms("2024-03-18 06:30:00")},
        {**BANNED, "ts": "2024-03-18 06:20:00", "ban_until": epoch_ms("2024-03-18 06:25:00")},
        {**BANNED, "ts": "2024-03-18 09:00:00", "retry_after": 120, "code": None},
        {**BANNED, "ts": None, "ban_until": epoch_ms("2024-03-18 12:00:00")},
    ]
    (f,) = IpBan().detect(make_events(rows), CTX)
    assert (f.kind, f.severity, f.count) == ("ip_ban", Severity.CRITICAL, 5)
    assert (f.first_seen, f.last_seen) == (at("2024-03-18 06:02:00"), at("2024-03-18 09:00:00"))
    assert f.codes == (-1003, 418)
    assert f.title == (
        "IP banned 2 times for 30m in total between 06:02 and 09:00 UTC on 2024-03-18; "
        "the last ban ends at 09:02 UTC; 2 requests refused during a ban, after 2 rate-limit "
        "warnings in the 10 minutes before"
    )
    assert f.details == {
        "bans": 2,
        "total_banned_s": 1800,
        "requests_during_ban": 2,
        "ignored_backoff": True,
        "preceding_429s": 2,
        "max_retry_after_s": 120,
        "untimed_events": 1,
        "windows": [
            {
                "start": "2024-03-18T06:02:00Z",
                "end": "2024-03-18T06:30:00Z",
                "duration_s": 1680,
                "events": 3,
                "requests_during_ban": 2,
                "extended": True,
                "preceding_429s": 2,
                "max_retry_after_s": None,
            },
            {
                "start": "2024-03-18T09:00:00Z",
                "end": "2024-03-18T09:02:00Z",
                "duration_s": 120,
                "events": 1,
                "requests_during_ban": 0,
                "extended": False,
                "preceding_429s": 0,
                "max_retry_after_s": 120,
            },
        ],
    }
    assert "2 minutes up to 3 days" in f.fix and "not honoured" in f.fix


def test_ip_ban_without_end_assumes_the_shortest_ban_for_merging_only() -> None:
    rows = repeat(BANNED, day("06:00:00", "06:01:30", "06:10:00"))
    (f,) = IpBan().detect(make_events(rows), DetectContext(clients=("python-binance",)))
    windows = f.details["windows"]
    assert [(w["events"], w["end"], w["duration_s"]) for w in windows] == [  # type: ignore[attr-defined]
        (2, None, None),
        (1, None, None),
    ]
    assert f.details["total_banned_s"] == 0 and f.details["ignored_backoff"] is False
    assert f.title == (
        "IP banned 2 times between 06:00 and 06:10 UTC on 2024-03-18; 1 request refused during "
        "a ban"
    )
    assert "ThreadedWebsocketManager" in f.fix


# ---------------------------------------------------------------------------- outage


def test_outage_across_symbols_is_an_exchange_incident() -> None:
    busy = {"reason": "execution_unknown", "code": -1007, "category": "general"}
    rows = [
        {**busy, "ts": "2024-03-18 07:00:00", "symbol": "BTCUSD", "endpoint": "/api/v3/order"},
        {**busy, "ts": "2024-03-18 07:04:00", "symbol": "ETHUSD", "endpoint": "/api/v3/order"},
        {**busy, "ts": "2024-03-18 07:09:00", "symbol": "ETHUSD", "endpoint": "/api/v3/account"},
        {"http_status": 503, "category": "http", "ts": "2024-03-18 07:20:00"},
        {"reason": "disconnected", "code": -1001, "ts": "2024-03-18 07:21:00"},
    ]
    incident, isolated = Outage().detect(make_events(rows), CTX)
    assert (incident.severity, incident.count) == (Severity.WARNING, 3)
    assert incident.title == (
        "Exchange-side incident: 3 server errors in 1 burst between 07:00 and 07:09 UTC on "
        "2024-03-18, not your bug"
    )
    assert incident.details == {
        "by_reason": {"execution_unknown": 3},
        "endpoints": {"/api/v3/order": 2, "/api/v3/account": 1},
        "windows": [
            {
                "start": "2024-03-18T07:00:00Z",
                "end": "2024-03-18T07:09:00Z",
                "count": 3,
                "symbols": ["BTCUSD", "ETHUSD"],
                "endpoints": ["/api/v3/account", "/api/v3/order"],
            }
        ],
    }
    assert incident.symbols == ("BTCUSD", "ETHUSD")
    assert "execution status UNKNOWN" in incident.fix and "status page" in incident.fix
    assert (isolated.severity, isolated.count, isolated.codes) == (Severity.INFO, 2, (-1001, 503))
    assert (
        isolated.title == "2 isolated server-side errors between 07:20 and 07:21 UTC on 2024-03-18"
    )
    assert "execution status UNKNOWN" in isolated.fix


def test_outage_five_events_on_one_endpoint_and_gaps_split_clusters() -> None:
    busy = {"reason": "server_busy", "code": -1008, "endpoint": "/api/v3/ticker/price"}
    first = repeat(busy, day("08:00:00", "08:05:00", "08:10:00", "08:15:00", "08:20:00"))
    second = repeat(busy, day("09:00:00", "09:06:00"))  # six minutes apart: two lone events
    (incident, isolated) = Outage().detect(make_events(first + second), CTX)
    assert incident.count == 5 and len(incident.details["windows"]) == 1  # type: ignore[arg-type]
    assert "execution status UNKNOWN" not in incident.fix
    assert isolated.count == 2


def test_retired_service_says_retrying_will_not_help() -> None:
    (f,) = Outage().detect(make_events([{"reason": "service_retired", "code": -1016}]), CTX)
    assert f.severity == Severity.INFO and "retrying will not help" in f.fix


# ---------------------------------------------------------------------------- error_spike


def test_error_spike_against_the_median_minute() -> None:
    quiet = [{"reason": "network_timeout", "ts": f"2024-03-18 10:{m:02d}:00"} for m in range(10)]
    burst = [{"reason": "execution_unknown", "ts": f"2024-03-18 11:00:{s:02d}"} for s in range(12)]
    burst += [{"reason": "network_timeout", "ts": "2024-03-18 11:00:59"}]
    (f,) = ErrorSpike().detect(make_events(quiet + burst), CTX)
    assert (f.kind, f.severity, f.count) == ("error_spike", Severity.WARNING, 13)
    assert (f.first_seen, f.last_seen) == (at("2024-03-18 11:00:00"), at("2024-03-18 11:00:59"))
    assert f.title == (
        "Error spike: 13 errors in the minute of 11:00 UTC on 2024-03-18 (mostly execution_unknown) "
        "against a usual 1 per minute"
    )
    assert f.details == {
        "baseline_median_per_minute": 1.0,
        "baseline_mad": 0.0,
        "threshold": 10.0,
        "active_minutes": 11,
        "spikes": [
            {"minute": "2024-03-18T11:00:00Z", "count": 13, "top_reason": "execution_unknown"}
        ],
    }
    assert "execution_unknown and network_timeout" in f.fix


def test_a_burst_of_rate_limits_or_bans_is_no_spike_of_its_own() -> None:
    quiet = [{"reason": "network_timeout", "ts": f"2024-03-18 10:{m:02d}:00"} for m in range(10)]
    burst = [{"reason": "rate_limit", "ts": f"2024-03-18 11:00:{s:02d}"} for s in range(12)]
    burst += [{"reason": "ip_ban", "ts": f"2024-03-18 11:01:{s:02d}"} for s in range(12)]
    assert ErrorSpike().detect(make_events(quiet + burst), CTX) == []


def test_no_spike_below_the_absolute_minimum_or_in_a_flat_log() -> None:
    quiet = [{"ts": f"2024-03-18 10:{m:02d}:00"} for m in range(10)]
    small = [{"ts": f"2024-03-18 11:00:{s:02d}"} for s in range(9)]
    assert ErrorSpike().detect(make_events(quiet + small), CTX) == []
    flat = [{"ts": f"2024-03-18 10:{m:02d}:{s:02d}"} for m in range(5) for s in range(20)]
    assert ErrorSpike().detect(make_events(flat), CTX) == []


def test_several_spikes_name_the_worst() -> None:
    quiet = [{"ts": f"2024-03-18 10:{m:02d}:00", "reason": "x"} for m in range(10)]
    one = [{"ts": f"2024-03-18 11:00:{s:02d}", "reason": "a"} for s in range(12)]
    two = [{"ts": f"2024-03-18 12:00:{s:02d}", "reason": "b"} for s in range(20)]
    (f,) = ErrorSpike().detect(make_events(quiet + one + two), CTX)
    assert f.title.startswith("2 error spikes, the worst 20 errors in the minute of 12:00 UTC")
    assert [s["top_reason"] for s in f.details["spikes"]] == ["a", "b"]  # type: ignore[attr-defined]


def test_single_ban_title_and_python_binance_advice() -> None:
    row = {**BANNED, "ts": "2024-03-18 06:02:00", "ban_until": epoch_ms("2024-03-18 06:07:00")}
    (f,) = IpBan().detect(make_events([{**row, "client": "python-binance"}]), CTX)
    assert f.title == "IP banned for 5m at 06:02 UTC on 2024-03-18; the last ban ends at 06:07 UTC"
    assert f.details["total_banned_s"] == 300 and f.details["requests_during_ban"] == 0
    assert "not honoured" not in f.fix and "BinanceSocketManager" in f.fix
