"""Baseline: the plain-Python line loop a careful person would write instead of bnlog.

    python benchmarks/baseline_loop.py FILE        # FILE may be gzip-compressed (name ends .gz)

Reads FILE line by line (through the gzip module when its name ends in .gz), skips lines that cannot be an error (one compiled trigger regex),
extracts code, msg and HTTP status with `re` for the shapes in shared/domain.md section (c),
and prints JSON counts (events, per code, per HTTP status) on stdout. No folding of multi-line
events: a traceback counts once because only its last line carries the code.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections import Counter

# A line must contain one of these to be looked at further.
TRIGGER = re.compile(r"code|APIError|HTTP status is|Error: |[A-Z]\w+: binance(?:us)? ")

# Binance code + message.
JSON_BODY = re.compile(r'"code":\s*(-?\d+),\s*"msg":\s*"((?:[^"\\]|\\.)*)"')
API_ERROR = re.compile(r"APIError\(code=(-?\d+)\): (.*)")
CONNECTOR = re.compile(
    r"Found error\. status: (\d{3}), error code: (-?\d+|None), error message: (.*)"
)
# HTTP status without (or beside) a code.
HB_HTTP = re.compile(r"HTTP status is (\d{3})\. Error: (.*)")
WS_STATUS = re.compile(r'"status":\s*(\d{3}),\s*"error"')
CCXT_HTTP = re.compile(r"binance(?:us)? (?:(?:GET|POST|PUT|DELETE) \S+ )?([45]\d\d) ([A-Za-z' ]+)")
# ccxt message-matched exceptions carry only "<exchange id> <msg>".
CCXT_MSG = re.compile(r"(?:ccxt\.base\.errors\.)?[A-Z]\w+: binance(?:us)? (.+)$")


def extract(line: str) -> tuple[int | None, str | None, int | None] | None:
    """(code, msg, http) for an error line, or None when the line is not one."""
    code: int | None = None
    msg: str | None = None
    http: int | None = None
    m = JSON_BODY.search(line)
    if m:
        code, msg = int(m.group(1)), m.group(2)
    elif m := API_ERROR.search(line):
        code, msg = int(m.group(1)), m.group(2)
    elif m := CONNECTOR.search(line):
        http, msg = int(m.group(1)), m.group(3)
        code = None if m.group(2) == "None" else int(m.group(2))
    if http is None:
        if m := HB_HTTP.search(line):
            http = int(m.group(1))
            msg = msg or m.group(2)
        elif m := WS_STATUS.search(line):
            http = int(m.group(1))
        elif m := CCXT_HTTP.search(line):
            http = int(m.group(1))
    if code is None and http is None and msg is None and (m := CCXT_MSG.search(line)):
        msg = m.group(1)
    if code is None and http is None and msg is None:
        return None
    return code, msg, http


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: baseline_loop.py FILE", file=sys.stderr)
        return 2
    started = time.perf_counter()
    lines = events = 0
    by_code: Counter[str] = Counter()
    by_http: Counter[str] = Counter()
    trigger = TRIGGER.search
    path = argv[0]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            lines += 1
            if not trigger(line):
                continue
            found = extract(line)
            if found is None:
                continue
            code, _msg, http = found
            events += 1
            by_code["none" if code is None else str(code)] += 1
            if http is not None:
                by_http[str(http)] += 1
    result = {
        "lines": lines,
        "events": events,
        "by_code": dict(by_code.most_common()),
        "by_http": dict(by_http.most_common()),
        "seconds": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
