"""Secrets never leave: planted in every supported log shape, absent from every output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.extract.shapes import load_shapes

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
PLANTED = (API_KEY, SECRET, SIGNATURE, LISTEN_KEY)

URL = (
    "https://api.binance.us/api/v3/order?symbol=SOLUSD&side=BUY&type=LIMIT&quantity=1.2345678"
    f"&price=140.0&timestamp=1737368046771&signature={SIGNATURE}"
)

# Every shape again, each carrying a secret where bots really print one.
SECRET_LINES = [
    f"2025-01-20 10:14:06,771 DEBUG binance.api: url: {URL}",
    f"2025-01-20 10:14:06,772 DEBUG urllib3: headers {{'X-MBX-APIKEY': '{API_KEY}', 'Content-Type': 'application/json'}}",
    f'2025-01-20 10:14:06,773 ERROR grid: POST {URL} -> 400 {{"code":-1013,"msg":"Filter failure: LOT_SIZE"}}',
    f'2025-01-20 10:14:06,774 - freqtrade.configuration - INFO - exchange: {{"name": "binanceus", "key": "{API_KEY}", "secret": "{SECRET}"}}',
    f"2025-01-20 10:14:06,775 ERROR bot: APIError(code=-1022): Signature for this request is not valid. signature={SIGNATURE}",
    f"2025-01-20 10:14:06,776 ERROR ws: listenKey={LISTEN_KEY} APIError(code=-1125): This listenKey does not exist.",
    f"2025-01-20 10:14:06,777 ERROR bot: requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: {URL}",
    f"(401, -2015, 'Invalid API-key, IP, or permissions for action.', {{'X-MBX-APIKEY': '{API_KEY}'}}, None)",
    f'{{"ts":"2025-01-20T10:14:06.778Z","url":"{URL}","status":400,"headers":{{"X-MBX-APIKEY":"{API_KEY}"}},"body":{{"code":-1013,"msg":"Filter failure: LOT_SIZE"}}}}',
    f"2025-01-20 10:14:06,779 ERROR bot: Authorization: Bearer {SECRET} rejected: {{'code': -2014, 'msg': 'API-key format invalid.'}}",
    f"2025-01-20 10:14:06,780 ERROR bot: unknown failure for key {API_KEY}: code=-1999, msg=Something new",
]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    shapes = load_shapes()
    samples = [s.text for shape in (*shapes.codes, *shapes.statuses) for s in shape.samples]
    lines = samples + SECRET_LINES
    path = tmp_path / "bot.log"
    path.write_text("\nbot: next\n".join(lines) + "\n")
    return path


def outputs(log: Path, tmp_path: Path, capsys) -> list[str]:
    """stdout + stderr of every command and format, and every file written."""
    texts = []
    for args in (
        ["report", str(log)],
        ["report", "--color", "always", str(log)],
        ["report", "-f", "json", str(log)],
        ["report", "-f", "markdown", str(log)],
        ["report", "-f", "json", "-o", str(tmp_path / "out.json"), str(log)],
        ["report", str(log), str(tmp_path / f"missing-{API_KEY}.log")],
        ["codes"],
    ):
        with pytest.raises(SystemExit):
            main(args)
        out, err = capsys.readouterr()
        texts += [out, err]
    texts.append((tmp_path / "out.json").read_text())
    return texts


def test_no_planted_secret_in_any_output(log: Path, tmp_path: Path, capsys) -> None:
    everything = "\n".join(outputs(log, tmp_path, capsys))
    for secret in PLANTED:
        # The whole value, and any 24-character piece of it.
        assert secret not in everything
        for i in range(0, len(secret) - 24, 8):
            assert secret[i : i + 24] not in everything, secret
    assert "<redacted:" in everything


def test_events_still_found_next_to_secrets(log: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["report", "-f", "json", str(log)])
    data = json.loads(capsys.readouterr().out)
    codes = {c["code"] for c in data["codes"]}
    assert {-1013, -1022, -1125, -2015, -2014, -1999} <= codes


def test_no_redact_shows_secrets_and_says_so(log: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--no-redact", "-f", "json", str(log)])
    data = json.loads(capsys.readouterr().out)
    assert data["redacted"] is False
    assert any(SIGNATURE in e["text"] for f in data["findings"] for e in f["evidence"])
    with pytest.raises(SystemExit):
        main(["report", "--no-redact", str(log)])
    assert "secrets were NOT redacted" in capsys.readouterr().out
