"""shapes.toml: every sample of every shape, time layout and client yields exactly its fields."""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl
import pytest

from analyzer.errors import ReferenceDataError
from analyzer.extract import ExtractOptions, extract_text, patterns
from analyzer.extract.fields import parse_ts
from analyzer.extract.shapes import Shape, line_ts_pattern, load_shapes, parse_shapes
from analyzer.reference import classify
from analyzer.schema import api_events

SHAPES = load_shapes()
YEAR = 2026  # the year of syslog samples, whose lines carry none
OPTIONS = ExtractOptions(year=YEAR)


def _id(shape: Shape, n: int) -> str:
    return f"{shape.kind}:{shape.name}:{n}"


EVENT_SAMPLES = [
    pytest.param(shape, sample, id=_id(shape, n))
    for shape in (*SHAPES.codes, *SHAPES.statuses)
    for n, sample in enumerate(shape.samples, 1)
]
TIME_SAMPLES = [
    pytest.param(shape, sample, id=_id(shape, n))
    for shape in SHAPES.timestamps
    for n, sample in enumerate(shape.samples, 1)
]
CLIENT_SAMPLES = [
    pytest.param(shape, sample, id=_id(shape, n))
    for shape in SHAPES.clients
    for n, sample in enumerate(shape.samples, 1)
]


def _expected(value: object, key: str) -> object:
    if value == "null":
        return None
    if key == "ts" and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


@pytest.mark.parametrize(("shape", "sample"), EVENT_SAMPLES)
def test_every_sample_yields_exactly_its_fields(shape: Shape, sample) -> None:
    events = api_events(classify(extract_text(sample.text, options=OPTIONS)))
    assert events.height == sample.events, events.select("line", "code", "http_status", "msg")
    event = events.row(0, named=True)
    got = {key: event[key] for key in sample.fields}
    want = {key: _expected(value, key) for key, value in sample.fields.items()}
    assert got == want


@pytest.mark.parametrize(("shape", "sample"), TIME_SAMPLES)
def test_every_time_layout_sample_gives_its_time(shape: Shape, sample) -> None:
    line = pl.Series([sample.text])
    assert line.str.contains(line_ts_pattern()).item(), "a timed line starts a record"
    got = pl.select(parse_ts(pl.lit(sample.text), "UTC", YEAR)).item()
    assert got == _expected(sample.fields["ts"], "ts")


@pytest.mark.parametrize(("shape", "sample"), CLIENT_SAMPLES)
def test_every_client_sample_names_its_client(shape: Shape, sample) -> None:
    events = extract_text(sample.text, options=OPTIONS)
    assert events["client"].to_list() == [shape.name]


@pytest.mark.parametrize(("shape", "sample"), [*EVENT_SAMPLES, *CLIENT_SAMPLES, *TIME_SAMPLES])
def test_every_sample_passes_the_prefilter_or_is_a_time_line(shape: Shape, sample) -> None:
    lines = pl.Series(sample.text.split("\n"))
    if shape.kind == "timestamp":
        assert lines.str.contains(line_ts_pattern()).any()
    else:
        assert lines.str.contains(patterns.PREFILTER).any()


def test_every_shape_and_client_has_samples_and_every_client_is_shown_in_use() -> None:
    assert all(shape.samples for shape in SHAPES.every())
    promised = {
        sample.fields.get("client")
        for shape in (*SHAPES.codes, *SHAPES.statuses)
        for sample in shape.samples
    }
    named = {shape.client for shape in (*SHAPES.codes, *SHAPES.statuses, *SHAPES.timestamps)}
    for client in SHAPES.client_names:
        assert client in promised | named, f"no shape sample shows {client}"


def test_the_required_time_layouts_are_there() -> None:
    names = {t.name for t in SHAPES.timestamps}
    # ISO with and without zone, Go, logrus, syslog, Java/log4j, .NET, epoch s/ms
    assert {"ymd", "syslog", "log4j-date", "mdy", "epoch"} <= names
    texts = " ".join(s.text for t in SHAPES.timestamps for s in t.samples)
    for layout in ("2021/12/17 07:12:59", 'time="2022-01-06T09:12:01Z"', "+02:00", "PM"):
        assert layout in texts


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda t: t.replace("BinanceOrderException)\\(code=<CODE>", "X)\\(code=<NOPE>"),
            "unknown token <NOPE>",
        ),
        (
            lambda t: t + '\n[[code]]\nname = "x"\nclient = "any"\npattern = "x"\n',
            "needs a (?P<code>",
        ),
        (
            lambda t: t + '\n[[code]]\nname = "x"\nclient = "ghost"\npattern = "(?P<code>-1)"\n',
            "is not a [[client]]",
        ),
        (
            lambda t: t + '\n[[code]]\nname = "x"\nclient = "any"\npattern = "(?P<code>-1)"\n',
            "has no samples",
        ),
        (lambda t: t + "\n[[nonsense]]\n", "unknown section"),
        (lambda t: t.replace('"Forbidden" = 403', '"Forbidden" = 99'), "status between"),
    ],
)
def test_the_loader_names_the_broken_entry(edit, problem: str) -> None:
    from importlib import resources

    text = resources.files("analyzer.extract").joinpath("shapes.toml").read_text("utf-8")
    with pytest.raises(ReferenceDataError, match=re.escape(problem)):
        parse_shapes(edit(text))
