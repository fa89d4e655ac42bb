"""The planted-secret matrix: every secret shape (redact_shapes.toml) planted into every log
shape (shapes.toml), and cut points at every offset of the evidence and message limits, through
every command and format; no 8-character piece of a planted secret may reach any output.

Each secret sample gets a file holding every log sample with the secret planted after its
first line and after its last one (continuation lines indented, so they stay in the record).
Two more files put each secret across the evidence limit (2,000 characters of a line) and the
message limit (500) at every offset. The same files read with --no-redact show that the plants
do reach the events and the reports: the test could fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from analyzer import analyze_events
from analyzer.cli import main
from analyzer.extract import RAW_MAX_CHARS
from analyzer.extract.fields import MSG_MAX_CHARS
from analyzer.extract.shapes import load_shapes
from analyzer.options import Options
from analyzer.redact import redact_error
from analyzer.redact_shapes import SecretSample, load_secret_shapes

PIECE = 8  # no piece of a secret this long may be shown
NEXT = "2024-05-03 14:42:10,000 INFO bot: next"  # a timed line: the next record starts
ERROR = "2024-05-03 14:42:11,482 ERROR bot: APIError(code=-1013): "


def pieces(sample: SecretSample) -> list[str]:
    """The secrets of a sample, line by line (a wrapped or PEM secret is shown line by line)."""
    return [p.strip() for s in sample.secrets for p in s.split("\n") if len(p.strip()) >= PIECE]


def grams(texts: list[str]) -> list[str]:
    """Every 8-character piece of the texts."""
    return sorted({t[i : i + PIECE] for t in texts for i in range(len(t) - PIECE + 1)})


SECRET_SAMPLES = [
    (f"{shape.name}-{n}", sample)
    for shape in load_secret_shapes().shapes
    for n, sample in enumerate(shape.samples, 1)
]
ALL_GRAMS = grams([p for _, s in SECRET_SAMPLES for p in pieces(s)])


def log_samples() -> list[tuple[str, str]]:
    """(id, text) of every sample of shapes.toml; a time layout's line made an error line."""
    shapes = load_shapes()
    out = [
        (f"{shape.kind}:{shape.name}:{n}", sample.text)
        for shape in (*shapes.codes, *shapes.statuses, *shapes.clients)
        for n, sample in enumerate(shape.samples, 1)
    ]
    out += [
        (f"timestamp:{shape.name}:{n}", f"{sample.text} APIError(code=-2010): Insufficient")
        for shape in shapes.timestamps
        for n, sample in enumerate(shape.samples, 1)
    ]
    return out


def indented(text: str) -> str:
    """Continuation lines indented: they stay in the record they are planted in."""
    return "\n    ".join(text.split("\n"))


def plants(log_text: str, secret_text: str) -> Iterator[tuple[str, str]]:
    """The secret after the log sample's first line, and after its last."""
    first, _, rest = log_text.partition("\n")
    yield "first", f"{first} {indented(secret_text)}" + (f"\n{rest}" if rest else "")
    if rest:
        yield "last", f"{log_text} {indented(secret_text)}"


@dataclass
class Block:
    """Planted text and the lines it takes in its file."""

    path: str
    first: int
    last: int
    what: str
    grams: list[str] = field(default_factory=list)  # pieces that must reach the unredacted events
    column: str = "raw"  # the column they must reach


def write_blocks(path: Path, items: list[tuple[str, str, list[str], str]]) -> list[Block]:
    """Write (what, text, grams, column) items after a timed line each; their line spans (the
    timed line included: an untimed first line belongs to its record)."""
    blocks, lines = [], []
    for what, text, wanted, column in items:
        # four timed lines: no error is taken for an echo of the one before (ECHO_LINES)
        lines += [NEXT] * 4
        first = len(lines)
        lines += text.split("\n")
        blocks.append(Block(str(path), first, len(lines), what, wanted, column))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return blocks


def cut_items(limit: int, column: str) -> list[tuple[str, str, list[str], str]]:
    """Every piece on a secret sample's first line across `limit` at every offset: the first
    `offset` characters of the piece fall inside the evidence (or message), the rest outside.
    (A record over the evidence limit is quoted by its error's line alone, and a message is one
    line: the pieces on a sample's other lines are never cut, only shown whole or not at all.)"""
    items = []
    for sid, sample in SECRET_SAMPLES:
        first, _, rest = sample.text.partition("\n")
        more = f"\n    {indented(rest)}" if rest else ""
        for piece in [p for p in pieces(sample) if p in first]:
            at = first.index(piece)
            for offset in range(len(piece) + 1):
                head = ERROR + "Filter failure: LOT_SIZE " if column == "raw" else ERROR
                # the piece starts `offset` characters before the limit of the line (raw) or of
                # the message, which starts after ERROR
                start = limit - offset if column == "raw" else len(ERROR) + limit - offset
                pad = start - len(head) - at - 1
                line = f"{head}{'~' * pad} {first}"
                assert line.index(piece, len(head) + pad) == start
                wanted = [piece[offset - PIECE : offset]] if offset >= PIECE else []
                items.append((f"{sid} {column}@{limit}-{offset}", line + more, wanted, column))
    return items


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Block]]:
    root = tmp_path_factory.mktemp("planted")
    blocks: list[Block] = []
    logs = log_samples()
    for sid, sample in SECRET_SAMPLES:
        wanted = grams(pieces(sample))
        items = [
            (f"{sid} in {lid} ({where})", text, wanted, "raw")
            for lid, log_text in logs
            for where, text in plants(log_text, sample.text)
        ]
        blocks += write_blocks(root / f"{sid}.log", items)
    blocks += write_blocks(root / "cut-evidence.log", cut_items(RAW_MAX_CHARS, "raw"))
    blocks += write_blocks(root / "cut-message.log", cut_items(MSG_MAX_CHARS, "msg"))
    return root, blocks


def events_of(root: Path, redact: bool) -> pl.DataFrame:
    events, _ = analyze_events([str(root)], Options(redact=redact))
    return events


def found_grams(texts: list[str]) -> list[str]:
    """The planted pieces that occur in the texts."""
    if not texts:
        return []
    hay = pl.Series(texts, dtype=pl.String)
    return [g for g in ALL_GRAMS if hay.str.contains(g, literal=True).any()]


def test_the_matrix_covers_every_secret_log_shape_and_cut(planted) -> None:
    _, blocks = planted
    logs = log_samples()
    shapes = load_shapes()
    every = {f"{s.kind}:{s.name}" for s in shapes.every()}
    assert {lid.rsplit(":", 1)[0] for lid, _ in logs} == every
    assert len(logs) == sum(len(s.samples) for s in shapes.every())
    assert {sid.rsplit("-", 1)[0] for sid, _ in SECRET_SAMPLES} == {
        s.name for s in load_secret_shapes().shapes
    }
    matrix = [b for b in blocks if " in " in b.what]
    assert len(matrix) >= len(SECRET_SAMPLES) * len(logs)
    offsets = sum(
        len(p) + 1 for _, s in SECRET_SAMPLES for p in pieces(s) if p in s.text.split("\n")[0]
    )
    assert offsets > 1500
    assert sum("raw@2000" in b.what for b in blocks) == offsets
    assert sum("msg@500" in b.what for b in blocks) == offsets


def test_no_piece_of_a_secret_in_any_event(planted) -> None:
    root, _ = planted
    events = events_of(root, redact=True)
    texts = [
        v
        for name, dtype in events.schema.items()
        if dtype == pl.String
        for v in events[name].drop_nulls().to_list()
    ]
    assert len(texts) > 10_000
    assert found_grams(texts) == []


def test_unredacted_the_plants_reach_their_events(planted) -> None:
    # The same files with --no-redact: the planted secrets are in their events' evidence (or
    # message), so the test above looks where secrets would be. Every cut point reaches its
    # event. A few plants cannot: in a record of 8 lines or more only the error's own line is
    # quoted, and a planted Telegram URL makes a bare status another host's (no event).
    root, blocks = planted
    events = events_of(root, redact=False).select("path", "line", "raw", "msg")
    missing = []
    for block in blocks:
        if not block.grams:
            continue
        mine = events.filter(
            (pl.col("path") == block.path) & pl.col("line").is_between(block.first, block.last)
        )
        texts = mine[block.column].drop_nulls().to_list()
        if not any(g in t for g in block.grams for t in texts):
            missing.append(block.what)
    assert [what for what in missing if " in " not in what] == []  # every cut point
    matrix = [b for b in blocks if " in " in b.what]
    assert len(missing) <= 0.05 * len(matrix), missing
    for sid, _ in SECRET_SAMPLES:
        mine = [what for what in missing if what.startswith(f"{sid} in ")]
        assert len(mine) <= 0.2 * len(log_samples()), mine


COMMANDS = {
    "report-text": ["report", "--color", "always"],
    "report-json": ["report", "-f", "json"],
    "report-markdown": ["report", "-f", "markdown"],
    "check-text": ["check"],
    "check-github": ["check", "-f", "github"],
    "check-junit": ["check", "-f", "junit"],
    "check-json": ["check", "-f", "json"],
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """stdout and stderr of one run."""
    with pytest.raises(SystemExit):
        main(args)
    out, err = capsys.readouterr()
    return out + err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_piece_of_a_secret_in_any_command_output(
    command: str, planted, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = planted
    written = tmp_path / "out"
    shown = run([*COMMANDS[command], "-o", str(written), str(root)], capsys)
    outputs = [shown, written.read_text(encoding="utf-8")]
    if command.startswith("report"):  # (check's formats quote no log text)
        assert "<redacted:" in outputs[1]
    assert found_grams(outputs) == []


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_unredacted_reports_show_plants(
    fmt: str, planted, capsys: pytest.CaptureFixture[str]
) -> None:
    # A report quotes a few events per finding: unredacted, the planted secrets of many
    # samples are shown in every format (every sample's reach their events: see above).
    root, _ = planted
    files = [str(root / f"{sid}.log") for sid, _ in SECRET_SAMPLES]
    shown = set(found_grams([run(["report", "--no-redact", "-f", fmt, *files], capsys)]))
    visible = [sid for sid, s in SECRET_SAMPLES if set(grams(pieces(s))) & shown]
    assert len(visible) >= 12, visible


# --- values echoed in errors ----------------------------------------------------------------

# A piece that is recognisable on its own (a token's own shape, a random-looking run): an
# option value or a file name made of it is never echoed. A password out of context (hunter2)
# cannot be told from a typo and is echoed as typed.
ALONE = sorted(
    {
        p
        for _, s in SECRET_SAMPLES
        for p in pieces(s)
        if " " not in p and not [g for g in grams([p]) if g in redact_error(p)]
    }
)
ECHOES = {
    "--tz": lambda v: ["report", "--tz", v, "x.log"],
    "--since": lambda v: ["report", "--since", v, "x.log"],
    "--until": lambda v: ["check", "--until", v, "x.log"],
    "--code": lambda v: ["check", "--code", v, "x.log"],
    "--format": lambda v: ["report", "-f", v, "x.log"],
    "--width": lambda v: ["report", "--width", v, "x.log"],
    "--max-line-bytes": lambda v: ["report", f"--max-line-bytes={v}", "x.log"],
    "--fail-on": lambda v: ["check", "--fail-on", v, "x.log"],
    "codes": lambda v: ["codes", v],
    "extra argument": lambda v: ["codes", "a", v],
    "path": lambda v: ["report", f"missing-{v.replace('/', '_')}.log"],
}


def test_tokens_of_every_kind_are_recognised_alone() -> None:
    kinds = {sid.rsplit("-", 1)[0] for sid, s in SECRET_SAMPLES if set(pieces(s)) & set(ALONE)}
    assert {"telegram", "github", "gitlab", "slack", "jwt", "vendor", "bare"} <= kinds


@pytest.mark.parametrize("where", sorted(ECHOES))
def test_no_piece_of_a_secret_in_an_echoed_error(
    where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    leaked = {}
    for value in ALONE:
        shown = run(ECHOES[where](value), capsys)
        assert shown.startswith("Error: ") or "\nError: " in shown, shown
        if found := [g for g in grams([value]) if g in shown]:
            leaked[value] = found
    assert leaked == {}


def test_the_error_test_can_fail(capsys: pytest.CaptureFixture[str]) -> None:
    # an ordinary value is echoed as typed: the check above would see a secret
    assert "Europe/Berlinn" in run(ECHOES["--tz"]("Europe/Berlinn"), capsys)
