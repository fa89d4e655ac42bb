"""Detector framework: the Finding model, the registry, ordering and determinism."""

from __future__ import annotations

import json
import pkgutil
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_detectors_helpers import at, make_events, mixed_log

import analyzer.detectors as detectors
from analyzer.detectors import REGISTRY, DetectContext, Evidence, Finding, run_detectors
from analyzer.detectors.base import duration_text, iso, listing, when
from analyzer.schema import EVENT_SCHEMA, Severity, empty_events


def finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "kind": "demo",
        "severity": Severity.ERROR,
        "title": "t",
        "count": 2,
        "first_seen": at("2024-03-18 02:10:00"),
        "last_seen": at("2024-03-18 05:40:00.250"),
        "symbols": ("SOLUSD", "BTCUSD", "SOLUSD"),
        "codes": (-1013, -2010),
        "evidence": (Evidence("bot.log", 7, "boom"),),
        "fix": "do it",
        "details": {"b": 1, "a": [1, 2]},
        "impact": 2.0,
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- the model


def test_to_dict_has_exactly_the_documented_shape() -> None:
    assert finding().to_dict() == {
        "kind": "demo",
        "severity": "error",
        "title": "t",
        "count": 2,
        "first_seen": "2024-03-18T02:10:00Z",
        "last_seen": "2024-03-18T05:40:00.250Z",
        "symbols": ["BTCUSD", "SOLUSD"],
        "codes": [-2010, -1013],
        "evidence": [{"path": "bot.log", "line": 7, "text": "boom"}],
        "fix": "do it",
        "details": {"b": 1, "a": [1, 2]},
        "source": None,
    }
    assert finding(source="bots/a").to_dict()["source"] == "bots/a"
    assert list(finding().to_dict()) == [
        "kind",
        "severity",
        "title",
        "count",
        "first_seen",
        "last_seen",
        "symbols",
        "codes",
        "evidence",
        "fix",
        "details",
        "source",
    ]


def test_to_dict_of_an_untimed_finding_has_null_times() -> None:
    data = finding(first_seen=None, last_seen=None).to_dict()
    assert (data["first_seen"], data["last_seen"]) == (None, None)


def test_finding_refuses_more_than_three_evidence_events() -> None:
    with pytest.raises(ValueError, match="at most 3"):
        finding(evidence=tuple(Evidence("bot.log", n, "x") for n in range(4)))


def test_finding_is_frozen() -> None:
    with pytest.raises(AttributeError):
        finding().count = 3  # type: ignore[misc]


def test_iso_is_utc_with_z() -> None:
    assert iso(datetime(2024, 3, 18, 2, 10, tzinfo=UTC)) == "2024-03-18T02:10:00Z"
    assert iso(datetime(2024, 3, 18, 2, 10, 0, 5000, tzinfo=UTC)) == "2024-03-18T02:10:00.005Z"
    assert iso(None) is None


def test_when_phrases() -> None:
    first, same_minute = at("2024-03-18 02:10:00"), at("2024-03-18 02:10:59")
    assert when(first, same_minute) == " at 02:10 UTC on 2024-03-18"
    assert when(first, at("2024-03-18 05:40:00")) == " between 02:10 and 05:40 UTC on 2024-03-18"
    assert when(first, at("2024-03-19 01:00:00")) == (
        " between 2024-03-18 02:10 and 2024-03-19 01:00 UTC"
    )
    assert when(None, None) == ""


def test_duration_and_listing_texts() -> None:
    assert [duration_text(s) for s in (45, 720, 7500, 273600)] == ["45s", "12m", "2h 5m", "3d 4h"]
    assert listing(["A"]) == "A"
    assert listing(["A", "B", "C"]) == "A, B and C"
    assert listing([str(n) for n in range(7)]) == "0, 1, 2, 3, 4 and 2 more"


def test_context_counts_clients_most_frequent_first() -> None:
    events = make_events(
        [{"client": "ccxt"}, {"client": "freqtrade"}, {"client": "freqtrade"}, {"client": None}]
    )
    ctx = DetectContext.from_events(events)
    assert ctx.clients == ("freqtrade", "ccxt")
    assert ctx.time_offsets.is_empty()
    assert DetectContext().clients == ()


# ---------------------------------------------------------------------------- the registry


def test_every_detector_module_is_registered_once() -> None:
    modules = {
        info.name
        for info in pkgutil.iter_modules(detectors.__path__)
        if info.name not in ("base", "__init__", "advice")
    }
    registered = [type(d).__module__.rsplit(".", 1)[1] for d in REGISTRY]
    assert sorted(registered) == sorted(modules)
    assert len(set(registered)) == len(registered)


@pytest.mark.parametrize("detector", REGISTRY, ids=lambda d: d.name)
def test_every_detector_has_a_name_matching_its_module_and_a_story(detector: object) -> None:
    assert detector.name == type(detector).__module__.rsplit(".", 1)[1]  # type: ignore[attr-defined]
    story = detector.story  # type: ignore[attr-defined]
    assert story.strip() and story.endswith(".") and story.count(". ") == 0


@pytest.mark.parametrize("detector", REGISTRY, ids=lambda d: d.name)
def test_empty_frame_gives_no_findings(detector: object) -> None:
    assert detector.detect(empty_events(), DetectContext()) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("detector", REGISTRY, ids=lambda d: d.name)
def test_unrelated_events_give_no_findings(detector: object) -> None:
    # an error line that names Binance but no code, status or known message: not an API error
    quiet = make_events(
        [
            {
                "reason": None,
                "category": "general",
                "msg": "bot restarted",
                "ts": "2024-03-18 01:00:00",
                "kind": "unrecognised",
            }
        ]
    )
    assert detector.detect(quiet, DetectContext()) == []  # type: ignore[attr-defined]


def test_an_api_error_no_detector_knows_is_unexplained_never_dropped() -> None:
    events = make_events(
        [
            {"code": -1020, "category": "general", "reason": None, "ts": "2024-03-18 01:00:00"},
            {"code": -1020, "category": "general", "reason": None, "ts": "2024-03-18 01:05:00"},
        ]
    )
    (finding,) = run_detectors(events)
    assert (finding.kind, finding.count, finding.codes) == ("unexplained", 2, (-1020,))
    assert finding.title.startswith("2 errors that no finding explains (-1020)")


def test_run_detectors_on_empty_frame() -> None:
    assert run_detectors(empty_events()) == []


def test_run_detectors_refuses_a_frame_without_the_schema() -> None:
    with pytest.raises(ValueError, match="lacks columns: .*reason"):
        run_detectors(empty_events().drop("reason"))


# ---------------------------------------------------------------------------- run_detectors


def test_run_detectors_orders_by_severity_then_impact_then_kind() -> None:
    findings = run_detectors(make_events(mixed_log()))
    keys = [(f.severity.rank, -f.impact, f.kind, f.title) for f in findings]
    assert keys == sorted(keys)
    assert [f.kind for f in findings] == [
        "ip_ban",
        "auth",
        "geo_block",
        "clock_drift",
        "rate_limit",
        "filter_violation",
        "filter_violation",
        "bad_request",
        "error_spike",
        "transport",
        "outage",
        "insufficient_balance",
        "unknown_code",
        "order_state",
        "outage",
    ]


def test_every_finding_is_json_serialisable_with_sorted_lists() -> None:
    for f in run_detectors(make_events(mixed_log())):
        data = f.to_dict()
        json.dumps(data)
        assert data["symbols"] == sorted(data["symbols"])  # type: ignore[type-var]
        assert data["codes"] == sorted(data["codes"])  # type: ignore[type-var]
        assert 1 <= len(f.evidence) <= 3
        assert f.fix and f.title and f.count > 0


def test_evidence_is_the_earliest_events_untimed_last() -> None:
    rows = [
        {"reason": "geo_block", "ts": None, "raw": "untimed"},
        {"reason": "geo_block", "ts": "2024-03-18 02:00:00", "raw": "second"},
        {"reason": "geo_block", "ts": "2024-03-18 01:00:00", "raw": "first"},
    ]
    (found,) = run_detectors(make_events(rows))
    assert [e.text for e in found.evidence] == ["first", "second", "untimed"]
    assert [e.line for e in found.evidence] == [3, 2, 1]


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_shuffled_rows_give_identical_findings(rnd: object) -> None:
    events = make_events(mixed_log())
    expected = [f.to_dict() for f in run_detectors(events)]
    order = list(range(events.height))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = events[order]
    assert [f.to_dict() for f in run_detectors(shuffled)] == expected
    assert json.dumps(expected) == json.dumps([f.to_dict() for f in run_detectors(shuffled)])


def test_findings_keep_the_event_schema_untouched() -> None:
    events = make_events(mixed_log())
    before = events.clone()
    run_detectors(events)
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    assert events.equals(before)


# ---------------------------------------------------------------------------- advice and imports


def test_advice_is_data_checked_on_load() -> None:
    from analyzer.detectors.advice import load_advice, parse_advice
    from analyzer.errors import ReferenceDataError

    assert "clock_sync" in load_advice()
    with pytest.raises(ReferenceDataError, match="'nobody' is not a client"):
        parse_advice('[clock_sync]\nnobody = "Sync the clock."\n')
    with pytest.raises(ReferenceDataError, match="must be a sentence"):
        parse_advice('[clock_sync]\nccxt = ""\n')


def test_every_advice_topic_is_asked_for_and_every_ask_exists() -> None:
    import re
    from pathlib import Path

    from analyzer.detectors.advice import load_advice

    source = "".join(
        p.read_text(encoding="utf-8")
        for p in (Path(__file__).resolve().parent.parent / "analyzer" / "detectors").glob("*.py")
    )
    asked = set(re.findall(r'advice_lines\("(\w+)"', source)) | set(
        re.findall(r':\s*"(\w+_rounding|min_notional)"', source)
    )
    assert asked == set(load_advice())


def test_no_detector_imports_another() -> None:
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "analyzer" / "detectors"
    shared = {"analyzer.detectors.base", "analyzer.detectors.advice"}
    for path in folder.glob("*.py"):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "analyzer.detectors"
            ):
                assert node.module in shared, (path.name, node.module)


def test_client_advice_is_only_for_the_clients_that_wrote_the_events() -> None:
    rows = [
        {
            "reason": "clock_behind",
            "code": -1021,
            "category": "general",
            "client": "ccxt",
            "ts": f"2024-03-18 0{h}:00:00",
        }
        for h in range(3)
    ]
    ctx = DetectContext(clients=("freqtrade", "ccxt"))
    (finding,) = [f for f in run_detectors(make_events(rows), ctx) if f.kind == "clock_drift"]
    assert "ccxt: " in finding.fix and "freqtrade: " not in finding.fix
