"""Evidence texts kept out of memory while a report is made.

Every event carries its evidence text (`raw`, up to RAW_MAX_CHARS, already redacted), yet a
report prints a few per finding. On a storm of a million events those texts are most of the
memory. A report run therefore writes each batch's texts to an anonymous temporary file as it
is extracted and keeps, per event, only the text's number (`raw_ref`). The rows a report
prints or a detector reads (a host name, "GET") are read back by number.

Events taken this way also carry `raw_tie`: where two events share (ts, path, line), the rank
of their texts among those events, so that sorting by (ts, path, line, raw_tie) gives exactly
the order of (ts, path, line, raw) without the texts (see detectors.base.ordered).

Frames that keep `raw` (`bnlog events`, datasets, the library's `events()`) are untouched:
`raw_of` and `with_raw` hand their column back as it is.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

import polars as pl

RAW = "raw"
RAW_REF = "raw_ref"  # Int64: the event's text in the active TextStore (null: no text)
RAW_TIE = "raw_tie"  # UInt32: rank of the text among events of the same (ts, path, line)
ORDER_KEYS = ("ts", "path", "line")

# Texts read back in one read when they lie this close together in the file.
_READ_SPAN = 8 << 20


class TextStore:
    """Texts numbered in the order they are added, kept in a temporary file (or, when no
    temporary file can be written, in memory: slower to fill, never wrong)."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._size = 0
        self._count = 0
        self._starts: list[pl.Series] = []  # byte offset of each text in the file
        self._lengths: list[pl.Series] = []  # its length in bytes; -1 for a null text
        self._memory: list[pl.Series] = []  # the texts themselves, once the file failed
        self._spilled = 0  # texts in the file (those after it are in memory)
        self._index: tuple[pl.Series, pl.Series] | None = None  # starts and lengths, joined
        try:
            self._file = tempfile.TemporaryFile(prefix="bnlog-texts-")
        except OSError:
            self._file = None

    def __enter__(self) -> TextStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the texts (the temporary file was never linked: closing deletes it)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory.clear()

    def __len__(self) -> int:
        return self._count

    def add(self, texts: pl.Series | Packed) -> pl.Series:
        """Keep `texts` (or texts packed beforehand, in another thread); their numbers (Int64,
        null where the text is null), in the order they are added."""
        packed = texts if isinstance(texts, Packed) else Packed(texts)
        first = self._count
        self._count += packed.texts.len()
        numbers = pl.int_range(first, self._count, dtype=pl.Int64, eager=True)
        numbers = pl.select(pl.when(packed.texts.is_not_null()).then(numbers)).to_series()
        if self._file is not None and not self._memory:
            try:
                self._write(packed)
                return numbers.alias(RAW_REF)
            except OSError:  # the disk filled up: go on in memory, the file's texts first
                self._memory.append(self._read_all())
                self._file.close()
                self._file, self._spilled, self._index = None, 0, None
                self._starts.clear()
                self._lengths.clear()
        self._memory.append(packed.texts)
        return numbers.alias(RAW_REF)

    def _write(self, packed: Packed) -> None:
        assert self._file is not None
        self._file.seek(self._size)
        self._file.write(packed.data)
        self._starts.append(packed.starts + self._size)
        self._lengths.append(packed.lengths)
        self._index = None
        self._size += len(packed.data)
        self._spilled += packed.texts.len()

    def _read_all(self) -> pl.Series:
        """Every text of the file, in order (when the store moves to memory)."""
        return self.get(pl.int_range(0, self._spilled, dtype=pl.Int64, eager=True))

    def get(self, numbers: pl.Series) -> pl.Series:
        """The texts of `numbers` (null for a null number), as a String series named "raw"."""
        wanted = numbers.drop_nulls().unique().sort()
        if wanted.len() == 0:
            return pl.Series(RAW, [None] * numbers.len(), pl.String)
        if wanted.max() >= self._count or wanted.min() < 0:  # type: ignore[operator]
            raise ValueError("a text number this store never gave")
        on_disk = wanted.filter(wanted < self._spilled)
        in_memory = wanted.filter(wanted >= self._spilled)
        texts: list[str | None] = self._read(on_disk) if on_disk.len() else []
        if in_memory.len():
            kept = pl.concat(self._memory)
            texts += kept.gather(in_memory - self._spilled).to_list()
        found = pl.Series(RAW, texts, pl.String)
        return numbers.replace_strict(wanted, found, default=None, return_dtype=pl.String).alias(
            RAW
        )

    def _read(self, wanted: pl.Series) -> list[str | None]:
        """Texts of the file by number (sorted, unique): close ones in one read."""
        assert self._file is not None
        self._file.flush()
        fd = self._file.fileno()
        if self._index is None:
            self._index = (pl.concat(self._starts), pl.concat(self._lengths))
        starts = self._index[0].gather(wanted).to_list()
        lengths = self._index[1].gather(wanted).to_list()
        out: list[str | None] = []
        i = 0
        while i < len(starts):
            j, begin = i, starts[i]
            end = begin + max(lengths[i], 0)
            while (
                j + 1 < len(starts) and starts[j + 1] + max(lengths[j + 1], 0) - begin <= _READ_SPAN
            ):
                j += 1
                end = max(end, starts[j] + max(lengths[j], 0))
            block = os.pread(fd, end - begin, begin)
            for k in range(i, j + 1):
                if lengths[k] < 0:
                    out.append(None)
                else:
                    at = starts[k] - begin
                    out.append(block[at : at + lengths[k]].decode("utf-8"))
            i = j + 1
        return out


class Packed:
    """Texts encoded for a TextStore: their bytes end to end, each one's start and length
    (-1: null). Packing is the costly part of adding; it can run in any thread."""

    def __init__(self, texts: pl.Series) -> None:
        self.texts = texts.cast(pl.String)
        lengths = self.texts.str.len_bytes().cast(pl.Int64).fill_null(0)
        self.starts = lengths.cum_sum() - lengths
        self.lengths = pl.select(
            pl.when(self.texts.is_not_null()).then(lengths).otherwise(-1)
        ).to_series()
        # (bytes straight from polars: no Python string in between, one copy fewer)
        self.data: bytes = self.texts.fill_null("").str.join("").cast(pl.Binary).item()


_active: ContextVar[TextStore | None] = ContextVar("bnlog_texts", default=None)


@contextmanager
def using(store: TextStore) -> Iterator[TextStore]:
    """Make `store` the one that `raw_of` reads numbered texts from."""
    token = _active.set(store)
    try:
        yield store
    finally:
        _active.reset(token)


def raw_of(events: pl.DataFrame) -> pl.Series:
    """The events' evidence texts, from the frame or read back from the active store."""
    if RAW in events.columns:
        return events.get_column(RAW)
    store = _active.get()
    if store is None:
        raise RuntimeError("events without their texts, and no text store is active")
    return store.get(events.get_column(RAW_REF))


def with_raw(events: pl.DataFrame) -> pl.DataFrame:
    """The events with their `raw` column (read back for numbered texts). Use it on the few
    rows that need their texts: it brings every row's text back into memory."""
    if RAW in events.columns:
        return events
    return events.with_columns(raw_of(events))


def text_column(columns: list[str]) -> str:
    """Where a frame with these columns holds its events' texts: `raw`, or their numbers in a
    store, `raw_ref`."""
    return RAW if RAW in columns or RAW_REF not in columns else RAW_REF


def order_keys(events: pl.DataFrame) -> list[str]:
    """The columns that put events in their total order: (ts, path, line, raw), with raw_tie
    standing in for raw where the texts are in a store."""
    return [*ORDER_KEYS, RAW if RAW in events.columns or RAW_TIE not in events.columns else RAW_TIE]


def spill(events: pl.DataFrame, store: TextStore, packed: Packed | None = None) -> pl.DataFrame:
    """The events with their texts moved into `store` (`raw` becomes `raw_ref`); `packed`:
    the same texts, packed beforehand."""
    if RAW not in events.columns:
        return events
    refs = store.add(packed if packed is not None else events.get_column(RAW))
    columns = [refs if name == RAW else pl.col(name) for name in events.columns]
    return events.select(columns)


def with_ties(events: pl.DataFrame, store: TextStore) -> pl.DataFrame:
    """Add `raw_tie` to events whose texts are in `store`: for events that share (ts, path,
    line) with another, the dense rank of their text among them (nulls last); null for all
    others, which need no tie-break."""
    keys = list(ORDER_KEYS)
    tie = pl.repeat(None, events.height, dtype=pl.UInt32, eager=True).alias(RAW_TIE)
    # Rows sharing (ts, line) with another, first: two integers hash cheaply, and a million
    # rows of a storm share neither. Then the path too, on those rows alone.
    maybe = events.select(pl.struct("ts", "line").is_duplicated()).to_series()
    rows = events.with_row_index("_row").filter(maybe)
    rows = rows.filter(pl.struct(keys).is_duplicated())
    if rows.height:
        rows = rows.with_columns(store.get(rows.get_column(RAW_REF)))
        ranked = rows.select(
            "_row",
            rank=pl.col(RAW)
            .rank("dense")
            .over(keys)
            .fill_null(pl.col(RAW).rank("dense").max().over(keys).fill_null(0) + 1)
            .cast(pl.UInt32),
        )
        tie = tie.scatter(ranked.get_column("_row"), ranked.get_column("rank"))
    return events.with_columns(tie)
