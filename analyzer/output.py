"""The one output writer: stdout, or --output written atomically and never over an input file."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from analyzer.errors import OutputError


def write_output(text: str, output: str | None, inputs: list[str]) -> None:
    """Write the rendered report to stdout, or atomically to `output`."""
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(output)
    _refuse_inputs(target, inputs)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{output}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{output}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{output}: cannot write ({exc.strerror or exc})") from None


def _refuse_inputs(target: Path, inputs: list[str]) -> None:
    """An --output that is one of the inputs (or inside an input directory's files) is refused."""
    if not target.exists():
        return
    real = target.resolve()
    for name in inputs:
        if name == "-":
            continue
        src = Path(name)
        if src.exists() and (
            src.resolve() == real or (src.is_dir() and src.resolve() in real.parents)
        ):
            raise OutputError(
                f"{target}: refusing to overwrite an input file (choose another --output)"
            )
