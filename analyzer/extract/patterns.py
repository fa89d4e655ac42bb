"""Regexes beside the shapes: prefilter, transport failures, hosts, symbols, headers, echoes.

The shapes of errors, statuses, times and clients are data (shapes.toml); these patterns
pick the fields every shape shares. Every regex runs on polars' Rust engine (linear time, no
backtracking) over the text of one *record* (a log line and its continuation lines, joined
with "\\n").
"""

from __future__ import annotations

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
# Another host's request (Telegram, Discord, Slack, a webhook, the bot's own web server, another
# exchange: a request URL that is not Binance's): its HTTP status is not Binance's, unless the
# record also names a Binance URL.
OTHER_HOST = (
    r"(?i)\bapi\.telegram\.org\b|\bdiscord(?:app)?\.com/api|hooks\.slack\.com|telegram\.error"
    r"|\b(?:uvicorn|gunicorn|werkzeug)\b|https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])"
    r"|for url: https?://|\b(?:GET|POST|PUT|DELETE|PATCH) https?://"
)
# The hosts a record names; any but Binance's and documentation sites (an HTML page's DOCTYPE
# names w3.org) is another host.
URL_HOST = r"(?i)\bhttps?://[a-z0-9.-]+"
NOT_FOREIGN = r"(?i)binance|w3\.org|github|nodejs\.org|python\.org|mozilla\.org"
BINANCE_HOST = (
    r"(?i)\bhttps?://[a-z0-9.-]*binance[a-z0-9.-]*|\bbinance(?:us|usdm|coinm)? [A-Z]{3,7} "
)

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


# An event that repeats the error of the event before it, for the same request, is one event
# with it: the same code (or a message the coded one carries), compatible status, symbol and
# endpoint, on the line right after the earlier record (WRAPPER_LINES for a known wrapper),
# both with times at most ECHO_SECONDS apart or both without, for the same HTTP method; and
# the later record is another kind of line than the earlier (two records of one kind are two
# requests, or retries: "Retrying still for 3 times" and "… 2 times").
#   freqtrade.worker:   "Error: <error>, retrying in 30 seconds..." after the retrier gave up
#   binance-connector:  "Found error. …" right after the library's "raw response from server:"
#   a message-only line and the coded line printed right after it; a status line and its body
# A retrier's line for one attempt: attempts are separate requests, never echoes of each other.
ATTEMPT_PATTERN = (
    r"Retrying still for \d+ times|Giving up\.?|retrying \w+\(\) still for \d+ times"
    r"|\w+\(\) returned exception: "
)
# Lines a bot's own wrapper prints about the error it just logged: such a record echoes the
# error even with a line or two between them ("Giving up retrying: …" in freqtrade 2020).
WRAPPER_PATTERN = r"retrying in \d+ seconds\.*$|Found error\. status:"
# The HTTP method of the request a record names: a cancel (DELETE) and a new order (POST) to
# the same endpoint in the same second are two requests.
METHOD_PATTERN = r"\b(GET|POST|PUT|DELETE)\s+(?:https?://|/)"
ECHO_SECONDS = 1  # "within a second": 09:09:35 and 09:09:37 are two requests
ECHO_LINES = 1  # any other echo starts on the line after the earlier record
WRAPPER_LINES = 3
