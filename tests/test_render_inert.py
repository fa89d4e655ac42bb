"""Output is inert: what logs and file names bring never acts on a terminal, an XML parser or a
Markdown renderer, and file names are redacted wherever a path is printed.

A hand-built Report carries hostile text in every field that comes from a log or a file name
(escape sequences, NUL, C1 CSI, bidi overrides, lone surrogates, `]]>`, backtick runs, links,
images, HTML, autolinks, a secret in a directory name); every renderer is checked against it,
then the real entry point on a hostile directory.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.check import check
from analyzer.cli import main
from analyzer.detectors import Evidence, Finding
from analyzer.redact import REDACTION_MARKER_RE
from analyzer.render import Style, renderers
from analyzer.render.ci import CHECK_FORMATS, github, junit, summary
from analyzer.render.inert import escape_controls
from analyzer.render.markdown import code_span, plain_text
from analyzer.render.text import evidence_line
from analyzer.report import CodeRow, OtherRow, Report, Timeline, Totals
from analyzer.schema import Severity

SECRET = "Zq7Lm2Xv9Rt4Wn8Kp3Hs6Jd1Fg5Bc0Ya7Ue2Io9Pl4Mk8Nj3Hb6Gv1Fc5Dx0Sz7Q"  # 64 chars
ESC_PATH = f"logs/d\x1b[31mir\n/apikey={SECRET}/FAKE\x07.log"  # ESC, newline, a secret dir, BEL
SHOWN_PATH = "logs/d\\x1b[31mir\\n/apikey=<redacted:"  # how it starts once inert
OTHER_PATH = f"logs/token={SECRET}/other.log"
NASTY = (
    "t\x1b[2J\x1b]0;pwned\x07 csi\x9b31m nul\x00 del\x7f bidi\u202eevil\u2066 "
    "sur\udcff nonchar\ufffe vt\x0bff\x0c tab\there ]]> ``` `one` "
    "[x](http://evil.example/a) ![i](https://evil.example/i.png) <img src=x> "
    "<https://evil.example/b> www.evil.example mail@evil.example &amp; \\[y](http://evil.example) pipe|cell"
)
# What none of the outputs may contain raw: C0 controls but the newline, DEL, C1 controls, bidi
# overrides, lone surrogates and the non-characters XML forbids.
RAW_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufffe\uffff]"
)
SGR = re.compile(r"\x1b\[[0-9;]*m")  # bnlog's own colours (text with --color)
WHEN = datetime(2025, 1, 20, 10, 14, 6, tzinfo=UTC)


def hostile_report(*, redacted: bool = True, nasty: str = NASTY, path: str = ESC_PATH) -> Report:
    """A report whose every log- or file-derived text is hostile."""
    finding = Finding(
        kind="filter_violation",
        severity=Severity.ERROR,
        title=f"3 failures on SOL\x1b[8mUSD {nasty}",
        count=3,
        first_seen=WHEN,
        last_seen=WHEN,
        symbols=("SOL\x1b[0mUSD", "[a](http://evil.example)"),
        codes=(-1013,),
        evidence=(
            Evidence(path=path, line=7, text=f"line one {nasty}\nline\ttwo\r\nthree"),
            Evidence(path="plain.log", line=8, text="`` ``` ```` tail`"),
        ),
        fix=f"Round down.\nParameters named in the errors: {nasty} (1).",
        details={"hosts": {f"h\x1b[2Jost{nasty}": 1}, "messages": [nasty]},
        impact=3.0,
    )
    return Report(
        totals=Totals(files=2, lines=10, bytes=100, events=3, skipped_lines=0),
        verdict="degraded",
        findings=(finding,),
        codes=(
            CodeRow(
                code=-1013,
                http_status=None,
                count=3,
                category="filter",
                reason=f"filter:{nasty}",
                severity="error",
                known=False,
                fix=f"Fix it.\n{nasty}",
            ),
        ),
        timeline=Timeline(bucket="", starts=(), series={}),
        first_seen=WHEN,
        last_seen=WHEN,
        clients=("ccxt",),
        warnings=(f"{path}: permission denied, skipped", f"w {nasty}"),
        redacted=redacted,
        other=(
            OtherRow(
                kind="transport",
                count=2,
                message=f"timeout {nasty}",
                first_seen=WHEN,
                last_seen=WHEN,
                example=f"{OTHER_PATH}:3: {nasty}",
            ),
        ),
        other_count=2,
    )


def all_outputs(report: Report, *, color: bool = False) -> dict[str, str]:
    """Every report format and every check format for `report`."""
    style = Style(color=color, width=100, chart=False)
    outputs = {f"report-{name}": render(report, style) for name, render in renderers().items()}
    result = check(report, Severity.WARNING)
    outputs.update({f"check-{name}": render(result) for name, render in CHECK_FORMATS.items()})
    return outputs


def readable(out: str) -> str:
    """`out` with GitHub's %3A and XML's &lt; &gt; read back (a marker is `<redacted:…>`)."""
    return out.replace("%3A", ":").replace("&lt;", "<").replace("&gt;", ">")


def fragments(secret: str, size: int = 8) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


# -- escaping itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("\x00", "\\x00"),
        ("\x07", "\\x07"),
        ("\x7f", "\\x7f"),
        ("\x9b31m", "\\x9b31m"),
        ("\t\r\n", "\\t\\r\\n"),
        ("a\u202eb", "a\\u202eb"),
        ("\udcff", "\\udcff"),
        ("\ufffe", "\\ufffe"),
        ("plain é ✓ ⏎ text", "plain é ✓ ⏎ text"),
    ],
)
def test_escape_controls_shows_each_control_escaped(raw: str, shown: str) -> None:
    assert escape_controls(raw) == shown


def test_escape_controls_keeps_only_what_it_is_told() -> None:
    assert escape_controls("a\nb\x1bc", keep="\n") == "a\nb\\x1bc"


# -- terminal: text report, check summary, GitHub annotations ------------------------------------


@pytest.mark.parametrize("name", ["report-text", "check-text", "check-github"])
def test_terminal_outputs_carry_no_raw_control_character(name: str) -> None:
    out = all_outputs(hostile_report())[name]
    assert not RAW_UNSAFE.findall(out)
    assert "\\x1b[31m" in out  # the file name's escape sequence, shown


def test_text_report_escape_sequences_are_only_its_own_colours() -> None:
    out = all_outputs(hostile_report(), color=True)["report-text"]
    assert SGR.search(out), "colour was asked for"
    assert "\x1b" not in SGR.sub("", out)  # every other ESC came from the data and is escaped
    assert "\\x1b[2J" in out and "\\x1b]0;pwned\\x07" in out and "\\x9b31m" in out


def test_text_report_a_file_name_cannot_start_a_line_of_its_own() -> None:
    out = all_outputs(hostile_report())["report-text"]
    assert not [line for line in out.splitlines() if line.lstrip().startswith("/apikey")]
    assert SHOWN_PATH in out


def test_text_report_folds_evidence_then_escapes_what_is_left() -> None:
    assert evidence_line("line one\nline\ttwo\r\nthree", 100) == "line one ⏎ line\\ttwo ⏎ three"
    out = all_outputs(hostile_report())["report-text"]
    # too long to fold whole: the last line (where a traceback's exception is) is shown
    assert "\n       three\n" in out
    assert not RAW_UNSAFE.findall(out)


def test_github_annotations_are_one_command_per_line() -> None:
    out = github(check(hostile_report(), Severity.WARNING))
    lines = out.splitlines()
    assert len(lines) == 2  # one annotation, then the summary line
    assert lines[0].startswith("::error file=" + SHOWN_PATH.replace(":", "%3A"))
    assert lines[1].startswith("bnlog check: FAIL")


def test_github_step_summary_is_inert() -> None:
    from analyzer.render.ci import step_summary

    out = step_summary(check(hostile_report(), Severity.WARNING))
    assert not RAW_UNSAFE.findall(out) and SECRET[:8] not in out
    outside_code = re.sub(r"(`+).*?\1", "", out)
    assert "](http://evil" not in outside_code  # log text makes no link


def test_summary_marks_the_failing_finding_after_escaping() -> None:
    report = hostile_report()
    where = SHOWN_PATH  # the location comes first (path:line:), escaped and redacted
    assert summary(check(report, Severity.ERROR)).startswith(where)
    assert ">:7: FAIL [error] filter_violation: " in summary(check(report, Severity.ERROR))
    assert ">:7: pass [error] filter_violation: " in summary(check(report, Severity.CRITICAL))


def test_cli_warnings_and_errors_on_stderr_are_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bot.log").write_text("2025-01-20 10:14:06,771 INFO fine\n", encoding="utf-8")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "broken\x1b[2J\nFAKE.log").symlink_to(tmp_path / "missing")
    with pytest.raises(SystemExit) as done:
        main(["report", "--no-chart", "d", "bot.log"])
    assert done.value.code == 0
    out, err = capsys.readouterr()
    assert "warning: d/broken\\x1b[2J\\nFAKE.log: " in err
    assert not RAW_UNSAFE.findall(err + out)
    with pytest.raises(SystemExit) as done:
        main(["report", "nothing\x1b]0;x\x07.log"])
    assert done.value.code == 2
    _, err = capsys.readouterr()
    assert err.startswith("Error: nothing\\x1b]0;x\\x07.log")
    assert not RAW_UNSAFE.findall(err)


def test_cli_report_of_a_hostile_directory_is_inert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "d\x1b[31mir" / f"apikey={SECRET}"
    folder.mkdir(parents=True)
    line = (
        "2025-01-20 10:14:06,771 ERROR \x1b[2J\x1b]0;pwned\x07 grid: SOL/USD buy rejected: "
        'ccxt.base.errors.InvalidOrder: binanceus {"code":-1013,"msg":"Filter failure: LOT_SIZE"}'
    )
    (folder / "bot\x1b[8m.log").write_text(line + "\n", encoding="utf-8")
    for fmt in ("text", "markdown", "json"):
        with pytest.raises(SystemExit):
            main(["report", "-f", fmt, "--no-chart", "--color", "never", "."])
        out, err = capsys.readouterr()
        assert "-1013" in out, fmt
        assert "\x1b" not in out + err, fmt
        assert not fragments(SECRET) & {out[i : i + 8] for i in range(len(out))}, fmt
    for fmt in ("text", "github", "junit"):
        with pytest.raises(SystemExit):
            main(["check", "-f", fmt, "."])
        out, err = capsys.readouterr()
        assert "\x1b" not in out + err, fmt
        assert "d\\x1b[31mir/apikey=<redacted" in readable(out), fmt
        assert SECRET[:8] not in out, fmt


# -- JUnit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fail_on", [Severity.WARNING, Severity.CRITICAL])  # failure / system-out
def test_junit_stays_well_formed_xml_with_any_bytes(fail_on: Severity) -> None:
    out = junit(check(hostile_report(), fail_on))
    suite = ET.fromstring(out.encode("utf-8"))  # encodes: no lone surrogate left
    case = suite.find("testcase")
    assert case is not None
    node = case.find("failure" if fail_on == Severity.WARNING else "system-out")
    assert node is not None and node.text is not None
    body = node.text
    assert "]]>" in body and "``` `one`" in body  # the text survives as text
    assert "\\x00" in body and "\\x1b[2J" in body and "\\udcff" in body and "\\ufffe" in body
    assert SHOWN_PATH[5:] in body and SECRET[:8] not in out
    # the name is the finding's fingerprint: its symbols escaped too
    assert (case.get("name") or "").startswith("filter_violation -1013 SOL\\x1b[0mUSD,")


@given(st.text(st.characters(exclude_categories=())))  # lone surrogates too
def test_every_output_is_inert_whatever_the_text(text: str) -> None:
    outputs = all_outputs(hostile_report(nasty=text, path=text + "/bot.log"))
    for name, out in outputs.items():
        out.encode("utf-8")  # printable: no lone surrogate left
        assert not RAW_UNSAFE.findall(out), name
    assert ET.fromstring(outputs["check-junit"].encode("utf-8")).tag == "testsuite"
    data = json.loads(outputs["report-json"])
    assert data["findings"][0]["evidence"][0]["text"].startswith(f"line one {text}")


# -- Markdown ------------------------------------------------------------------------------------


def span_content(md: str) -> str:
    """The content of the code span `md` must be, by CommonMark's rule: the opening backtick
    run is closed by the first later run of exactly the same length, which must end `md`."""
    fence = re.match(r"`+", md)
    assert fence, md
    n = len(fence.group(0))
    closer = next(m for m in re.finditer(r"`+", md[n:]) if len(m.group(0)) == n)
    assert n + closer.end() == len(md), f"closed early: {md!r}"
    inner = md[n : n + closer.start()]
    if len(inner) > 2 and inner[0] == inner[-1] == " " and inner.strip(" "):
        inner = inner[1:-1]
    return inner


@given(st.text(alphabet=st.sampled_from("`a \\|"), min_size=1))
def test_code_span_cannot_be_closed_by_its_text(text: str) -> None:
    assert span_content(code_span(text)) == text


def test_code_span_fence_is_longer_than_any_run_inside() -> None:
    assert code_span("a ``` b ```` c") == "`````a ``` b ```` c`````"
    assert code_span(" ` ") == "``  `  ``" and code_span("  ") == "`  `"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("plain") == "`plain`"


def unescape(md: str) -> str:
    """CommonMark's backslash escapes undone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", md)


@given(st.text(alphabet=st.sampled_from("[]()!<>&`\\:/wW. xh")))
def test_plain_text_reads_back_as_the_same_text(text: str) -> None:
    assert unescape(plain_text(text)) == text


def test_plain_text_has_no_link_image_html_or_autolink() -> None:
    md = plain_text(NASTY)
    assert "\\[x\\](http\\://evil.example/a)" in md
    assert "\\!\\[i\\](https\\://evil.example/i.png)" in md
    assert "\\<img src=x>" in md and "\\<https\\://evil.example/b>" in md
    assert "www\\.evil.example" in md and "`mail@evil.example`" in md  # GFM links any e-mail
    assert "\\&amp;" in md and "\\\\\\[y\\]" in md
    outside = re.sub(r"(?<![`\\])(`+)(?!`).+?(?<!`)\1(?!`)", "", md)  # real code spans
    assert not re.search(r"(?<!\\)[\[<!`]|(?<!\\)://|(?i:www)\.", outside)


def test_markdown_report_evidence_and_messages_are_code_or_plain_text() -> None:
    md = all_outputs(hostile_report())["report-markdown"]
    assert not RAW_UNSAFE.findall(md)
    evidence = [line for line in md.splitlines() if line.startswith("- `")]
    assert len(evidence) == 2
    for line in evidence:  # "- `path:line` `text`": two spans, each closed only at its end
        spans = re.fullmatch(r"- ((`+).*?(?<!`)\2(?!`)) (`.*)", line)
        assert spans, line
        where, text = spans.group(1, 3)
        assert span_content(where).endswith((">:7", "plain.log:8"))
        assert span_content(text)
    assert "- `plain.log:8` ````` `` ``` ```` tail` `````" in md  # a fence of 5 beats a run of 4
    for line in md.splitlines():
        if line.startswith(("- `", "| 2 | ", "```")):
            continue  # code spans (checked above) and the other-errors row (below)
        body = re.sub(r"^### \d+\. \[\w+\] ", "", line)  # the heading's own [severity]
        body = re.sub(r"(`+)(?!`).+?(?<!`)\1(?!`)", "", body)
        assert not re.search(r"(?<!\\)[\[<]|(?<!\\)!\[|(?<!\\)://", body), line
    other = next(line for line in md.splitlines() if line.startswith("| 2 | "))
    assert "pipe\\|cell" in other  # GFM splits cells at a bare | even inside code spans
    cells = re.split(r"(?<!\\)\|", other)
    assert len(cells) == 6  # | count | kind | message | example | -- no cell split by the text


# -- file names redacted wherever a path is printed ----------------------------------------------


def test_every_output_redacts_secrets_in_file_and_directory_names() -> None:
    for name, out in all_outputs(hostile_report()).items():
        shown = {out[i : i + 8] for i in range(len(out) - 7)}
        assert not fragments(SECRET) & shown, name
        assert REDACTION_MARKER_RE.search(readable(out)), name


def test_json_keeps_the_text_exact_but_escapes_what_a_terminal_acts_on() -> None:
    out = all_outputs(hostile_report())["report-json"]
    assert not RAW_UNSAFE.findall(out)
    data = json.loads(out)
    evidence = data["findings"][0]["evidence"][0]
    assert evidence["text"] == f"line one {NASTY}\nline\ttwo\r\nthree"  # the data, unchanged
    assert evidence["path"].startswith("logs/d\x1b[31mir\n/apikey=<redacted:")
    assert SECRET not in data["other_errors"]["top"][0]["example"]


def test_no_redact_shows_file_names_as_they_are_but_still_escaped() -> None:
    out = all_outputs(hostile_report(redacted=False))["report-text"]
    # a path longer than the line keeps its end (the file name), escaped, not redacted
    assert f"…31mir\\n/apikey={SECRET}/FAKE\\x07.log:7" in out
    assert not RAW_UNSAFE.findall(out)
