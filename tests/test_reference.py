"""Tests for analyzer.reference (data, loader, classify, lookup) and render.codes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from analyzer.errors import ReferenceDataError
from analyzer.reference import (
    REASONS,
    Entry,
    classify,
    entries,
    known_message_regex,
    lookup,
    parse_reference,
)
from analyzer.render.codes import render_codes
from analyzer.schema import CLASSIFIED_SCHEMA, EVENT_SCHEMA, EXTRACTED_SCHEMA, empty_events

REPO = Path(__file__).parents[1]
TABLE_MD = Path(__file__).parents[2] / "shared/reference/binance_us_error_codes.md"
DATA_FILE = REPO / "analyzer/reference/error_codes.toml"


# --- helpers --------------------------------------------------------------------------------


def events(rows: list[tuple[int | None, int | None, str | None]]) -> pl.DataFrame:
    """An EXTRACTED_SCHEMA frame from (code, http_status, msg); other columns filled in."""
    n = len(rows)
    data: dict[str, list[Any]] = {name: [None] * n for name in EXTRACTED_SCHEMA}
    data["code"] = [r[0] for r in rows]
    data["http_status"] = [r[1] for r in rows]
    data["msg"] = [r[2] for r in rows]
    data["path"] = ["bot.log"] * n
    data["line"] = list(range(1, n + 1))
    data["raw"] = [f"raw {i}" for i in range(n)]
    return pl.DataFrame(data, schema=EXTRACTED_SCHEMA)


def table_rows() -> list[tuple[str, str, str | None]]:
    """(code or status, message, solution) for every row of the reference table's tables."""
    if not TABLE_MD.exists():
        pytest.skip(f"reference table not found at {TABLE_MD} (clone ../shared beside the repo)")
    rows = []
    for line in TABLE_MD.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(r"-?\d+", cells[0]):
            rows.append((cells[0], cells[1], cells[2] if len(cells) > 2 else None))
    return rows


def entry_for(key: str) -> Entry:
    value = int(key)
    kind = "code" if value < 0 else "http"
    found = [e for e in entries() if e.kind == kind and (e.code if value < 0 else e.http) == value]
    assert len(found) == 1, key
    return found[0]


# --- the reference table --------------------------------------------------------------------


def test_reference_table_parsed() -> None:
    rows = table_rows()
    codes = [r for r in rows if r[0].startswith("-")]
    assert len(codes) == 65  # 14 general + 23 request + 14 order + 12 filter + 2 OCO
    assert {r[0] for r in rows if not r[0].startswith("-")} == {"418", "429"}


def test_every_table_row_is_in_the_data() -> None:
    for key, message, solution in table_rows():
        entry = entry_for(key)
        assert entry.table_message and message in entry.table_message, key
        if solution is not None:
            assert entry.table_fix and solution in entry.table_fix, key
        assert entry.source.startswith("reference table"), key


def test_every_table_row_classifies_as_known() -> None:
    rows = table_rows()
    frame = events(
        [(int(k), None, m) if k.startswith("-") else (None, int(k), None) for k, m, _ in rows]
    )
    out = classify(frame)
    unknown = out.filter(~pl.col("known"))
    assert unknown.height == 0, unknown.select("code", "http_status", "msg")
    assert out["fix"].null_count() == 0


def test_table_corrections() -> None:
    """The places where domain.md shows the reference table is wrong."""
    fix = {key: entry_for(key).fix for key in ("-1006", "-1007", "-1022", "-2015", "-2016")}
    assert "query the order" in fix["-1006"].lower() and "query the order" in fix["-1007"].lower()
    assert "-1021" in fix["-1022"]
    assert "ip whitelist" in fix["-2015"].lower()
    assert "ticker" in fix["-2016"]
    assert "startTime" in entry_for("-1127").fix
    assert entry_for("-1013").name == "INVALID_MESSAGE"
    assert "msg" in entry_for("-1013").fix
    ban = entry_for("418").fix
    assert "2 minutes" in ban and "3 days" in ban and "Retry-After" in ban
    for status in ("500", "502", "503", "504"):
        assert entry_for(status).reason == "execution_unknown"
        assert "query the order" in entry_for(status).fix
    for code in range(-9011, -8999):
        entry = entry_for(str(code))
        assert not entry.spot and entry.see == entry.reason and entry.reason.startswith("filter:")
    for code in ("-2018", "-2019", "-2020", "-2024", "-2025", "-1136"):
        assert not entry_for(code).spot, code
    rules = {e.reason: e for e in entries() if e.kind == "message"}
    assert "weighted average price" in rules["filter:PERCENT_PRICE"].fix
    assert "no fixed $10" in rules["filter:MIN_NOTIONAL"].fix
    assert "no fixed minimum" in rules["filter:NOTIONAL"].fix
    assert "stepSize" in rules["filter:LOT_SIZE"].fix
    assert "tickSize" in rules["filter:PRICE_FILTER"].fix


def test_data_counts_and_extra_codes() -> None:
    kinds = [e.kind for e in entries()]
    assert (kinds.count("code"), kinds.count("http"), kinds.count("message")) == (72, 12, 101)
    # 51 rules are written in the data file; 50 more come from the code rows' own messages
    data = tomllib.loads((REPO / "analyzer/reference/error_codes.toml").read_text("utf-8"))
    written = len(data["message"])
    assert written == 51
    by_code = {e.code: e for e in entries() if e.kind == "code"}
    generated = [e for e in entries() if e.kind == "message"][written:]
    assert len(generated) == 50
    for rule in generated:
        (code,) = rule.codes
        assert rule.message[0] in by_code[code].message and rule.implied_code == code
    for code in (-1004, -1008, -1099, -1108, -1122, -1134, -1135, -1145, -2008):
        assert entry_for(str(code)).source == "official docs"
    statuses = {e.http for e in entries() if e.kind == "http"}
    assert statuses == {400, 401, 403, 404, 409, 418, 429, 451, 500, 502, 503, 504}


def test_reasons_match_contracts() -> None:
    text = (REPO / "docs/CONTRACTS.md").read_text("utf-8")
    slugs = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.M))
    assert slugs == REASONS
    produced = {e.reason for e in entries()}
    assert slugs - produced == {"unknown_code"}  # the range fallback of classify


def test_shipped_file_parses_the_same() -> None:
    assert parse_reference(DATA_FILE.read_text("utf-8")) == tuple(entries())


def test_entries_order() -> None:
    every = entries()
    codes = [e.code for e in every if e.kind == "code"]
    assert codes == sorted(codes, key=abs)
    statuses = [e.http for e in every if e.kind == "http"]
    assert statuses == sorted(statuses)
    kinds = [e.kind for e in every]
    assert kinds == sorted(kinds, key=["code", "http", "message"].index)


# --- classify -------------------------------------------------------------------------------

BAN = "Way too much request weight used; IP banned until 1659146400000. Please use WebSocket Streams for live updates to avoid bans."
OLD_BAN = "Way too many requests; IP banned until 1532719944108. Please use the websocket for live updates to avoid bans."
WEIGHT = "Too much request weight used; current limit is 1200 request weight per 1 MINUTE. Please use the websocket for live updates to avoid polling the API."
GEO = "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."
BALANCE = "Account has insufficient balance for requested action."

# (code, http_status, msg) -> (code after, category, reason, severity, known)
# fmt: off
CASES: list[tuple[tuple[int | None, int | None, str | None], tuple[Any, ...]]] = [
    ((-1013, 400, "Filter failure: LOT_SIZE"), (-1013, "filter", "filter:LOT_SIZE", "error", True)),
    ((-1013, None, "Filter failure: MIN_NOTIONAL"), (-1013, "filter", "filter:MIN_NOTIONAL", "error", True)),
    ((-1013, None, "Filter failure: NOTIONAL"), (-1013, "filter", "filter:NOTIONAL", "error", True)),
    ((-1013, None, "Filter failure: PERCENT_PRICE_BY_SIDE"), (-1013, "filter", "filter:PERCENT_PRICE_BY_SIDE", "error", True)),
    ((-2010, None, "Filter failure: MAX_POSITION"), (-2010, "filter", "filter:MAX_POSITION", "error", True)),
    # the message alone names no code: filter failures arrive as -1013 or -2010
    ((None, None, "Filter failure: PRICE_FILTER"), (None, "filter", "filter:PRICE_FILTER", "error", True)),
    ((-1013, None, "Filter failure: SOME_NEW_FILTER"), (-1013, "filter", "filter:SOME_NEW_FILTER", "error", True)),
    ((-9002, None, None), (-9002, "filter", "filter:LOT_SIZE", "error", True)),
    ((-2010, 400, BALANCE), (-2010, "order", "insufficient_balance", "error", True)),
    ((None, None, BALANCE), (-2010, "order", "insufficient_balance", "error", True)),
    ((-1021, 400, "Timestamp for this request was 1000ms ahead of the server's time."), (-1021, "general", "clock_ahead", "error", True)),
    ((-1021, None, "Timestamp for this request is outside of the recvWindow."), (-1021, "general", "clock_behind", "error", True)),
    ((-1021, None, "Timestamp rejected"), (-1021, "general", "clock_skew", "error", True)),
    ((-1003, 429, WEIGHT), (-1003, "general", "rate_limit", "warning", True)),
    ((-1003, 418, BAN), (-1003, "general", "ip_ban", "critical", True)),
    ((None, None, OLD_BAN), (-1003, "general", "ip_ban", "critical", True)),
    ((-1003, 418, WEIGHT), (-1003, "general", "ip_ban", "critical", True)),
    ((None, 418, None), (None, "http", "ip_ban", "critical", True)),
    ((None, 429, None), (None, "http", "rate_limit", "warning", True)),
    ((-1015, 429, "Too many new orders; current limit is 50 orders per 10 SECOND."), (-1015, "general", "order_rate_limit", "warning", True)),
    ((None, 503, None), (None, "http", "execution_unknown", "error", True)),
    ((None, 403, "<html>403 Forbidden</html>"), (None, "http", "waf_block", "error", True)),
    ((None, 410, None), (None, "http", "http_error", "error", False)),
    ((-1006, None, "An unexpected response was received from the message bus. Execution status unknown."), (-1006, "general", "execution_unknown", "error", True)),
    ((-1999, None, "Something odd."), (-1999, "general", "unknown_code", "error", False)),
    ((-1150, None, "x"), (-1150, "request", "unknown_code", "error", False)),
    ((-2099, None, None), (-2099, "order", "unknown_code", "error", False)),
    ((-3000, None, None), (-3000, "unknown", "unknown_code", "error", False)),
    ((0, 451, GEO), (0, "http", "geo_block", "critical", True)),
    ((0, None, "Invalid JSON error message from Binance: <html>502 Bad Gateway</html>"), (0, "http", "execution_unknown", "error", True)),
    ((None, None, "RequestTimeout"), (None, "network", "network_timeout", "warning", True)),
    ((None, 504, "ExchangeNotAvailable"), (None, "http", "execution_unknown", "error", True)),
    ((-2011, None, "Unknown order sent."), (-2011, "order", "unknown_order", "warning", True)),
    ((-2013, None, "Order does not exist."), (-2013, "order", "order_not_found", "warning", True)),
    ((-2015, 401, "Invalid API-key, IP, or permissions for action."), (-2015, "order", "auth_key_ip_permissions", "critical", True)),
    ((-1022, None, "Signature for this request is not valid."), (-1022, "general", "bad_signature", "critical", True)),
    ((-2010, None, "Order would immediately match and take."), (-2010, "order", "would_match_take", "info", True)),
    ((-2010, None, "Stop price would trigger immediately."), (-2010, "order", "would_trigger_immediately", "error", True)),
    ((-2010, None, "This action disabled is on this account."), (-2010, "order", "account_trading_disabled", "critical", True)),
    ((-1013, None, "Market is closed."), (-1013, "order", "market_closed", "warning", True)),
    ((-1131, None, "'recvWindow' must be less than 60000."), (-1131, "request", "recv_window_too_large", "error", True)),
    ((-1102, None, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."), (-1102, "request", "param:mandatory_param_empty_or_malformed", "error", True)),
    ((-2026, None, "Order was canceled or expired with no executed qty over 90 days ago and has been archived."), (-2026, "order", "order_archived", "info", True)),
    ((-2022, 400, "Order cancel-replace failed."), (-2022, "order", "cancel_replace_failed", "error", True)),
    ((-2015, None, BALANCE), (-2015, "order", "auth_key_ip_permissions", "critical", True)),
    ((None, None, None), (None, "unknown", None, "error", False)),
]
# fmt: on


def test_classify_realistic_events() -> None:
    out = classify(events([given for given, _ in CASES]))
    expected = pl.DataFrame(
        [want for _, want in CASES],
        schema={
            "code": pl.Int64,
            "category": pl.String,
            "reason": pl.String,
            "severity": pl.String,
            "known": pl.Boolean,
        },
        orient="row",
    )
    assert_frame_equal(out.select(expected.columns), expected)
    assert out["fix"].null_count() == 0


def test_classify_keeps_frame_shape() -> None:
    frame = events([given for given, _ in CASES])
    out = classify(frame)
    assert out.schema == pl.Schema(EVENT_SCHEMA)
    assert_frame_equal(out.select(frame.columns).drop("code"), frame.drop("code"))
    # Extra columns stay in place, row order is kept, and classifying twice changes nothing.
    extra = frame.with_columns(pl.lit("x").alias("note")).reverse()
    once = classify(extra)
    assert once.columns == [*extra.columns, *CLASSIFIED_SCHEMA]
    assert once["raw"].to_list() == extra["raw"].to_list()
    assert_frame_equal(classify(once), once)


def test_classify_empty_frame() -> None:
    out = classify(empty_events(EXTRACTED_SCHEMA))
    assert out.height == 0
    assert out.schema == pl.Schema(EVENT_SCHEMA)


def test_known_message_regex() -> None:
    pattern = known_message_regex()
    re.compile(pattern)
    rules = [e for e in entries() if e.kind == "message" and not e.bare]
    samples = [m for rule in rules for m in rule.message if "<NAME>" not in m]
    hits = pl.Series(samples).str.contains(pattern)
    transport = [m for e in entries() if e.bare for m in e.message]
    assert not pl.Series(transport).str.contains(pattern).any()
    assert hits.all()
    assert not pl.Series(["INFO bot started", "Bought 0.1 BTC"]).str.contains(pattern).any()


def test_every_rule_example_reaches_its_rule() -> None:
    """Each rule's example messages classify to that rule (catches ordering mistakes)."""
    rules = [e for e in entries() if e.kind == "message"]
    rows, want = [], []
    for rule in rules:
        for message in rule.message:
            if "<NAME>" in message:
                continue
            rows.append((rule.default_code, None, message))
            want.append(rule.reason)
    out = classify(events(rows))
    assert out["reason"].to_list() == want


def test_every_code_message_is_known() -> None:
    codes = [e for e in entries() if e.kind == "code"]
    rows = [(e.code, None, m) for e in codes for m in e.message or ("",)]
    out = classify(events(rows))
    assert out["known"].all()
    assert out["code"].to_list() == [r[0] for r in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.none(), st.integers(-(2**62), 2**62), st.sampled_from([0, -1013, -2010, -1021])
            ),
            st.one_of(st.none(), st.integers(-1000, 1000)),
            st.one_of(
                st.none(), st.text(max_size=80), st.sampled_from([BAN, BALANCE, "Filter failure: "])
            ),
        ),
        max_size=12,
    )
)
def test_classify_never_raises(rows: list[tuple[int | None, int | None, str | None]]) -> None:
    out = classify(events(rows))
    assert out.height == len(rows)
    assert out["category"].null_count() == 0 and out["severity"].null_count() == 0
    assert out["fix"].null_count() == 0 and out["known"].null_count() == 0


# --- loader validation ----------------------------------------------------------------------

CODE_ROW = """
[[code]]
code = -1021
name = "INVALID_TIMESTAMP"
message = "Timestamp for this request is outside of the recvWindow."
category = "general"
reason = "clock_skew"
severity = "error"
fix = "Sync the clock."
source = "official docs"
"""
RULE_ROW = """
[[message]]
reason = "clock_behind"
match = 'outside of the recvWindow'
message = "Timestamp for this request is outside of the recvWindow."
codes = [-1021]
default_code = -1021
"""


def test_loader_accepts_minimal_data_and_inherits() -> None:
    code, rule = parse_reference(CODE_ROW + RULE_ROW)
    assert code.kind == "code" and rule.kind == "message"
    assert (rule.category, rule.severity, rule.fix, rule.source) == (
        "general",
        "error",
        "Sync the clock.",
        "official docs",
    )


# fmt: off
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (CODE_ROW + "fixx = 'typo'\n", r"\[\[code\]\] #1 \(code -1021\): unknown key\(s\) 'fixx'"),
        (CODE_ROW.replace('"general"', '"genral"'), r"#1 \(code -1021\): bad category 'genral'"),
        (CODE_ROW.replace('"error"', '"fatal"'), r"bad severity 'fatal'"),
        (CODE_ROW + CODE_ROW, r"\[\[code\]\] #2: duplicate code -1021"),
        (CODE_ROW.replace('fix = "Sync the clock."\n', ""), r"#1 \(code -1021\): missing 'fix'"),
        (CODE_ROW.replace('"clock_skew"', '"clock_wrong"'), r"reason 'clock_wrong' is not a slug"),
        (CODE_ROW.replace('"general"', '"order"'), r"category 'order' does not fit its range"),
        (CODE_ROW + RULE_ROW.replace("'outside of the recvWindow'", "'(unclosed'"), r"\[\[message\]\] #1 \('clock_behind'\): regex '\(unclosed' does not compile"),
        (CODE_ROW + RULE_ROW.replace("'outside of the recvWindow'", "'(?<=x)y'"), r"regex '\(\?<=x\)y' does not compile"),
        (CODE_ROW + RULE_ROW.replace("'outside of the recvWindow'", "'a*'"), r"matches the empty string"),
        (CODE_ROW + RULE_ROW.replace("default_code = -1021\n", ""), r"missing 'category' \(and no default_code row"),
        (CODE_ROW + RULE_ROW.replace('"clock_behind"', '"filter:{name}"'), r"needs a regex group named 'name'"),
        (CODE_ROW + RULE_ROW.replace("codes = [-1021]", "codes = [-1022]"), r"default_code -1021 is not in codes"),
        (CODE_ROW + RULE_ROW + RULE_ROW, r"\[\[message\]\] #2: duplicate match"),
        (CODE_ROW.replace('source = "official docs"', 'source = "reference table"'), r"'table_message' is required"),
        (CODE_ROW.replace("fix = ", 'see = "nothing"\nfix = '), r"'see' names no message rule"),
        (CODE_ROW.replace("code = -1021", "code = -1021\nhttp = 400"), r"needs exactly one of 'code' or 'http'"),
        ("[[code]\ncode = 1", r"not valid TOML"),
        ("[other]\nx = 1", r"unknown top-level key\(s\) 'other'"),
    ],
)
# fmt: on
def test_loader_rejects(text: str, problem: str) -> None:
    with pytest.raises(ReferenceDataError, match=problem):
        parse_reference(text, origin="broken.toml")


def test_loader_names_origin() -> None:
    with pytest.raises(ReferenceDataError, match=r"^broken\.toml: "):
        parse_reference(CODE_ROW + "x = 1\n", origin="broken.toml")


# --- lookup -------------------------------------------------------------------------------


def labels(found: list[Entry]) -> list[str]:
    return [f"{e.label}:{e.reason}" for e in found]


def test_lookup_by_code() -> None:
    want = ["-1021:clock_skew", "msg:clock_ahead", "msg:clock_behind"]
    assert labels(lookup("-1021")) == want
    assert labels(lookup("1021")) == want
    assert labels(lookup(" -1131 ")) == ["-1131:recv_window_too_large", "msg:recv_window_too_large"]
    assert lookup("-1999") == []
    # A code the table invented leads to the message rule that covers the real event.
    assert labels(lookup("-9002")) == ["-9002:filter:LOT_SIZE", "msg:filter:LOT_SIZE"]
    assert labels(lookup("-2018")) == ["-2018:insufficient_balance", "msg:insufficient_balance"]


def test_lookup_by_status_and_fragment() -> None:
    assert labels(lookup("429")) == ["HTTP 429:rate_limit"]
    assert labels(lookup("HTTP 418")) == ["HTTP 418:ip_ban"]
    assert labels(lookup("LOT_SIZE")) == [
        "-9002:filter:LOT_SIZE",
        "-9005:filter:MARKET_LOT_SIZE",
        "msg:filter:LOT_SIZE",
        "msg:filter:MARKET_LOT_SIZE",
    ]
    assert labels(lookup("lot_size")) == labels(lookup("LOT_SIZE"))
    assert "msg:insufficient_balance" in labels(lookup("insufficient balance"))
    assert labels(lookup("teapot")) == ["HTTP 418:ip_ban"]
    assert lookup("") == entries()


def test_lookup_code_includes_message_rules_under_it() -> None:
    found = lookup("-1013")
    assert found[0].code == -1013
    reasons = {e.reason for e in found[1:]}
    assert {"filter:LOT_SIZE", "filter:{name}", "market_closed", "price_qty_zero"} <= reasons


# --- render_codes -------------------------------------------------------------------------

CODE_ENTRY = Entry(
    kind="code",
    code=-1127,
    name="MORE_THAN_XX_HOURS",
    message=("Lookup interval is too big.", "More than %s hours between startTime and endTime."),
    table_message="Listen key interval too long",
    table_fix="Reduce the listen key lifetime.",
    category="request",
    reason="param:more_than_xx_hours",
    severity="error",
    fix="Query shorter startTime..endTime windows.",
    source="reference table, corrected by official docs",
    note="It is about the startTime/endTime range, not listen keys.",
)
RULE_ENTRY = Entry(
    kind="message",
    reason="market_closed",
    match="Market is closed",
    message=("Market is closed.",),
    codes=(-2010,),
    default_code=-2010,
    category="order",
    severity="warning",
    fix="Wait until the symbol trades again.",
    source="official docs",
)
FAKE_FILTER = Entry(
    kind="code",
    code=-9002,
    name="LOT_SIZE",
    message=("Filter failure: LOT_SIZE",),
    category="filter",
    reason="filter:LOT_SIZE",
    severity="error",
    fix="Round the quantity.",
    source="official docs",
    spot=False,
    see="filter:LOT_SIZE",
)


def test_entry_rejects_a_bare_string_message() -> None:
    with pytest.raises(TypeError, match="message must be a tuple"):
        Entry(kind="message", category="order", severity="info", fix="x", source="x", message="x")  # type: ignore[arg-type]


def test_render_table() -> None:
    assert render_codes([CODE_ENTRY, FAKE_FILTER, RULE_ENTRY], detail=False) == (
        "CODE    NAME                CATEGORY  SEVERITY  MEANING\n"
        "-1127   MORE_THAN_XX_HOURS  request   error     Lookup interval is too big.\n"
        "-9002*  LOT_SIZE            filter    error     Filter failure: LOT_SIZE\n"
        "msg     market_closed       order     warning   Market is closed.\n"
        "\n"
        "* not sent by the spot exchange (Binance.US); see the message rule it points to\n"
    )


def test_render_detail() -> None:
    assert render_codes([CODE_ENTRY, RULE_ENTRY], detail=True) == (
        "-1127  MORE_THAN_XX_HOURS\n"
        "  Meaning:    Lookup interval is too big.\n"
        "              More than %s hours between startTime and endTime.\n"
        "  Category:   request\n"
        "  Severity:   error\n"
        "  Reason:     param:more_than_xx_hours\n"
        "  Fix:        Query shorter startTime..endTime windows.\n"
        "  Source:     reference table, corrected by official docs\n"
        "  Reference table says: Listen key interval too long -- Reduce the listen key lifetime.\n"
        "  Why bnlog differs: It is about the startTime/endTime range, not listen keys.\n"
        "\n"
        "msg  market_closed\n"
        "  Meaning:    Market is closed.\n"
        "  Matches:    Market is closed\n"
        "  Codes:      -2010; code assumed when only the message is logged: -2010\n"
        "  Category:   order\n"
        "  Severity:   warning\n"
        "  Reason:     market_closed\n"
        "  Fix:        Wait until the symbol trades again.\n"
        "  Source:     official docs\n"
    )


def test_render_real_data_is_deterministic_and_bounded() -> None:
    text = render_codes(entries(), detail=True)
    assert text == render_codes(entries(), detail=True)
    assert "Reference table says: Invalid signature -- Check API secret." in text
    assert "\x1b[" not in text
    # Prose wraps at 100 columns; only a label plus one unbreakable token (a regex) may not.
    assert all(len(ln) <= 100 or len(ln.split()) <= 2 for ln in text.splitlines())
    table = render_codes(lookup("-2010"), detail=False)
    assert table.splitlines()[1].startswith("-2010  NEW_ORDER_REJECTED")
    assert render_codes([], detail=False) == "No matching error codes.\n"


def test_message_code_is_the_first_matching_rules_code() -> None:
    # Every official message (and a few that match no rule) against the rules one by one, in
    # order: the first rule that matches decides, also when it implies no code.
    from analyzer.reference import message_code
    from analyzer.reference._load import load_entries

    entries = load_entries()
    rules = [e for e in entries if e.kind == "message" and not e.bare]
    texts = sorted({m.replace("%s", "BTCUSDT") for e in entries for m in e.message})
    texts += ["nothing to see here", ""]
    series = pl.Series("msg", texts, pl.String)
    matched = [series.str.contains(rule.match or "") for rule in rules]
    expected: list[int | None] = []
    for row in range(len(texts)):
        first = next((rule for rule, hits in zip(rules, matched, strict=True) if hits[row]), None)
        expected.append(None if first is None else first.implied_code)
    got = pl.select(message_code(pl.lit(series))).to_series().to_list()
    assert got == expected
    assert any(e is not None for e in expected)


def test_a_matching_rule_without_a_code_stops_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    # (No shipped message meets two such rules; these two do.)
    import analyzer.reference as reference
    from analyzer.reference._model import Entry

    def rule(match: str, code: int | None) -> Entry:
        return Entry(
            kind="message",
            category="order",
            severity="error",
            fix="-",
            source="test",
            match=match,
            default_code=code,
            implies_code=code is not None,
        )

    rules = (rule("Filter failure", None), rule("Filter failure: LOT", -1013), rule("later", -2010))
    monkeypatch.setattr(reference, "load_entries", lambda: rules)
    msgs = pl.Series(["Filter failure: LOT_SIZE", "later on", "none", None], dtype=pl.String)
    got = pl.select(reference.message_code(pl.lit(msgs))).to_series().to_list()
    assert got == [None, -2010, None, None]
