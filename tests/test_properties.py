"""Properties of extraction on any input: it never raises, junk between events changes nothing,
file splits and read-chunk sizes change nothing, and every regex runs in linear time.

Hypothesis runs derandomized (the same examples on every run, so CI is deterministic) with a
fixed number of examples per test; the fuzz test replays 10,000 seeded mutations of real logs.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
import re
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import analyze
from analyzer.extract import (
    ExtractOptions,
    extract_events,
    extract_source,
    extract_text,
    patterns,
)
from analyzer.extract.fields import mentions
from analyzer.extract.records import _CONTINUES
from analyzer.extract.shapes import layout_regex, line_ts_pattern, load_shapes
from analyzer.options import Options
from analyzer.reference import known_message_regex
from analyzer.render import Style, renderers
from analyzer.schema import EXTRACTED_SCHEMA
from analyzer.sources import Coverage, Source, to_lines

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
CHECKED = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Tests that run the whole extraction twice or more per example (each pass costs tens of ms).
EXTRACTING = settings(CHECKED, max_examples=40)
SMALL_LINES = ExtractOptions(max_line_bytes=256)  # the CLI's minimum: lets read chunks be tiny

# Records that are one event each, in every shape family; multi-line ones included. Each starts
# with a line that starts a record (a bare "Array" or "{" continues the line above) and each
# line is under 256 bytes. Echo shapes ("retrying in 30 seconds", "Found error. status:") are left out:
# whether an echo is dropped depends on how many lines lie between, which junk changes.
POOL = [
    '2024-03-18 02:10:01,118 - freqtrade.exchange.common - WARNING - binanceus {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}',
    "2024-03-18 02:11:02,000 ERROR bot.market: APIError(code=-2010): Account has insufficient balance for requested action.",
    "2024-03-18 02:12:03,512 - 7 - hummingbot.core.web_assistant.rest_assistant - ERROR - Error executing request GET https://api.binance.us/api/v3/ticker/price. HTTP status is 503. Error: N/A",
    "2024-03-18 02:13:00,000 ERROR pnl: (400, -1121, 'Invalid symbol.', {'Content-Type': 'application/json;charset=UTF-8'}, None)",
    "2024-03-18 02:13:30,000 ERROR grid: MarketClosed: binanceus Market is closed.",
    "2024-03-18 02:14:00,000 ERROR sync: {'code': -1102, 'msg': \"Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.\"}",
    "2024-11-05 16:00:09 WARN legacy-bot: cancel failed code=-2013, msg=Order does not exist.",
    "[05-Nov-2024 16:01:12 UTC] PHP Notice:  binance api error for ETHUSD, response:\n"
    "Array\n(\n    [code] => -1022\n    [msg] => Signature for this request is not valid.\n)",
    "2024-03-18 02:15:00,000 ERROR [main] OrderService - order failed\n"
    "com.binance.api.client.exception.BinanceApiException: ERROR: -1111, Precision is over the maximum defined for this asset.",
    '2024-03-18 02:30:00,000 ERROR response:\n{\n  "code": -1100,\n  "msg": "Illegal characters found in parameter \'symbol\'."\n}',
    "2024-03-18 02:16:00,000 ERROR bot: requests.exceptions.HTTPError: 429 Client Error: Too Many Requests for url: https://api.binance.us/api/v3/order",
    "2024-07-01T09:00:00.000Z error: Error: Filter failure: PRICE_FILTER\n    code: -1013",
    '{"log":"2024-03-18 02:10:05,000 - freqtrade - WARNING - binanceus {\\"code\\":-1015,\\"msg\\":\\"Too many new orders; current limit is 50 orders per 10 SECOND.\\"}\\n","stream":"stderr","time":"2024-03-18T02:10:05.123Z"}',
    "2024-03-18 02:20:00,000 - bot - ERROR - order failed\n"
    "Traceback (most recent call last):\n"
    '  File "/bot/main.py", line 10, in place\n'
    "    client.create_order(**params)\n"
    '  File "/venv/binance/client.py", line 99, in _request\n'
    "    raise BinanceAPIException(response)\n"
    "binance.exceptions.BinanceAPIException: APIError(code=-1003): Too much request weight used; current limit is 1200 request weight per 1 MINUTE.",
    "2024-03-18 02:21:00,000 - bot - ERROR - cancel failed\n"
    "Traceback (most recent call last):\n"
    '  File "/bot/main.py", line 20, in cancel\n'
    "    client.cancel_order(orderId=1)\n"
    "binance.exceptions.BinanceAPIException: APIError(code=-2011): Unknown order sent.\n"
    "\n"
    "During handling of the above exception, another exception occurred:\n"
    "\n"
    "Traceback (most recent call last):\n"
    '  File "/bot/main.py", line 22, in cancel\n'
    "    raise RuntimeError('cancel failed')\n"
    "RuntimeError: cancel failed",
    "2024-03-18 02:22:00,000 ERROR depth: ccxt.base.errors.RequestTimeout: binanceus GET https://api.binance.us/api/v3/depth request timeout (10000 ms)",
    "2024-03-18 02:23:00,000 ERROR sdk: BadRequestError: (-1106, \"Parameter 'timeInForce' sent when not required.\")",
]
# Every record above starts with its own time, and no two can be one request (each has its own
# error, and their times are seconds apart): junk, chunks and file splits cannot fold them
# together or move their times.
# Not events, but lines bots write around them.
QUIET = [
    "2024-03-18 02:14:00,000 - freqtrade.worker - INFO - Bot heartbeat. PID=4242, version='2024.3'",
    "2024-03-18 02:14:01,000 - freqtrade.exchange - INFO - Time offset to Binance US is 23ms.",
    "2024-11-05 16:00:00,431 INFO sync: GET https://api.binance.us/api/v3/account -> 200 OK (143 ms)",
]
HEADER = "2024-03-18 00:00:00,000 - bot - INFO - start"

_COLUMNS = [c for c in EXTRACTED_SCHEMA if c != "path"]


def _fields(events: pl.DataFrame) -> list[tuple]:
    return events.select("code", "msg", "http_status", "ts").rows()


def _is_junk(line: str) -> bool:
    """A line that carries no Binance code or message and starts a record of its own: it fails
    the prefilter (which every line a pattern can use passes) and is no continuation line."""
    text = line[:-1] if line.endswith("\r") else line  # the reader strips one "\r" before "\n"
    if (
        not text
        or text.startswith(('{"log":', "\ufeff"))
        or "Traceback (most recent call last)" in text
    ):
        return False
    probe = pl.Series([text])
    if (
        probe.str.contains(_CONTINUES).item()
        or probe.str.contains(patterns.PREFILTER).item()
        or probe.str.contains(line_ts_pattern()).item()
    ):
        return False
    # nor any code, status or message that a record it is glued to would then hold
    return mentions(pl.DataFrame({"rid": [0], "text": [text]})).height == 0


junk_text = st.text(
    alphabet=st.characters(exclude_characters="\n", exclude_categories=("Cs",)),
    min_size=1,
    max_size=60,
).filter(_is_junk)
junk_bytes = (
    st.binary(min_size=1, max_size=60)
    .map(lambda b: b.replace(b"\n", b""))
    .filter(lambda b: b != b"" and _is_junk(b.decode("utf-8", errors="replace")))
)
records = st.lists(st.sampled_from(POOL + QUIET), max_size=12)


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def test_pool_records_are_one_event_each() -> None:
    for record in POOL:
        assert extract_text(record).height == 1, record
        assert all(len(line.encode()) < 256 for line in record.split("\n"))
        assert not re.match(r"[ \t\])}]|[\[({]$|Array$", record.split("\n")[0]), record
    for line in QUIET + [HEADER]:
        assert extract_text(line).height == 0, line


# --- never raises -----------------------------------------------------------------------------


@CHECKED
@given(st.text(max_size=400))
def test_extract_text_never_raises(text: str) -> None:
    events = extract_text(text)
    assert dict(events.schema) == EXTRACTED_SCHEMA


def _expected_lines(data: bytes) -> int | None:
    """How many lines the reader makes of a file's bytes (None: not simply counted here)."""
    if data.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"(\xb5/\xfd")):
        return None  # read as compressed
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        return None  # UTF-16 or UTF-32: transcoded
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip(b"\x00")  # a NUL hole is passed over
    lone_cr = body.count(b"\r") - body.count(b"\r\n")
    if lone_cr > body.count(b"\n"):  # lines end in a bare CR
        body = body.replace(b"\r", b"\n")
    return body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)


@CHECKED
@given(
    st.lists(
        st.binary(max_size=200) | st.sampled_from([b"\x00", b"\r", b"\xff\xfe", b"\r\n", b" "]),
        max_size=12,
    )
)
def test_the_file_pipeline_never_raises_on_raw_bytes(parts: list[bytes]) -> None:
    data = b"".join(parts)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "raw.log", data)
        report = analyze([str(path)], Options(max_line_bytes=256))
        if any("not a text log" in w for w in report.warnings):  # skipped as binary, and said
            assert (report.totals.files, report.totals.lines) == (0, 0)
            return
        assert report.totals.files == 1
        expected = _expected_lines(data)
        assert expected is None or report.totals.lines == expected
        coverage = Coverage()
        events = extract_source(Source(str(path)), coverage, SMALL_LINES, chunk_bytes=1)
        assert dict(events.schema) == EXTRACTED_SCHEMA


@CHECKED
@given(st.binary(max_size=300))
def test_lines_are_exactly_the_newlines(data: bytes) -> None:
    """The reader's line count is what batching relies on: one line per "\\n", plus an
    unterminated last line."""
    lines = to_lines(
        data if data.endswith(b"\n") or not data else data + b"\n", Coverage(), 1 << 16
    )
    assert lines.len() == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


# --- junk changes nothing ---------------------------------------------------------------------


def _interleave(draw, recs: list[str], junk) -> list:
    out: list = [HEADER]
    for record in recs:
        out.extend(draw(st.lists(junk, max_size=3)))
        out.append(record)
    out.extend(draw(st.lists(junk, max_size=3)))
    return out


@EXTRACTING
@given(st.data(), records)
def test_junk_lines_between_events_change_nothing(data, recs: list[str]) -> None:
    clean = extract_text("\n".join([HEADER, *recs]) + "\n")
    messy = extract_text("\n".join(_interleave(data.draw, recs, junk_text)) + "\n")
    assert _fields(messy) == _fields(clean)


@EXTRACTING
@given(st.data(), records)
def test_binary_junk_lines_in_a_file_change_nothing(data, recs: list[str]) -> None:
    clean = extract_text("\n".join([HEADER, *recs]) + "\n")
    parts = [
        p.encode() if isinstance(p, str) else p for p in _interleave(data.draw, recs, junk_bytes)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "messy.log", b"\n".join(parts) + b"\n")
        messy = extract_source(Source(str(path)), Coverage(), ExtractOptions())
    assert _fields(messy) == _fields(clean)


# --- chunks and file splits change nothing ----------------------------------------------------

# Lines over SMALL_LINES.max_line_bytes: cut (and counted) the same however they are read.
long_lines = st.text(
    alphabet=st.characters(exclude_characters="\n\r", exclude_categories=("Cs",)),
    min_size=200,
    max_size=600,
)
logs = st.lists(st.sampled_from(POOL + QUIET) | junk_text | long_lines, min_size=1, max_size=30)


@EXTRACTING
@given(logs, st.integers(min_value=1, max_value=64) | st.integers(min_value=65, max_value=2048))
def test_tiny_read_chunks_change_nothing(recs: list[str], chunk_bytes: int) -> None:
    """Records (tracebacks, pretty JSON, print_r) straddle chunk boundaries, down to one byte a
    read; the events, their lines, times and evidence are those of the log read in one piece,
    and so are the counts of lines and of lines cut."""
    text = "\n".join([HEADER, *recs]) + "\n"
    whole_coverage = Coverage()
    to_lines(text.encode(), whole_coverage, SMALL_LINES.max_line_bytes)
    whole = extract_text(text, options=SMALL_LINES)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "bot.log", text.encode())
        coverage = Coverage()
        chunked = extract_source(Source(str(path)), coverage, SMALL_LINES, chunk_bytes=chunk_bytes)
    assert chunked.select(_COLUMNS).rows() == whole.select(_COLUMNS).rows()
    assert coverage.lines == text.count("\n")
    assert coverage.skipped_lines == whole_coverage.skipped_lines


@settings(EXTRACTING, max_examples=25)
@given(st.lists(st.sampled_from(POOL + QUIET), min_size=1, max_size=30), st.data())
def test_splitting_a_log_into_files_changes_nothing(recs: list[str], data) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(recs)), max_size=5)))
    parts = [recs[a:b] for a, b in zip([0, *cuts], [*cuts, len(recs)], strict=True)]
    whole = extract_text("\n".join(recs) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        sources = [
            Source(
                str(_write(Path(tmp), f"part{i:02d}.log", "".join(r + "\n" for r in part).encode()))
            )
            for i, part in enumerate(parts)
        ]
        coverage = Coverage()
        together = extract_events(sources, coverage).events
        one_by_one = pl.concat([extract_source(s, Coverage(), ExtractOptions()) for s in sources])
    assert _fields(together) == _fields(whole)
    assert together.rows() == one_by_one.rows()  # batching files changes no path or line
    assert coverage.lines == sum(r.count("\n") + 1 for r in recs)
    assert coverage.files == len(parts)


# --- regexes are linear-time ------------------------------------------------------------------


def _regexes() -> dict[str, str]:
    """Every regex of analyzer/extract/patterns.py (found by walking the module, so a new one is
    covered without editing this test), every shape of shapes.toml, the record rule, and the
    reference message regex."""
    found: dict[str, str] = {}
    for name, value in vars(patterns).items():
        if name.startswith("__"):
            continue
        items = value if isinstance(value, tuple) else (value,)
        for i, item in enumerate(items):
            key = f"{name}[{i}]" if isinstance(value, tuple) else name
            if isinstance(item, str) and not re.fullmatch(r"[\w .]*", item):
                found[key] = item
    shapes = load_shapes()
    for shape in shapes.every():
        pattern = layout_regex(shape) if shape.kind == "timestamp" else shape.pattern
        found[f"shapes.toml:{shape.kind}:{shape.name}:{len(found)}"] = (
            "(?m)" + pattern if shape.kind == "client" else pattern
        )
    found["shapes.line_ts_pattern"] = line_ts_pattern()
    found["records._CONTINUES"] = _CONTINUES
    found["reference.known_message_regex"] = f"(?P<known>(?:{known_message_regex()})[^\\n\"'{{}}]*)"
    return found


REGEXES = _regexes()
PATHOLOGICAL = [
    '{"code":',
    "APIError(code=",
    "Filter failure: ",
    " ",
    '"',
    "\\",
    "'",
    '\\"',
    "{",
    "[code] => ",
    "code=-1",
    "'code': ",
    "Error: x\n ",
    "binance ",
    "HTTP status is ",
    "status: ",
    '{"ts":',
    "Traceback (most recent call last):\n",
    "9",
    "-",
    "\n",
    "a\t",
    "Time offset to ",
]
BUDGET_SECONDS = 2.0  # per regex and input; linear engines take milliseconds for 1 MB


def test_the_regex_list_is_complete() -> None:
    assert len([k for k in REGEXES if k.startswith("shapes.toml:")]) == len(load_shapes().every())
    assert len(REGEXES) > 40


@pytest.mark.parametrize("name", sorted(REGEXES))
def test_regex_is_linear_on_pathological_input(name: str) -> None:
    pattern = REGEXES[name]
    for unit in PATHOLOGICAL:
        big = pl.Series([(unit * ((1 << 20) // len(unit) + 1))[: 1 << 20]])
        started = time.perf_counter()
        big.str.contains(pattern)
        big.str.extract(pattern, 0)
        elapsed = time.perf_counter() - started
        assert elapsed < BUDGET_SECONDS, f"{name} took {elapsed:.2f}s on 1 MB of {unit!r}"


@settings(max_examples=25, derandomize=True, deadline=None)
@given(
    st.text(
        alphabet="{}\"\\: ,=()[]-0123456789codemsgAPIErorFilterfailure\n\t'",
        min_size=1,
        max_size=12,
    )
)
def test_whole_extraction_is_fast_on_any_repeated_prefix(unit: str) -> None:
    line = (unit * ((256 << 10) // len(unit) + 1))[: 256 << 10]
    started = time.perf_counter()
    extract_text(f"{POOL[0]}\n{line}\n{POOL[1]}\n", options=ExtractOptions(max_line_bytes=1 << 20))
    assert time.perf_counter() - started < BUDGET_SECONDS * 2


# --- fuzz -------------------------------------------------------------------------------------

FUZZ_CASES = 10_000
TOKENS = [
    b'{"code":',
    b"-99999999999999999999",
    b"Traceback (most recent call last):\n",
    b"  ",
    b"}\n",
    b'{"log":"',
    b'\\"',
    b"APIError(code=",
    b"HTTP status is ",
    b"banned until ",
    b"9" * 30,
    b"\x00",
    b"\r",
    b"\r\n",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\n\n",
    b"Filter failure: ",
    b"2024-13-45 25:61:61 ",
    b"code=-",
    b", msg=",
    b"(400, ",
    b"[code] => ",
    b"\n    code: -1",
    b"Time offset to x is 1e999ms",
    b"\xef\xbb\xbf",
    b"\x1f\x8b",
    b"\t",
    b"{",
    b"]",
    b"'code': ",
    b"binanceus ",
    b"x-mbx-used-weight-1m: ",
]


def _seed_lines() -> list[bytes]:
    return [
        line
        for path in sorted(SAMPLES.rglob("*"))
        if path.is_file() and path.suffix != ".md"
        for line in path.read_bytes().splitlines()
    ] + [p.encode() for r in POOL for p in r.split("\n")]


def _mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    start = rng.randrange(len(seeds))
    data = bytearray(b"\n".join(seeds[start : start + rng.randint(1, 25)]) + b"\n")
    for _ in range(rng.randint(0, 6)):
        where = rng.randint(0, len(data))
        kind = rng.random()
        if kind < 0.3:
            data[where:where] = rng.choice(TOKENS) * rng.choice([1, 1, 2, 50])
        elif kind < 0.5 and data:
            data[where % len(data)] = rng.randrange(256)
        elif kind < 0.65:
            del data[where : where + rng.randint(1, 40)]
        elif kind < 0.8:
            data[where:where] = data[max(0, where - 200) : where]  # repeat a stretch
        else:
            data[where:where] = rng.randbytes(rng.randint(1, 30))
    out = bytes(data)
    if rng.random() < 0.03:
        packed = rng.choice([gzip.compress, bz2.compress, lzma.compress])(out)
        out = packed[: rng.randint(0, len(packed))] if rng.random() < 0.5 else packed
    return out


def test_fuzz_10000_mutated_logs_never_crash(tmp_path: Path) -> None:
    """10,000 seeded mutations of the sample logs (byte flips, cuts, repeats, hostile tokens,
    truncated gzip/bz2/xz) as 10,000 files in one full analysis, rendered in every format; the
    first 100 also one by one through extract_text. No exception, the schema holds, every event's line exists."""
    rng = random.Random(1729)
    seeds = _seed_lines()
    cases = [_mutate(rng, seeds) for _ in range(FUZZ_CASES)]
    for i, case in enumerate(cases):
        (tmp_path / f"case{i:05d}.log").write_bytes(case)
    try:
        report = analyze([str(tmp_path)])
    except Exception:  # find the first case that fails alone, and show it
        for i, case in enumerate(cases):
            try:
                analyze([str(tmp_path / f"case{i:05d}.log")])
            except Exception as exc:
                raise AssertionError(f"case {i} crashes: {case[:2000]!r}") from exc
        raise
    # A few cases are lines of the samples' compressed files, mutated: binary, skipped and said.
    binary = sum("not a text log (binary data)" in w for w in report.warnings)
    assert binary < FUZZ_CASES // 100
    assert report.totals.files + binary == FUZZ_CASES
    for render in renderers().values():
        assert render(report, Style(color=False, width=100, chart=True))
    for case in cases[:100]:
        text = case.decode("utf-8", errors="replace")
        events = extract_text(text)
        assert dict(events.schema) == EXTRACTED_SCHEMA
        assert events["line"].is_between(1, text.count("\n") + 1).all()
