"""Hostile-input corpus: files that try to crash bnlog or make it lose events, each with its outcome.

    python tests/hostile/corpus.py OUTDIR     # write the corpus by hand, print the expectations

`build_corpus(dir)` writes every case below `dir` and returns {case name: Expectation}; the
tests (tests/test_hostile.py) run each case through the real CLI and compare. Everything is
generated from fixed seeds, so the files and the expected counts are the same on every run.
The expected counts are derived from how the files are built (which lines carry an event),
never from running bnlog.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

MB = 1 << 20
DEEP_DIRS = 1_000

# Valid event lines, one per shape family; (code, http_status) is what each must yield.
E_CLOCK = (
    "2024-03-18 02:10:01,118 - freqtrade.exchange.common - WARNING - get_balances() returned "
    'exception: "Could not get balance due to InvalidNonce. Message: binanceus {"code":-1021,'
    '"msg":"Timestamp for this request is outside of the recvWindow."}". Retrying still for 3 times.'
)
E_BALANCE = (
    "2024-03-18 02:11:02,000 ERROR bot.market: APIError(code=-2010): Account has insufficient "
    "balance for requested action."
)
E_503 = (
    "2024-03-18 02:12:03,512 - 7 - hummingbot.core.web_assistant.rest_assistant - ERROR - Error "
    "executing request GET https://api.binance.us/api/v3/ticker/price. HTTP status is 503. Error: N/A"
)
E_LOT = (
    "2024-03-18 02:13:04,000 - freqtrade.freqtradebot - WARNING - Could not create limit buy order "
    'on market SOL/USD. Message: binanceus {"code":-1013,"msg":"Filter failure: LOT_SIZE"}'
)
E_LOT_JSON = b'{"code":-1013,"msg":"Filter failure: LOT_SIZE"}'
INFO = (
    "2024-03-18 02:14:00,000 - freqtrade.worker - INFO - Bot heartbeat. PID=4242, version='2024.3'"
)

CLOCK, BALANCE, HTTP503, LOT = (-1021, None), (-2010, None), (None, 503), (-1013, None)
AROUND_CODES = {CLOCK: 1, BALANCE: 1, HTTP503: 1}


def around(*junk: bytes) -> bytes:
    """Valid events before, between and after junk lines: E_CLOCK, junk…, E_BALANCE, E_503."""
    parts = [E_CLOCK.encode(), *junk, E_BALANCE.encode(), E_503.encode()]
    return b"\n".join(parts) + b"\n"


@dataclass(frozen=True)
class Expectation:
    """The defined outcome of `bnlog report -f json <paths> <args>` on one case.

    A field left None is not defined for the case (not checked); everything else is exact.
    """

    what: str
    paths: tuple[str, ...]  # relative to the corpus dir ("." is the dir itself)
    args: tuple[str, ...] = ()
    exit_code: int = 0
    codes: dict[tuple[int | None, int | None], int] = field(default_factory=dict)
    files: int | None = None
    lines: int | None = None
    skipped_lines: int | None = 0
    repaired_lines: int | None = 0
    untimed: int | None = 0  # events without a timestamp
    warnings: tuple[str, ...] = ()  # each warning (in order) contains this text; no others
    stderr: str | None = None  # exact stderr when defined ("{dir}" is the corpus dir)
    skip: str | None = None  # why this case cannot be checked here

    @property
    def events(self) -> int:
        return sum(self.codes.values())

    def to_json(self) -> dict[str, object]:
        data = {k: v for k, v in self.__dict__.items() if k != "codes"}
        data["codes"] = [[code, http, n] for (code, http), n in self.codes.items()]
        data["events"] = self.events
        return data


def _lines_of(data: bytes) -> int:
    """How many lines a reader sees in `data` (a last line without "\\n" counts)."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _repaired(data: bytes) -> int:
    """Lines with invalid UTF-8 (decoded lossily: U+FFFD), as the reader counts them."""
    return sum("\ufffd" in line.decode("utf-8", errors="replace") for line in data.split(b"\n"))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.chmod(0o644)  # a chmod-000 file of an earlier run into the same directory
    path.write_bytes(data)


def _symlink(link: Path, target: str) -> None:
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target)


def _truncated_gzip(dir: Path) -> Expectation:
    """The first half of a gzip of a log with known events: what can be decompressed is
    analysed. The cut is moved down from the middle until the readable text ends inside an
    INFO line (a partial line that cannot be an event), so "the events that could be read" is
    exact: the event lines wholly inside the readable text."""
    rng = random.Random(7)
    body_lines = []
    for i in range(6000):
        if i % 3 == 0:
            body_lines.append(
                f"2024-03-18 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d},{rng.randrange(1000):03d}"
                f' - bot - ERROR - order {rng.getrandbits(48):x} failed: {{"code":-1013,'
                f'"msg":"Filter failure: LOT_SIZE"}}'
            )
        else:
            body_lines.append(
                f"2024-03-18 00:00:00,000 - bot - INFO - tick {rng.getrandbits(64):x}"
            )
    body = ("\n".join(body_lines) + "\n").encode()
    whole = gzip.compress(body, mtime=0)
    for cut in range(len(whole) // 2, 0, -1):
        # zlib yields everything the first `cut` bytes decode to, as gzip.GzipFile does
        readable = zlib.decompressobj(wbits=31).decompress(whole[:cut])
        complete, _, partial = readable.rpartition(b"\n")
        if partial and body_lines[complete.count(b"\n") + 1].startswith("2024-03-18 00:00:00,000"):
            break
    else:  # pragma: no cover - the seeded data always has such a cut
        raise RuntimeError("no cut of the gzip ends inside an INFO line")
    _write(dir / "gzip-truncated.log.gz", whole[:cut])
    read_lines = complete.decode().split("\n")
    n_events = sum('"code":-1013' in line for line in read_lines)
    assert 100 < len(read_lines) < len(body_lines)
    return Expectation(
        "first half of a gzip: the readable part (ending in a cut INFO line) is analysed, a warning",
        ("gzip-truncated.log.gz",),
        codes={LOT: n_events},
        files=1,
        lines=len(read_lines) + 1,
        warnings=("compressed data is corrupt or truncated",),
    )


def _traceback(frames: int) -> str:
    """A Python traceback of `frames` frames ending in a python-binance exception (-1013)."""
    body = "".join(
        f'  File "/bot/strategy_{i}.py", line {i + 1}, in step_{i}\n    return step_{i + 1}(order)\n'
        for i in range(frames)
    )
    return (
        "Traceback (most recent call last):\n"
        + body
        + "binance.exceptions.BinanceAPIException: APIError(code=-1013): Filter failure: LOT_SIZE"
    )


def build_corpus(dir: Path) -> dict[str, Expectation]:
    """Write every hostile case below `dir`; return {name: Expectation}."""
    dir.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Expectation] = {}

    _write(dir / "empty.log", b"")
    cases["empty"] = Expectation("an empty file", ("empty.log",), files=1, lines=0)

    _write(dir / "gzip-zero-byte.log.gz", b"")
    cases["gzip-zero-byte"] = Expectation(
        "a 0-byte .gz (no magic: read as an empty plain file)",
        ("gzip-zero-byte.log.gz",),
        files=1,
        lines=0,
    )
    _write(dir / "gzip-magic-only.log.gz", b"\x1f\x8b")
    cases["gzip-magic-only"] = Expectation(
        "a .gz that is only the 2 magic bytes: nothing readable, a warning",
        ("gzip-magic-only.log.gz",),
        files=1,
        lines=0,
        warnings=("compressed data is corrupt or truncated",),
    )
    cases["gzip-truncated"] = _truncated_gzip(dir)

    mixed = around(
        b"\xff\xfe\xfd garbage \x00\x00 more \xc3\x28 bytes",
        b"\x00" * 64,
        E_LOT.encode().replace(b"Could not", b"Could\x00not")
        + b" \xe2\x82",  # event + NUL + cut UTF-8
        b"2024-03-18 02:13:05,000 - bot - INFO - caf\xe9 \x80\x81 \x00",
    )
    _write(dir / "invalid-utf8-nul.log", mixed)
    cases["invalid-utf8-nul"] = Expectation(
        "invalid UTF-8 and NUL bytes among valid event lines (one of them damaged): events kept",
        ("invalid-utf8-nul.log",),
        codes={**AROUND_CODES, LOT: 1},
        files=1,
        lines=_lines_of(mixed),
        repaired_lines=3,
    )

    long = around(b"status: " + b"x" * (10 * MB))
    _write(dir / "long-line.log", long)
    cases["long-line"] = Expectation(
        "a 10 MB line between valid lines: cut and counted in skipped_lines",
        ("long-line.log",),
        codes=AROUND_CODES,
        files=1,
        lines=4,
        skipped_lines=1,
    )
    cases["long-line-raised-limit"] = Expectation(
        "the same with --max-line-bytes 16 MB: the line is kept whole, nothing skipped",
        ("long-line.log",),
        args=("--max-line-bytes", str(16 * MB)),
        codes=AROUND_CODES,
        files=1,
        lines=4,
        skipped_lines=0,
    )
    # The line ends in an event: a line cut at the read chunk (8 MB) would silently lose it.
    huge = around(b"2024-03-18 02:10:40,000 ERROR " + b"y" * (40 * MB) + b" " + E_LOT_JSON)
    _write(dir / "longer-than-a-chunk.log", huge)
    cases["longer-than-a-chunk"] = Expectation(
        "a 40 MB line (over four times the 8 MB read chunk) ending in an event, with"
        " --max-line-bytes 64 MB: kept whole, its event found",
        ("longer-than-a-chunk.log",),
        args=("--max-line-bytes", str(64 * MB)),
        codes={**AROUND_CODES, LOT: 1},
        files=1,
        lines=4,
        skipped_lines=0,
    )

    # Plain text whose first bytes look like zlib ("x^" is 0x78 0x5e) or zstd magic: read as text.
    _write(dir / "magic-lookalikes" / "zlib.log", b"x^2 + y^2 = r^2\n" + around())
    _write(dir / "magic-lookalikes" / "zstd.log", b"(\xb5/\xfd not zstd\n" + around())
    _write(dir / "magic-lookalikes" / "zlib-binary.log", b"x\x9c\x01\x02\n" + around())
    cases["magic-lookalikes"] = Expectation(
        'plain files starting with zlib/zstd magic bytes ("x^…", "x\\x9c…", "(\\xb5/\\xfd…"): read as '
        "text, a warning for the one that starts with zstd's real magic",
        ("magic-lookalikes",),
        codes={k: 3 * v for k, v in AROUND_CODES.items()},
        files=3,
        lines=12,
        repaired_lines=2,
        warnings=("zstd.log: starts like zstd data but does not decompress",),
    )

    crlf = b"\xef\xbb\xbf" + around(INFO.encode()).replace(b"\n", b"\r\n")
    _write(dir / "crlf-bom.log", crlf)
    cases["crlf-bom"] = Expectation(
        "CRLF line ends and a UTF-8 BOM",
        ("crlf-bom.log",),
        codes=AROUND_CODES,
        files=1,
        lines=4,
    )

    deep = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    _write(dir / "deep-json.log", around(b"2024-03-18 02:10:01,500 ERROR payload " + deep, deep))
    cases["deep-json"] = Expectation(
        "JSON nested 10,000 deep (with an ERROR prefix, and bare) next to valid events",
        ("deep-json.log",),
        codes=AROUND_CODES,
        files=1,
        lines=5,
    )
    docker = (
        b'{"log":"ERROR deep\\n","stream":"stderr","time":"2024-03-18T02:10:01Z","x":' + deep + b"}"
    )
    _write(dir / "deep-json-docker.log", around(docker, b'{"log":' + b'{"a":' * 10_000))
    cases["deep-json-docker"] = Expectation(
        "a docker json-file line holding JSON 10,000 deep, and an unterminated one",
        ("deep-json-docker.log",),
        codes=AROUND_CODES,
        files=1,
        lines=5,
    )

    absurd = around(
        b'2024-03-18 02:10:05 ERROR {"code": -99999999999999999999, "msg": "Filter failure: LOT_SIZE"}',
        b'2024-03-18 02:10:06 ERROR {"code": 99999999999999999999999999999999999999999, "msg": "x"}',
        b"2024-03-18 02:10:07 ERROR code=-9223372036854775808, msg=Unknown order sent.",
        b"2024-03-18 02:10:08 INFO freqtrade - Time offset to Binance US is " + b"9" * 400 + b"ms.",
        b"2024-03-18 02:10:09 WARNING freqtrade - Your system time deviates by -"
        + b"9" * 30
        + b"s",
        b"2024-03-18 02:10:10 ERROR binance banned until 99999999999999999999 Retry-After: 99999999999",
    )
    _write(dir / "absurd-numbers.log", absurd)
    cases["absurd-numbers"] = Expectation(
        "codes beyond 64 bits and absurd offsets, bans, headers: events kept, the number dropped"
        " (a dropped code is inferred from the message where the message names one; a filter"
        " failure names none); a positive 'code' is another API's, and an error line that only"
        " names Binance is an other error, not an API event",
        ("absurd-numbers.log",),
        codes={**AROUND_CODES, (None, None): 1, (-2011, None): 1},
        files=1,
        lines=9,
    )

    bad_ts = [
        b'2024-13-18 02:10:01 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
        b'2024-03-18 25:10:01 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
        b'2024-02-30 23:61:99 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
        b'0001-01-01 00:00:00 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
        b'9999-12-31 23:59:59 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
        b'2024-03-18 02:10:01+99:99 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
    ]
    _write(dir / "impossible-timestamps.log", around(*bad_ts))
    cases["impossible-timestamps"] = Expectation(
        "month 13, hour 25, Feb 30, years 1 and 9999, offset +99:99: events kept, ts null",
        ("impossible-timestamps.log",),
        codes={**AROUND_CODES, (-1022, None): 6},
        files=1,
        lines=9,
        untimed=6,
    )

    far = around(
        b'2000-01-01 00:00:00 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
        b'2099-12-31 23:59:59 ERROR {"code":-1022,"msg":"Signature for this request is not valid."}',
    )
    _write(dir / "century-apart.log", far)
    cases["century-apart"] = Expectation(
        "the first and last plausible times (2000, 2099): a century-long timeline, still quick",
        ("century-apart.log",),
        codes={**AROUND_CODES, (-1022, None): 2},
        files=1,
        lines=5,
    )

    # Random bytes with every ASCII letter and digit removed: nothing in them can be a code,
    # a message or a status, so exactly the valid lines around them are events.
    rng = random.Random(20240318)
    alnum = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    noise = bytes(b for b in rng.randbytes(2 * MB) if b not in alnum)[:MB]
    garbage = around(noise)
    _write(dir / "binary-garbage.log", garbage)
    cases["binary-garbage"] = Expectation(
        "1 MB of seeded random bytes (no letters or digits) between valid lines",
        ("binary-garbage.log",),
        codes=AROUND_CODES,
        files=1,
        lines=_lines_of(garbage),
        repaired_lines=_repaired(garbage),
    )
    _write(dir / "binary-random.bin", rng.randbytes(MB))
    cases["binary-random"] = Expectation(
        "1 MB of seeded random bytes: not text, skipped with a warning that names it",
        ("binary-random.bin",),
        codes={},
        files=0,
        lines=0,
        warnings=("binary-random.bin: not a text log (binary data), skipped",),
    )

    locked = dir / "unreadable"
    _write(locked / "a.log", around())
    _write(locked / "locked.log", around())
    (locked / "locked.log").chmod(0)
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    cases["unreadable-file"] = Expectation(
        "a directory holding a chmod-000 file: warned and skipped, the rest analysed",
        ("unreadable",),
        codes=AROUND_CODES,
        files=1,
        lines=3,
        warnings=("locked.log: permission denied, skipped",),
        skip="running as root: chmod 000 does not stop root from reading" if root else None,
    )

    looped = dir / "symlink-loop"
    _write(looped / "sub" / "a.log", around())
    _symlink(looped / "sub" / "loop", "..")
    _symlink(looped / "sub" / "self", "self")  # a link to itself: ELOOP on open
    cases["symlink-loop"] = Expectation(
        "a directory with a symlink loop and a self-referencing link: warned, the rest analysed",
        ("symlink-loop",),
        codes=AROUND_CODES,
        files=1,
        lines=3,
        warnings=("not a regular file", "symlink loop"),
    )

    odd = dir / "odd-names"
    _write(odd / os.fsdecode(b"bot-\xff\xfe.log"), around())  # not UTF-8: a lone surrogate in str
    _write(odd / "new\nline.log", around())
    _write(odd / " -leading dash and spaces .log", around())
    cases["odd-file-names"] = Expectation(
        "file names with non-UTF-8 bytes, a newline, a leading dash: read, and printable",
        ("odd-names",),
        codes={k: 3 * v for k, v in AROUND_CODES.items()},
        files=3,
        lines=9,
    )

    deep = dir / "deep-dirs"
    deep.mkdir(exist_ok=True)
    for _ in range(DEEP_DIRS):  # mkdir one by one: os.makedirs itself recurses
        deep = deep / "d"
        deep.mkdir(exist_ok=True)
    _write(deep / "bot.log", around())
    cases["deep-directories"] = Expectation(
        f"a log {DEEP_DIRS} directories deep (os.walk recurses in Python 3.11)",
        ("deep-dirs",),
        codes=AROUND_CODES,
        files=1,
        lines=3,
    )

    cases["nonexistent"] = Expectation(
        "a path that does not exist: one line on stderr, exit 2",
        ("no-such-dir/bot.log",),
        exit_code=2,
        skipped_lines=None,
        repaired_lines=None,
        untimed=None,
        stderr="Error: {dir}/no-such-dir/bot.log: no such file or directory\n",
    )

    many = dir / "many-files"
    many.mkdir(exist_ok=True)
    for i in range(10_000):
        (many / f"bot-{i:05d}.log").write_bytes(
            f"2024-03-18 02:{i // 60 % 60:02d}:{i % 60:02d},000 - bot - INFO - start {i}\n"
            f"2024-03-18 02:{i // 60 % 60:02d}:{i % 60:02d},500 - bot - ERROR - "
            f'{{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}}\n'.encode()
        )
    cases["many-files"] = Expectation(
        "10,000 small files in one directory: exact counts, in reasonable time",
        ("many-files",),
        codes={CLOCK: 10_000},
        files=10_000,
        lines=20_000,
    )

    indented = (
        b"    at Object.<anonymous> (/bot/node_modules/errors.js:12:7) status pending\n" * 100_000
    )
    _write(dir / "continuation-only.log", indented)
    cases["continuation-only"] = Expectation(
        "100,000 indented continuation lines and nothing else",
        ("continuation-only.log",),
        files=1,
        lines=100_000,
    )
    _write(dir / "continuation-then-events.log", indented + around())
    cases["continuation-then-events"] = Expectation(
        "the same 100,000 lines, then valid events (not swallowed into the indented record)",
        ("continuation-then-events.log",),
        codes=AROUND_CODES,
        files=1,
        lines=100_003,
    )

    tb = _traceback(5000)
    _write(
        dir / "deep-traceback.log",
        around(b"2024-03-18 02:10:30,000 - bot - ERROR - order failed", tb.encode()),
    )
    cases["deep-traceback"] = Expectation(
        "a traceback of 5,000 frames (its exception line 10,000 lines below the logged error)",
        ("deep-traceback.log",),
        codes={**AROUND_CODES, LOT: 1},
        files=1,
        lines=3 + 1 + tb.count("\n") + 1,
    )

    # "Filter failure: " repeated is a Binance message (an unknown filter name): one event.
    for name, unit in (
        ("braces", b"{"),
        ("code-keys", b'"code":'),
        ("code-objects", b'{"code":'),
        ("apierror", b"APIError(code="),
        ("filter-failure", b"Filter failure: "),
        ("backslash-quotes", b'\\"'),
    ):
        junk = (unit * (MB // len(unit) + 1))[:MB]
        # the message without its code names no code (-1013 and -2010 both carry it)
        codes = {**AROUND_CODES, (None, None): 1} if name == "filter-failure" else AROUND_CODES
        untimed = 0  # the line has no time of its own: it takes the timed line's before it
        _write(dir / f"{name}-1mb.log", around(junk))
        cases[f"{name}-1mb"] = Expectation(
            f"a 1 MB line of {unit.decode()!r} repeated: cut (over 64 KiB) and counted",
            (f"{name}-1mb.log",),
            codes=codes,
            files=1,
            lines=4,
            skipped_lines=1,
            untimed=untimed,
        )
        cases[f"{name}-1mb-whole"] = Expectation(
            "the same line kept whole (--max-line-bytes 2 MB): every regex sees 1 MB",
            (f"{name}-1mb.log",),
            args=("--max-line-bytes", str(2 * MB)),
            codes=codes,
            files=1,
            lines=4,
            skipped_lines=0,
            untimed=untimed,
        )
    return cases


def cleanup(dir: Path) -> None:
    """Undo what stops a plain recursive delete (shutil.rmtree recurses too): the chmod-000
    file, the very deep directories (removed bottom up, without recursion)."""
    locked = dir / "unreadable" / "locked.log"
    if locked.exists():
        locked.chmod(0o644)
    deep = dir / "deep-dirs"
    chain = [deep]
    while (chain[-1] / "d").is_dir():
        chain.append(chain[-1] / "d")
    for path in reversed(chain):
        for child in path.iterdir():
            if not child.is_dir():
                child.unlink()
        path.rmdir()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/hostile/corpus.py OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    cases = build_corpus(out)
    json.dump({name: e.to_json() for name, e in cases.items()}, sys.stdout, indent=2)
    print()
    print(f"{len(cases)} cases written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
