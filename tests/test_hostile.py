"""Hostile input through the real entry point: never a crash, never a lost event, exact counts.

Every case of tests/hostile/corpus.py runs as `bnlog report -f json …` via `analyzer.cli.main`
(with its error boundary); the exit code, stderr and the JSON totals/codes are compared exactly.
Then write safety: -o never overwrites an input, nothing but --output is written, no network.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostile.corpus import E_BALANCE, E_CLOCK, Expectation, build_corpus, cleanup  # noqa: E402

from analyzer.cli import main  # noqa: E402

MANY_FILES_SECONDS = 60  # 10,000 files on a 2-core CI runner (about 2 s on a laptop)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expectation]]:
    root = tmp_path_factory.mktemp("hostile")
    cases = build_corpus(root)
    yield root, cases
    cleanup(root)  # leave nothing pytest's own clean-up cannot delete


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The real entry point with its error boundary: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


CASES = [
    "empty",
    "gzip-zero-byte",
    "gzip-magic-only",
    "gzip-truncated",
    "invalid-utf8-nul",
    "long-line",
    "long-line-raised-limit",
    "longer-than-a-chunk",
    "magic-lookalikes",
    "crlf-bom",
    "deep-json",
    "deep-json-docker",
    "absurd-numbers",
    "impossible-timestamps",
    "century-apart",
    "binary-garbage",
    "binary-random",
    "unreadable-file",
    "symlink-loop",
    "odd-file-names",
    "deep-directories",
    "nonexistent",
    "many-files",
    "continuation-only",
    "continuation-then-events",
    "deep-traceback",
    *(
        f"{name}-1mb{whole}"
        for name in (
            "braces",
            "code-keys",
            "code-objects",
            "apierror",
            "filter-failure",
            "backslash-quotes",
        )
        for whole in ("", "-whole")
    ),
]


def test_every_corpus_case_is_tested(corpus) -> None:
    _, cases = corpus
    assert sorted(cases) == sorted(CASES)


@pytest.mark.parametrize("name", CASES)
def test_hostile_case(name: str, corpus, capsys) -> None:
    root, cases = corpus
    expect = cases[name]
    if expect.skip:
        pytest.skip(expect.skip)
    started = time.perf_counter()
    code, out, err = run_main(
        ["report", "-f", "json", *expect.args, *(str(root / p) for p in expect.paths)], capsys
    )
    elapsed = time.perf_counter() - started
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == expect.exit_code, err
    if expect.stderr is not None:
        assert err == expect.stderr.format(dir=root)
    if code != 0:
        assert out == ""
        return
    warnings = [line.removeprefix("warning: ") for line in err.splitlines()]
    assert all(line.startswith("warning: ") for line in err.splitlines()), err
    assert len(warnings) == len(expect.warnings), warnings
    for warning, wanted in zip(warnings, expect.warnings, strict=True):
        assert wanted in warning
    data = json.loads(out)
    totals = data["totals"]
    codes = Counter({(c["code"], c["http_status"]): c["count"] for c in data["codes"]})
    assert codes == Counter(expect.codes)
    assert totals["events"] == expect.events
    for key in ("files", "lines", "skipped_lines", "repaired_lines"):
        wanted = getattr(expect, key)
        if wanted is not None:
            assert totals[key] == wanted, key
    if expect.untimed is not None:
        assert data["timeline"]["untimed"] == expect.untimed
    assert data["warnings"] == warnings
    if name == "many-files":
        assert elapsed < MANY_FILES_SECONDS


def test_crlf_and_bom_leave_no_trace_in_messages(corpus) -> None:
    from analyzer import analyze_events

    root, _ = corpus
    events, _ = analyze_events([str(root / "crlf-bom.log")])
    assert events["line"].to_list() == [1, 3, 4]
    assert not any(m.endswith("\r") or m.startswith("\ufeff") for m in events["msg"].drop_nulls())
    assert events["ts"].null_count() == 0


def test_impossible_timestamps_are_null_not_guessed(corpus) -> None:
    from analyzer import analyze_events

    root, _ = corpus
    events, _ = analyze_events([str(root / "impossible-timestamps.log")])
    bad = events.filter(events["code"] == -1022)
    assert bad["line"].to_list() == [2, 3, 4, 5, 6, 7]
    assert bad["ts"].null_count() == 6


# --- write safety -----------------------------------------------------------------------------


def _snapshot(top: Path) -> dict[str, tuple[int, int]]:
    """Every path below `top` with its size and mtime (ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            # a directory's mtime changes when anything is created in it, even a file removed again
            out[str(path.relative_to(top))] = (
                (0, 0) if path.is_dir() else (st.st_size, st.st_mtime_ns)
            )
    return out


def test_output_over_an_input_is_refused(tmp_path: Path, capsys) -> None:
    log = tmp_path / "bot.log"
    log.write_text(E_CLOCK + "\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    inner = logs / "inner.log"
    inner.write_text(E_BALANCE + "\n")
    link = tmp_path / "link.log"
    link.symlink_to(log)
    before = _snapshot(tmp_path)
    for target, inputs in (
        (log, [log]),
        (link, [log]),  # the same file by another name
        (log, [link]),
        (inner, [logs]),  # a file inside an input directory
    ):
        code, out, err = run_main(["report", "-o", str(target), *map(str, inputs)], capsys)
        assert (code, out) == (2, "")
        assert (
            err
            == f"Error: {target}: refusing to overwrite an input file (choose another --output)\n"
        )
    assert _snapshot(tmp_path) == before


def test_nothing_but_output_is_written(tmp_path: Path, capsys, monkeypatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "bot.log").write_text(E_CLOCK + "\n" + E_BALANCE + "\n")
    monkeypatch.chdir(work)
    before = _snapshot(tmp_path)
    code, out, err = run_main(["report", "-f", "markdown", "-o", "report.md", "bot.log"], capsys)
    assert (code, out, err) == (0, "", "")
    after = _snapshot(tmp_path)
    assert set(after) - set(before) == {"work/report.md"}
    assert {k: v for k, v in after.items() if k != "work/report.md"} == before


def test_no_network_connection_over_the_whole_corpus(corpus, capsys, monkeypatch) -> None:
    root, cases = corpus
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network access during analysis")

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))
    files = {
        str(root / p): e.files
        for e in cases.values()
        if e.exit_code == 0 and not e.skip
        for p in e.paths
    }
    # the text report, chart included, over every case at once
    code, out, err = run_main(
        ["report", "--color", "never", "--max-line-bytes", str(2 << 20), *sorted(files)], capsys
    )
    assert code == 0, err
    assert "Traceback" not in err
    assert attempts == []
    assert f" {sum(files.values())} files · " in out
