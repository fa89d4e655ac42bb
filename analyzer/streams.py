"""Opening one input as a stream of text bytes: compression, encoding and line ends sniffed.

Everything is decided from a peek at the first bytes, which are then put back in front of the
stream: nothing is ever seeked, so pipes, FIFOs, devices and /dev/fd/N (process substitution)
are read like files. The layers, in order:

- compression (gzip, bzip2, xz, zstd) by magic bytes, but only if the first bytes really
  decompress: a text file that happens to start like gzip is read as text, with a note;
- encoding: a UTF-16 or UTF-32 byte-order mark (PowerShell's `>` writes UTF-16) is transcoded
  to UTF-8; a UTF-8 BOM is left for the reader to drop;
- line ends: a stream whose lines end in a bare CR (classic Mac, some Windows tools) has its CRs
  turned into LFs, byte for byte, so offsets stay those of the stream;
- binaries (archives, images, executables, random bytes) are recognised, to be skipped.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol, cast

import zstandard

PEEK_BYTES = 8192  # what is looked at to decide compression, encoding, line ends, binary
JUDGED_BYTES = 256  # fewer bytes than this without known magic are taken for text
PROBE_BYTES = 32  # the first compressed bytes that must decompress for a magic to count
STEP = 1 << 16  # a decompressor is read this much at a time: data before damage is kept
ZSTD_FEED = 1024  # zstd input per step: bounds one step's output (a zstd bomb is ~32,000:1)

_PROBE_ERRORS = (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError, zstandard.ZstdError)


class Readable(Protocol):
    """What is read from: a file, stdin, a decompressor, a Stream."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class DecompressError(ValueError):
    """The compressed data is corrupt or truncated (what came before it was delivered)."""


class _ZstdReader(io.RawIOBase):
    """zstd frames, one after another, read from a stream. Unlike the zstandard package's own
    stream reader, a stream cut inside a frame is an error, not a quiet end."""

    def __init__(self, source: Readable) -> None:
        super().__init__()
        self._source = source
        self._frame: zstandard.ZstdDecompressionObj | None = None
        self._out = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        while not self._out:
            if self._frame is None or self._frame.eof:
                data = b"" if self._frame is None else self._frame.unused_data
                data = data or self._source.read(ZSTD_FEED)
                if not data:
                    return b""
                self._frame = zstandard.ZstdDecompressor().decompressobj()
            else:
                data = self._source.read(ZSTD_FEED)
                if not data:
                    raise EOFError("zstd data ends inside a frame")
            self._out = self._frame.decompress(data)
        if size is None or size < 0 or size >= len(self._out):
            data, self._out = self._out, b""
        else:
            data, self._out = self._out[:size], self._out[size:]
        return data

    read1 = read


@dataclass(frozen=True)
class Compression:
    """A compressed format: its magic bytes, how to open it, how to test its first bytes."""

    name: str
    magic: bytes
    open: Callable[[Readable], Readable]
    probe: Callable[[bytes], bytes]  # decompress a stream's first bytes (raises if not this)


# The stdlib decompressors read any object with read(); typeshed asks for a file.
def _gzip(stream: Readable) -> Readable:
    return gzip.GzipFile(fileobj=cast(BinaryIO, stream), mode="rb")


def _bzip2(stream: Readable) -> Readable:
    return bz2.BZ2File(cast(BinaryIO, stream))


def _xz(stream: Readable) -> Readable:
    return lzma.LZMAFile(cast(BinaryIO, stream), format=lzma.FORMAT_XZ)


COMPRESSIONS = (
    Compression("gzip", b"\x1f\x8b", _gzip, lambda b: zlib.decompressobj(wbits=31).decompress(b)),
    Compression("bzip2", b"BZh", _bzip2, lambda b: bz2.BZ2Decompressor().decompress(b)),
    Compression(
        "xz",
        b"\xfd7zXZ\x00",
        _xz,
        lambda b: lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(b),
    ),
    Compression(
        "zstd",
        b"\x28\xb5\x2f\xfd",
        _ZstdReader,
        lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
    ),
)

# What is not a log, by its magic bytes (offset, bytes): archives, images, executables,
# databases, and compressed formats that are not read.
BINARY_MAGIC: tuple[tuple[str, int, bytes], ...] = (
    ("zip archive", 0, b"PK\x03\x04"),
    ("zip archive", 0, b"PK\x05\x06"),
    ("tar archive", 257, b"ustar"),
    ("7-zip archive", 0, b"7z\xbc\xaf\x27\x1c"),
    ("rar archive", 0, b"Rar!\x1a\x07"),
    ("lz4 data, not supported", 0, b"\x04\x22\x4d\x18"),
    ("lzip data, not supported", 0, b"LZIP"),
    ("compress (.Z) data, not supported", 0, b"\x1f\x9d"),
    ("PNG image", 0, b"\x89PNG\r\n\x1a\n"),
    ("JPEG image", 0, b"\xff\xd8\xff"),
    ("GIF image", 0, b"GIF87a"),
    ("GIF image", 0, b"GIF89a"),
    ("PDF document", 0, b"%PDF-"),
    ("ELF executable", 0, b"\x7fELF"),
    ("Mach-O executable", 0, b"\xcf\xfa\xed\xfe"),
    ("Mach-O executable", 0, b"\xce\xfa\xed\xfe"),
    ("Java class or Mach-O executable", 0, b"\xca\xfe\xba\xbe"),
    ("SQLite database", 0, b"SQLite format 3\x00"),
    ("Windows executable", 78, b"This program cannot be run in DOS mode"),
    ("TIFF image", 0, b"II*\x00"),
    ("TIFF image", 0, b"MM\x00*"),
)

# Byte-order marks of encodings that are transcoded (UTF-32 first: its LE mark starts like
# UTF-16's). The codecs consume the mark.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UTF8_BOM = codecs.BOM_UTF8
_TEXT_RUN = re.compile(rb"[\x20-\x7e\t]{16}")  # 16 printable ASCII characters in a row
# Control bytes that text does not hold (tab, LF, VT, FF, CR, backspace and ESC are text).
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r\x08\x1b") + b"\x7f"


class Stream(io.RawIOBase):
    """A byte stream read from the front only, with bytes already taken (a peek) put back.

    `read(n)` returns n bytes unless the stream ends. A failure of the decompressor after some
    data was read delivers that data first and raises on the next read, once.
    """

    def __init__(
        self, inner: Readable, *, owned: list[Readable], decompressed: bool = False
    ) -> None:
        super().__init__()
        self._inner = inner
        self._owned = owned  # closed with this stream (never stdin)
        self._decompressed = decompressed
        self._buffer = b""  # bytes ready to be returned (peeked, or decoded beyond a read)
        self._error: BaseException | None = None  # raised once the buffer is used up
        self._done = False  # the inner stream is used up (or failed)
        self._decoder: codecs.IncrementalDecoder | None = None
        self.cr = False  # turn CR into LF (a stream whose lines end in a bare CR)
        self.seekable_file: BinaryIO | None = None  # a plain regular file: skip by seeking

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = sys.maxsize if size is None or size < 0 else size
        if self._error is not None and not self._buffer:
            error, self._error = self._error, None
            raise error
        parts = []
        got = 0
        if self._buffer:
            piece = self._buffer[:want]
            self._buffer = self._buffer[len(piece) :]
            parts.append(piece)
            got = len(piece)
        while got < want and not self._done:
            try:
                block = self._more(want - got)
            except (DecompressError, OSError) as exc:
                self._done = True
                if not got:
                    raise
                self._error = exc
                break
            if not block:
                self._done = True
                break
            if len(block) > want - got:
                self._buffer, block = block[want - got :], block[: want - got]
            parts.append(block)
            got += len(block)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        return data.replace(b"\r", b"\n") if self.cr else data

    read1 = read

    def _more(self, size: int) -> bytes:
        """The next bytes from the inner stream (decoded); b"" at its end."""
        while True:
            raw = self._raw(size)
            if self._decoder is None:
                return raw
            text = self._decoder.decode(raw, final=not raw)
            if text or not raw:
                return text.encode("utf-8", "surrogatepass")

    def _raw(self, size: int) -> bytes:
        if not self._decompressed:
            return self._inner.read(size)
        read: Callable[[int], bytes] = getattr(self._inner, "read1", self._inner.read)
        try:
            return read(min(size, STEP))
        except _PROBE_ERRORS as exc:
            raise DecompressError(str(exc) or type(exc).__name__) from exc

    def peek_head(self, size: int) -> bytes:
        """The first `size` bytes (fewer at the end), left in place to be read again."""
        try:
            head = self.read(size)
        except (DecompressError, OSError) as exc:
            head, self._error = b"", exc
        self._buffer = head + self._buffer
        return head

    def transcode(self, encoding: str) -> None:
        """Decode the rest of the stream from `encoding` (its BOM first) into UTF-8."""
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")
        text = self._decoder.decode(self._buffer, final=self._done)
        self._buffer = text.encode("utf-8", "surrogatepass")

    def skip(self, count: int) -> bool:
        """Move past the next `count` bytes; False if the stream ends (or fails) before that.
        A plain regular file seeks (an incremental run resumes without reading the old part)."""
        if self.seekable_file is not None and count > len(self._buffer):
            try:
                if os.fstat(self.seekable_file.fileno()).st_size < count:
                    return False
                self.seekable_file.seek(count)
            except OSError:
                return False
            self._buffer = b""
            return True
        left = count
        while left:
            try:
                block = self.read(min(left, STEP * 16))
            except (DecompressError, OSError):
                return False
            if not block:
                return False
            left -= len(block)
        return True

    def close(self) -> None:
        if not self.closed:
            for stream in reversed(self._owned):
                stream.close()
        super().close()


@dataclass
class Opened:
    """An input opened for reading: the stream, what to tell the user, and whether to skip it."""

    stream: Stream
    notes: list[str] = field(default_factory=list)  # said once as warnings
    binary: str | None = None  # what it is, if it is not text (then it is skipped)


def open_input(name: str, *, stdin: bool = False) -> Opened:
    """Open a file (or stdin) for reading as text bytes, sniffing from a peek at its start."""
    if stdin:
        if sys.stdin is None:
            raise OSError(9, "stdin is closed")
        raw: BinaryIO = sys.stdin.buffer
        owned: list[Readable] = []
    else:
        raw = open(name, "rb")  # noqa: SIM115 - closed with the stream
        owned = [raw]
    try:
        regular = stat.S_ISREG(os.fstat(raw.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        regular = False
    plain = Stream(raw, owned=owned)
    head = plain.peek_head(PEEK_BYTES)
    opened = Opened(plain)
    kind = next((c for c in COMPRESSIONS if head.startswith(c.magic)), None)
    if kind is not None:
        try:
            kind.probe(head[:PROBE_BYTES])
        except _PROBE_ERRORS as exc:
            opened.notes.append(
                f"starts like {kind.name} data but does not decompress "
                f"({str(exc) or type(exc).__name__}); read as text"
            )
        else:
            inner = kind.open(plain)
            opened.stream = Stream(inner, owned=[plain, inner], decompressed=True)
            head = opened.stream.peek_head(PEEK_BYTES)
    stream = opened.stream
    if stream is plain and regular:
        stream.seekable_file = raw
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            stream.transcode(encoding)
            stream.seekable_file = None
            head = stream.peek_head(PEEK_BYTES)
            break
    stream.cr = _bare_cr_line_ends(head)
    opened.binary = binary_kind(head, regular=regular)
    return opened


def _bare_cr_line_ends(head: bytes) -> bool:
    """Lines end in a bare CR: the first bytes hold more lone CRs than LFs."""
    cr = head.count(b"\r")
    return cr > 0 and cr - head.count(b"\r\n") > head.count(b"\n")


def binary_kind(head: bytes, *, regular: bool = True) -> str | None:
    """What the first bytes of a stream are if they are not text (None: text).

    Known magic bytes name it. Otherwise only clear cases are called binary, so that a damaged
    log (NULs, junk, cut UTF-8) is still read for its events: at least 256 bytes, control bytes
    (not tab, CR, LF, ESC…) over 5% of them (random bytes hold 10%, text in any encoding ~0),
    and not one run of 16 printable ASCII characters (a log line's timestamp alone is one).
    A regular file may start with NULs (log rotation by copytruncate leaves a hole): they are
    passed over; a device that gives only NULs (/dev/zero) is not text.
    """
    head = head.removeprefix(_UTF8_BOM)
    for name, offset, magic in BINARY_MAGIC:
        if head.startswith(magic, offset):
            return name
    body = head.lstrip(b"\x00")
    if not body:
        return None if regular or not head else "NUL bytes only"
    if len(body) < JUDGED_BYTES or _controls(body) * 20 <= len(body):
        return None
    return None if _TEXT_RUN.search(body) else "binary data"


def _controls(data: bytes) -> int:
    return len(data) - len(data.translate(None, _CONTROL))
