"""Renderers: pure functions Report -> str, one per output format, in an explicit registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analyzer.report import Report


@dataclass(frozen=True)
class Style:
    """How to draw: colour on a terminal only, the width to fit, whether to draw the chart."""

    color: bool = False
    width: int = 100
    chart: bool = True


DEFAULT_STYLE = Style()

Renderer = Callable[[Report, Style], str]


def renderers() -> dict[str, Renderer]:
    """Every output format name with its renderer (tests check each has golden output)."""
    from analyzer.render import json as json_render
    from analyzer.render import markdown, text

    return {"text": text.render, "json": json_render.render, "markdown": markdown.render}
