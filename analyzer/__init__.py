"""bnlog: turn Binance.US trading-bot logs into a diagnosis (public API: analyze, __version__)."""

from __future__ import annotations

__version__ = "0.1.0"
