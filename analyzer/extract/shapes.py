"""The log shapes as data: named-group regexes for code/msg pairs, HTTP statuses, times and clients.

Every regex here runs on polars' Rust engine (linear time, no backtracking) over the text of
one *record* (a log line plus its continuation lines, joined with "\\n"), so a pattern may span
lines where a shape does (pretty-printed JSON, PHP print_r, binance-api-node's `code:` line).
Order matters: the first pattern that yields a code wins, and its `msg` goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass

# A message in single or double quotes, with backslash escapes (Python repr, JSON, PHP).
_SQ = r"'(?P<msg_sq>(?:[^'\\\n]|\\.)*)'"
_DQ = r'"(?P<msg_dq>(?:[^"\\\n]|\\.)*)"'
# JSON string value that may itself be escaped inside another JSON string ({\"code\":…}).
_JQ = r'\\?"(?P<msg>(?:[^"\\\n]|\\.)*?)\\?"\s*[,}]'
# Any length: a code too big for 64 bits is still a code/msg pair (the event is kept, its code
# becomes null); a bounded \d{1,24} would lose the whole pair.
_CODE = r"(?P<code>-?\d+)"


@dataclass(frozen=True)
class CodeShape:
    """A serialisation of a Binance code/msg pair. Groups: code, msg|msg_sq|msg_dq, http."""

    name: str
    pattern: str


CODE_SHAPES: tuple[CodeShape, ...] = (
    # {"code":-1021,"msg":"…"} compact, spaced, pretty-printed over lines, or escaped {\"code\":…}
    CodeShape("json", r'\{\s*\\?"code\\?"\s*:\s*' + _CODE + r'\s*,\s*\\?"msg\\?"\s*:\s*' + _JQ),
    CodeShape(
        "json",
        r'\\?"msg\\?"\s*:\s*'
        + _JQ.replace(r"\s*[,}]", r"\s*,")
        + r'\s*\\?"code\\?"\s*:\s*'
        + _CODE,
    ),
    # {'code': -1021, 'msg': '…'} Python dict repr (msg in '…' or "…")
    CodeShape(
        "dict", r"\{\s*'code'\s*:\s*" + _CODE + r"\s*,\s*'msg'\s*:\s*(?:" + _SQ + "|" + _DQ + ")"
    ),
    # python-binance: APIError(code=-2010): Account has insufficient balance …
    CodeShape(
        "python-binance",
        r"(?:APIError|BinanceOrderException)\(code=" + _CODE + r"\):\s*(?P<msg>[^\n]*)",
    ),
    # binance-connector example logging
    CodeShape(
        "connector",
        r"Found error\. status: (?P<http>\d{3}), error code: (?:None|"
        + _CODE
        + r"), error message: (?P<msg>[^\n]*)",
    ),
    # binance-connector str(ClientError): (400, -1121, 'Invalid symbol.', {…headers…}, None)
    CodeShape(
        "connector-tuple", r"\((?P<http>\d{3}), " + _CODE + r", (?:" + _SQ + "|" + _DQ + r"), [{N]"
    ),
    # binance-common / binance-sdk-*: BadRequestError: (-1121, 'Invalid symbol.')
    CodeShape("sdk-tuple", r"Error:? \(" + _CODE + r", (?:" + _SQ + "|" + _DQ + r")\)"),
    # binance-java-api: BinanceApiException: ERROR: -1013, Filter failure: LOT_SIZE
    CodeShape("java", r"ERROR: " + _CODE + r", (?P<msg>[^\n]*)"),
    # PHP print_r: [code] => -1022 \n [msg] => Signature for this request is not valid.
    CodeShape("php", r"\[code\]\s*=>\s*" + _CODE + r"\s*\[msg\]\s*=>\s*(?P<msg>[^\n]*)"),
    # key=value logging: code=-2011, msg=Unknown order sent.  /  code: -2011 msg: "…"
    CodeShape(
        "kv",
        r"\bcode\s*[=:]\s*"
        + _CODE
        + r"\s*[,;]?\s*(?:msg|message)\s*[=:]\s*['\"]?(?P<msg>[^\n'\"]*)",
    ),
    # binance-api-node: Error: Filter failure: PRICE_FILTER \n   code: -1013
    CodeShape("api-node", r"Error: (?P<msg>[^\n]+)\n\s+code: " + _CODE),
    # Last resort: a code with its message cut off (truncated JSON, code-only dumps).
    CodeShape("code-only", r'\\?"code\\?"\s*:\s*' + _CODE + r"\b"),
    CodeShape("code-only", r"\bcode\s*[=:]\s*(?P<code>-[12]\d{3})\b"),
)

# HTTP statuses, tried in order on records; the first match wins.
HTTP_PATTERNS: tuple[str, ...] = (
    r"HTTP status is (?P<http>\d{3})",  # hummingbot
    r"\bbinance(?:us|usdm|coinm)? (?:(?:GET|POST|PUT|DELETE) \S+ )?(?P<http>[1-5]\d\d)\b",  # ccxt
    r"\b(?P<http>[1-5]\d\d) (?:Client|Server) Error\b",  # requests
    r"\bClientResponseError: (?P<http>\d{3}),",  # aiohttp
    r'["\']?\b(?:status|status_code|http_status|statusCode)["\']?\s*[:=]\s*["\']?(?P<http>[1-5]\d\d)\b',
    r"\bHTTP/\d(?:\.\d)? (?P<http>[1-5]\d\d)\b",
    r"\bHTTP (?P<http>[1-5]\d\d)\b",
    r"\b(?P<http>[1-5]\d\d),? (?:Too Many Requests|I'm a teapot|Service Unavailable|Bad Gateway"
    r"|Gateway Time-?out|Internal Server Error|Forbidden|Unavailable For Legal Reasons|Conflict"
    r"|Unauthorized|Not Found|Bad Request|Request Timeout)\b",
)

# ccxt transport failures that carry neither a status nor a code.
NETWORK_PATTERN = (
    r"\b(?P<net>RequestTimeout|NetworkError|ExchangeNotAvailable|ReadTimeout|ConnectTimeout"
    r"|ConnectionError|ServerDisconnectedError)\b[:(]\s*(?:binance(?:us)?\s+)?(?P<netmsg>[^\n]*)"
)

# Transport failures are only Binance events when the record names Binance (not Telegram's).
NETWORK_WORDS = (
    r"RequestTimeout|NetworkError|ExchangeNotAvailable|ReadTimeout|ConnectTimeout|Read timed out"
    r"|Connection reset by peer|Cannot connect to host|ServerDisconnectedError|ConnectionError"
)
BINANCE_CONTEXT = r"(?i)binance"

# ccxt's message-matched errors print the bare exchange message after the exchange id.
CCXT_BARE_MSG = r"\b[A-Z][A-Za-z]+: binance(?:us|usdm|coinm)? (?P<msg>[^\n{]+)"

# A record that looks like a Binance error but that no shape above understood.
UNRECOGNISED_PATTERN = r"(?i)(?:binance\S*[^\n]{0,200}?\b(?:error|exception)\b|\b(?:error|exception)\b[^\n]{0,200}?binance)"

# Cheap per-line prefilter: a record is examined only if one of its lines matches this.
# It must match every line that any pattern above could use; precision does not matter, but
# speed does: every alternative starts with a literal of several characters, so the regex
# engine can scan for the literals alone (a leading class like [45] would make it crawl).
PREFILTER = (
    r"code|Error|error|ERROR|Exception|exception|banned|Failure|failure|Reject|reject|Timeout"
    r"|timed out|refused|reset by peer|Cannot connect|HTTP(?: status is|/[\d.]+\"? [45]| [45])"
    r"|tatus[\"']?\s*[:=]\s*[\"']?[45]\d\d|Too Many Requests|I'm a teapot|Service Unavailable"
    r"|Bad Gateway|Gateway Time|Forbidden|Unavailable For|Conflict|Unauthorized|Not Found"
    r"|Bad Request|Request Timeout|binance(?:us)? [A-Z]|Insufficient|insufficient balance"
    r"|Market is closed|Unknown order|would immediately|would trigger|Duplicate order"
    r"|not supported|restricted location|Order does not exist|', \{|\", \{"
    r"|Time offset to |system time deviates|Signature for this request|API-key|Timestamp for this"
    r"|must be less than|listenKey does not|request weight|Too many|IP banned|Invalid symbol|Illegal characters"
    r"|Precision is over|too much precision|Price \* QTY|message bus|backend server"
    r"|overloaded|no longer available|has been archived|cancel restrictions|permitted for this"
    r"|restricted for this|may not place|not correct"
)

# Clock observations a bot logs (freqtrade): not events, but evidence for the clock_drift finding.
#   "Time offset to Binance US is 23ms."   "Your system time deviates by -2.7s from the time of …"
TIME_OFFSET_PATTERN = (
    r"Time offset to [^\n]*? is (?P<ms>-?\d+(?:\.\d+)?)ms"
    r"|system time deviates by (?P<s>-?\d+(?:\.\d+)?)s"
)

# Timestamps at the start of a record's first line.
TS_PATTERN = (
    r"^\[?(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?:[.,](?P<frac>\d{1,9}))?"
    r"\s?(?P<tz>Z|UTC|[+-]\d\d:?\d\d)?"
)
# PHP error_log: [05-Nov-2024 16:01:12 UTC]
PHP_TS_PATTERN = (
    r"^\[(?P<day>\d\d)-(?P<mon>[A-Z][a-z]{2})-(?P<year>\d{4}) (?P<time>\d\d:\d\d:\d\d)"
    r"(?: (?P<tz>UTC))?\]"
)
EPOCH_PATTERN = r"^\[?(?P<epoch>1\d{9}(?:\.\d{1,6})?|1\d{12})\b"
JSON_TS_PATTERN = r'^\{.*?"(?:ts|time|timestamp|@timestamp|datetime)"\s*:\s*"?(?P<jts>[^",}]+)'

_QUOTES = r"(?:USDT|USDC|USD|BUSD|BTC|ETH|BNB|DAI|EUR)"
# The leftmost match names the event's symbol (uppercase only: `symbol=symbol` in a traceback's
# source line is not a symbol).
SYMBOL_PATTERNS: tuple[str, ...] = (
    r"\bsymbol['\"]?\s*[=:]\s*['\"]?(?P<sym>[A-Z][A-Z0-9]{3,13})\b",
    r"\bmarket (?P<sym>[A-Z0-9]{2,10}/[A-Z0-9]{2,6})\b",
    r"\b(?P<sym>[A-Z0-9]{2,10}[/-]" + _QUOTES + r")\b",
    r"\b(?P<sym>[A-Z][A-Z0-9]{1,9}" + _QUOTES + r")\b",
)
ENDPOINT_PATTERN = r"(?P<ep>/(?:api|sapi|wapi)/v\d+/[A-Za-z0-9/]*[A-Za-z0-9])"
RETRY_AFTER_PATTERN = r"(?i)retry-after['\"]?\s*[:=]\s*['\"]?(?P<ra>\d{1,9})(?:\D|\z)"
USED_WEIGHT_PATTERN = (
    r"(?i)x-mbx-used-weight(?:-\d+[smhd])?['\"]?\s*[:=]\s*['\"]?(?P<w>\d{1,9})(?:\D|\z)"
)
BAN_UNTIL_PATTERN = r"banned until (?P<ban>\d{13})(?:\D|\z)"

# Which library wrote a record: first match wins (freqtrade wraps ccxt, so it comes first).
CLIENT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("freqtrade", r"\bfreqtrade[.\s]"),
    ("hummingbot", r"\bhummingbot\.|HTTP status is \d{3}\. Error:"),
    (
        "python-binance",
        r"APIError\(code=|BinanceAPIException|BinanceOrderException|binance\.exceptions",
    ),
    (
        "binance-connector",
        r"Found error\. status:|binance\.error\.|^\(\d{3}, (?:-?\d+|None), |raw response from server",
    ),
    (
        "binance-sdk",
        r"binance_common|(?:BadRequest|Unauthorized|Forbidden|NotFound|RateLimitBan|TooManyRequests)Error",
    ),
    ("ccxt", r"ccxt\.|\b[A-Z][A-Za-z]+: binance(?:us|usdm|coinm)? "),
    ("node-binance-api", r"Error: \{\"code\"|body: '\{"),
    ("binance-api-node", r"Error: [^\n]+\n\s+code: -\d"),
    ("java", r"com\.binance\.|BinanceApiException"),
    ("php", r"\[code\]\s*=>"),
)

# Records whose event only echoes the error the previous event already reported for the same
# request (same file, same code and msg, ≤ ECHO_SECONDS apart, or ≤ ECHO_LINES lines apart
# when a time is missing): not a new event.
#   freqtrade.worker:   "Error: <error>, retrying in 30 seconds..."
#   binance-connector:  "Found error. …" right after the library's "raw response from server:"
ECHO_PATTERN = r"retrying in \d+ seconds|Found error\. status:"
ECHO_SECONDS = 2
ECHO_LINES = 3
