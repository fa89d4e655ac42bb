"""bnlog: turn Binance.US trading-bot logs into a diagnosis (public API: analyze, __version__)."""

from __future__ import annotations

from analyzer.options import Options

__version__ = "0.1.0"

__all__ = ["Options", "__version__", "analyze", "analyze_events"]


def analyze(paths: list[str], options: Options | None = None):  # -> Report
    """Read the paths, extract and classify events, run the detectors, return the Report."""
    from analyzer.pipeline import analyze as run

    return run(paths, options or Options())


def analyze_events(paths: list[str], options: Options | None = None):  # -> (events, Coverage)
    """The classified, filtered events table alone (for exports and tests)."""
    from analyzer.pipeline import classified_events

    return classified_events(paths, options or Options())
