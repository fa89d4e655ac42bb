"""Fold lines into records: a log line plus its continuation lines, marked with vectorised flags.

A line that starts with a time (any layout of shapes.toml, indented or not) always starts a
record: a traceback cut off before its exception line ends at the next timed line, and
indented lines with their own times are records of their own. Any other line *continues* the
record above it when it is
- one of the GLUE_LINES lines after a timed line, or after an indented line that follows one
  (`… ERROR - Error submitting order …` then `OSError: … HTTP status is 400. Error: {…}`: one
  record, time from the first line; an exception message that goes on after its traceback);
- indented (traceback frames, pretty-printed JSON and print_r insides, `code:` lines) or blank;
- a fragment of a split message (": <msg>"), a quoted body line ("> …", "// …"), curl's
  verbose lines ("> GET …", "< HTTP/1.1 400 …", "* Connected …") or a line of an HTML error
  page ("<H1>403 ERROR</H1>");
- "Traceback (most recent call last):" or a chained-exception sentence
  ("During handling of the above exception…", "The above exception was the direct cause…");
- a Java exception header followed by "\tat …" frames, or a "Caused by: " line;
- PHP's "Stack trace:" and its "#0 /path…" frames;
- a bare label line ("ResponseBody:") right after an indented, closing, blank or label line:
  the next section of one dump (ccxt's verbose output);
- a closing bracket line ("}", "]", ")"), or a lone opener ("{", "[", "(", PHP's "Array");
- the exception line that ends a traceback (the first unindented line after the frames; the
  "Traceback" header may also end a log line, as in freqtrade's "… due to Traceback (most…").
Every other line starts a new record. A record yields one event per error it holds (see
fields.py), so a logged error followed by its traceback — chained blocks included — counts once.
"""

from __future__ import annotations

import polars as pl

from analyzer.extract.patterns import PREFILTER
from analyzer.extract.shapes import timed as starts_timed

# Lines of one record that are examined: a longer record (a huge indented dump, a deep
# traceback) keeps its first and its last MAX_RECORD_LINES // 2 lines. The end matters: a
# traceback's exception line, which carries the error, is the record's last line.
MAX_RECORD_LINES = 400
_HALF = MAX_RECORD_LINES // 2

# Continuation lines that need no context: indented or blank, traceback headers and chain
# sentences, closing brackets, a lone "(".
_CONTINUES = (
    r"^(?:[ \t\]})]|\z|[\[({]\z|Array\z|[<>*] |>\z|<\z|//|: |<[A-Za-z/!]|Traceback \(most recent call last\)"
    r"|During handling of the above exception|The above exception was the direct cause"
    r"|Caused by: |Stack trace:|#\d+ (?:/|\{main\}|\[internal))"
)
# A Java exception header (logback/log4j print it unindented right after the log line) is a
# continuation when stack frames ("\tat …") follow it.
_JAVA_EXCEPTION = r"^(?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)(?::|\z)"


_TB_HEAD = "Traceback (most recent call last):"
_PY_FRAME = r'^\s+File "'  # a Python traceback frame: '  File "/x.py", line 3, in f'
# A bare label line ("ResponseHeaders:", "ResponseBody:") after an indented or label line: the
# next section of one dump (ccxt's verbose request and response blocks).
# (ASCII word characters: a label is a client's English field name, and the Unicode class made
# this one pass nine times slower than the ASCII one.)
_LABEL = r"(?-u)^[A-Za-z][\w ]{0,40}:\z"
# Lines after a timed line that belong to its record even when nothing else says so.
GLUE_LINES = 5


def mark_records(lines: pl.DataFrame) -> pl.DataFrame:
    """Add `rid` (record id, increasing) and `cand` (line passes the prefilter) to (text, line).

    With a `src` column (lines of several files in one frame), a file's first line always
    starts a record: no record, and no traceback, runs on from one file into the next."""
    text = pl.col("text")
    # Each line is looked at once (one pass per regex over the strings); how a line relates to
    # its neighbours is then worked out on these flags, shifted, never on shifted strings.
    flags = lines.with_columns(
        _timed=starts_timed(text),
        cand=text.str.contains(PREFILTER),
        _cont=text.str.contains(_CONTINUES),
        _indent=text.str.contains(r"^[ \t]"),
        _label=text.str.contains(_LABEL),
        _java=text.str.contains(_JAVA_EXCEPTION),
        _at=text.str.contains(r"^\s+at "),
        _quiet=text.str.contains(r"^(?:[}\])]|\z)"),  # a closing bracket or an empty line
        _row=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    one_file = "src" not in lines.columns
    same_as_next = pl.lit(True) if one_file else pl.col("src").shift(-1) == pl.col("src")
    same_as_prev = pl.lit(True) if one_file else pl.col("src").shift(1) == pl.col("src")
    new_file = pl.lit(False) if one_file else (~same_as_prev).fill_null(False)
    java = pl.col("_java") & (pl.col("_at").shift(-1) & same_as_next).fill_null(False)
    # Glue counts from the last timed or indented line (a traceback's frames keep it going),
    # and only where the file has had a timed line.
    anchor: pl.Expr = pl.when(pl.col("_timed") | pl.col("_indent")).then(pl.col("_row"))
    last_timed: pl.Expr = pl.when(pl.col("_timed")).then(pl.col("_row"))
    if one_file:
        anchor, last_timed = anchor.forward_fill(), last_timed.forward_fill()
    else:
        anchor = anchor.forward_fill().over("src")
        last_timed = last_timed.forward_fill().over("src")
    glued = (last_timed.is_not_null() & (pl.col("_row") - anchor <= GLUE_LINES)).fill_null(False)
    after = pl.col("_indent") | pl.col("_quiet") | pl.col("_label")
    label = pl.col("_label") & (after.shift(1) & same_as_prev).fill_null(False)
    cont = (pl.col("_cont") | java | glued | label) & ~pl.col("_timed")
    marked = flags.with_columns(cont=cont & ~new_file)
    python_traceback = text.str.contains("Traceback (most recent call last)", literal=True) | (
        pl.col("_indent") & text.str.contains('File "', literal=True)
    )
    if marked.select(python_traceback.any()).item():
        marked = marked.with_columns(
            cont=(pl.col("cont") | (_traceback_end() & ~pl.col("_timed"))) & ~new_file
        )
    return marked.with_columns(rid=(~pl.col("cont")).cum_sum().cast(pl.Int64)).drop(
        "cont", "_timed", "_row", "_cont", "_indent", "_label", "_java", "_at", "_quiet"
    )


def _traceback_end() -> pl.Expr:
    """The exception line ending a traceback: unindented, right after an indented frame line,
    with a "Traceback" header (or a Python frame line) more recent than the last line that
    starts a record."""
    text = pl.col("text")
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    tb_head = text.str.ends_with(_TB_HEAD) | text.str.starts_with(_TB_HEAD)
    indented = pl.col("_indent")
    last_tb = pl.when(tb_head).then(row).forward_fill().shift(1)
    # A traceback cut off above its header (the log begins inside it) still has frames.
    last_frame = pl.when(text.str.contains(_PY_FRAME)).then(row).forward_fill().shift(1)
    last_plain = pl.when(~pl.col("cont")).then(row).forward_fill().shift(1)
    since = last_plain.fill_null(-1)
    return (
        ~pl.col("cont")
        & indented.shift(1, fill_value=False)
        & ((last_tb >= since).fill_null(False) | (last_frame >= since).fill_null(False))
    )


def first_line(text: pl.Expr) -> pl.Expr:
    """The text up to its first line break (all of it when it has none). (A split, not the
    regex ^([^\n]*): capturing made that 15 times slower, and a storm takes it per record.)"""
    return text.str.splitn("\n", 2).struct.field("field_0")


def split_tail(marked: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split off the last record (it may continue in the next chunk): (complete, tail)."""
    if marked.height == 0:
        return marked, marked
    last = marked["rid"][-1]
    cut = marked["rid"].search_sorted(last, side="left")
    return marked.slice(0, cut), marked.slice(cut)


def candidate_records(marked: pl.DataFrame) -> pl.DataFrame:
    """Join the lines of every record that has a candidate line: (rid, line, head, text, …)."""
    rids = marked.filter(pl.col("cand")).get_column("rid").unique()
    if rids.len() == 0:
        return pl.DataFrame(
            schema={
                "rid": pl.Int64,
                **({"src": pl.Int64} if "src" in marked.columns else {}),
                "line": pl.Int64,
                "line_end": pl.Int64,
                "head": pl.String,
                "text": pl.String,
                "outer_time": pl.String,
            }
        )
    carried = [pl.col("src").first()] if "src" in marked.columns else []
    columns = [*(["rid", "src"] if carried else ["rid"]), "line", "line_end", "head", "text"]
    rid = pl.col("rid")
    wanted = marked.filter(rid.is_in(rids.implode()))
    # A record of one line (most of them in a storm) is that line: no grouping, no joining.
    alone = (rid != rid.shift(1)).fill_null(True) & (rid != rid.shift(-1)).fill_null(True)
    # (Copied, not views into the batch's buffers: see _joined.)
    text = pl.col("text") + pl.lit("")
    singles = wanted.filter(alone).select(
        *columns[:-4],
        "line",
        line_end=pl.col("line"),
        head=text,
        text=text,
        outer_time=pl.col("outer_time") + pl.lit(""),
    )
    grouped = _joined(wanted.filter(~alone), carried, columns)
    return pl.concat([singles, grouped], how="vertical").sort("rid")


def _joined(marked: pl.DataFrame, carried: list[pl.Expr], columns: list[str]) -> pl.DataFrame:
    """The records of several lines, each joined into one text."""
    return (
        marked.group_by("rid", maintain_order=True)
        .agg(
            *carried,
            line=pl.col("line").first(),
            line_end=pl.col("line").last(),
            text=pl.col("text")
            .head(_HALF)
            .append(pl.col("text").slice(_HALF).tail(_HALF))
            .str.join("\n"),
            outer_time=pl.col("outer_time").first(),
        )
        # New strings, not views into the batch: a view (`first()`) would keep the whole batch's
        # text alive for as long as the record waits for extraction.
        .with_columns(
            head=first_line(pl.col("text")),
            outer_time=pl.col("outer_time") + pl.lit(""),
        )
        .select(*columns, "outer_time")
    )
