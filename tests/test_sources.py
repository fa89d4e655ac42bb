"""Sources: paths → sources, chunks of whole lines, compression, coverage counters."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

import pytest

from analyzer.errors import InputError
from analyzer.sources import Coverage, Source, expand, read_chunks, to_lines


def lines_of(
    source: Source, coverage: Coverage | None = None, chunk_bytes: int = 1 << 20
) -> list[str]:
    coverage = coverage or Coverage()
    out: list[str] = []
    for chunk in read_chunks(source, coverage, chunk_bytes=chunk_bytes):
        out.extend(to_lines(chunk, coverage, 1 << 16).to_list())
    return out


def test_directory_is_walked_sorted_and_markdown_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.log").write_text("z\n")
    (tmp_path / "a.log").write_text("a\n")
    (tmp_path / "README.md").write_text("docs\n")
    names = [s.name for s in expand([str(tmp_path)], Coverage())]
    assert names == [str(tmp_path / "a.log"), str(tmp_path / "b" / "z.log")]


def test_glob_and_duplicates(tmp_path: Path) -> None:
    for name in ("bot.log", "bot.log.1", "other.txt"):
        (tmp_path / name).write_text("x\n")
    pattern = str(tmp_path / "bot.log*")
    names = [s.name for s in expand([pattern, str(tmp_path / "bot.log")], Coverage())]
    assert names == [str(tmp_path / "bot.log"), str(tmp_path / "bot.log.1")]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        expand([str(tmp_path / "nope.log")], Coverage())
    with pytest.raises(InputError, match="no file matches"):
        expand([str(tmp_path / "*.nope")], Coverage())


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_inside_a_directory_is_a_warning(tmp_path: Path) -> None:
    secret = tmp_path / "locked.log"
    secret.write_text("x\n")
    secret.chmod(0)
    coverage = Coverage()
    assert expand([str(tmp_path)], coverage) == []
    assert "permission denied" in coverage.warnings[0]


def test_symlink_loop_is_warned_and_not_followed(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.log").write_text("a\n")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    coverage = Coverage()
    names = [s.name for s in expand([str(tmp_path)], coverage)]
    assert names == [str(tmp_path / "d" / "a.log")]
    assert any("symlink loop" in w for w in coverage.warnings)


@pytest.mark.parametrize("opener", [gzip.open, bz2.open, lzma.open])
def test_compressed_files_are_read_by_magic_bytes(tmp_path: Path, opener) -> None:
    path = tmp_path / "bot.log.1"  # no suffix: detected by content
    with opener(path, "wb") as handle:
        handle.write(b"one\ntwo\r\nthree")
    assert lines_of(Source(str(path))) == ["one", "two", "three"]


def test_truncated_gzip_keeps_what_was_read_and_warns(tmp_path: Path) -> None:
    body = "".join(f"line {i}\n" for i in range(20000)).encode()
    whole = gzip.compress(body)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[: len(whole) // 2])
    coverage = Coverage()
    lines = lines_of(Source(str(path)), coverage)
    assert 0 < len(lines) < 20000
    assert lines[0] == "line 0"
    assert "corrupt or truncated" in coverage.warnings[0]


def test_zero_byte_gzip_and_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "zero.gz").write_bytes(b"\x1f\x8b")
    coverage = Coverage()
    assert lines_of(Source(str(tmp_path / "empty.log")), coverage) == []
    assert lines_of(Source(str(tmp_path / "zero.gz")), coverage) == []
    assert coverage.files == 2


def test_lines_span_chunks_exactly(tmp_path: Path) -> None:
    text = "".join(f"{i:05d} {'x' * (i % 37)}\n" for i in range(3000))
    path = tmp_path / "bot.log"
    path.write_text(text)
    assert lines_of(Source(str(path)), chunk_bytes=1000) == text.splitlines()


def test_bom_crlf_invalid_utf8_and_nul(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    path.write_bytes(b"\xef\xbb\xbffirst\r\nbad \xff\xfe bytes\r\nnul\x00here\n")
    coverage = Coverage()
    assert lines_of(Source(str(path)), coverage) == [
        "first",
        "bad \ufffd\ufffd bytes",
        "nul\x00here",
    ]
    assert coverage.repaired_lines == 1


def test_overlong_lines_are_cut_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    path.write_bytes(b"short\n" + b"y" * 5000 + b"\nafter\n")
    coverage = Coverage()
    chunks = list(read_chunks(Source(str(path)), coverage))
    lines = [line for c in chunks for line in to_lines(c, coverage, 1000).to_list()]
    assert lines[0] == "short" and lines[2] == "after"
    assert len(lines[1].encode()) <= 1000
    assert coverage.skipped_lines == 1


def test_line_longer_than_a_chunk_does_not_grow_memory(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    path.write_bytes(b"a\n" + b"z" * 50_000 + b"\nb\n")
    coverage = Coverage()
    lines = lines_of(Source(str(path)), coverage, chunk_bytes=4096)
    assert lines[0] == "a" and lines[-1] == "b" and len(lines) == 3
    assert coverage.bytes == path.stat().st_size
