"""Client advice by topic (advice.toml): loaded once, checked, and asked for by detectors."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources

from analyzer.errors import ReferenceDataError
from analyzer.extract.shapes import load_shapes

DATA_FILE = "advice.toml"


def parse_advice(text: str) -> dict[str, dict[str, str]]:
    """topic -> client -> advice, checked: every client is a known client, every value text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(f"{DATA_FILE}: {exc}") from None
    clients = set(load_shapes().client_names)
    checked: dict[str, dict[str, str]] = {}
    for topic, table in data.items():
        if not isinstance(table, dict) or not table:
            raise ReferenceDataError(f"{DATA_FILE}: [{topic}] must be a table of client advice")
        for client, line in table.items():
            if client not in clients:
                raise ReferenceDataError(f"{DATA_FILE}: [{topic}] {client!r} is not a client")
            if not isinstance(line, str) or not line.strip().endswith((".", ")")):
                raise ReferenceDataError(f"{DATA_FILE}: [{topic}] {client}: must be a sentence")
        checked[topic] = dict(table)
    return checked


@cache
def load_advice() -> dict[str, dict[str, str]]:
    """The shipped advice, checked once."""
    path = resources.files("analyzer.detectors").joinpath(DATA_FILE)
    return parse_advice(path.read_text(encoding="utf-8"))


def advice_lines(topic: str, clients: Sequence[str]) -> list[str]:
    """'<client>: <advice>' for each of the clients (in their order) that has advice on the
    topic. An unknown topic is a packaging bug, raised as such."""
    table = load_advice().get(topic)
    if table is None:
        raise ReferenceDataError(f"{DATA_FILE}: no topic [{topic}]")
    return [f"{client}: {table[client]}" for client in clients if client in table]
