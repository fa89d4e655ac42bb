"""`bnlog check` settings from a file: `[tool.bnlog]` in pyproject.toml or a bnlog.toml, found by
walking up from the working directory (or named with --config), merged under the command line."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.budgets import Budget, Key, parse_key
from analyzer.errors import UsageError
from analyzer.schema import Severity

BNLOG_TOML = "bnlog.toml"
PYPROJECT = "pyproject.toml"
KNOWN = ("fail-on", "max", "ignore", "allow-unreadable", "baseline", "baseline-tolerance")


@dataclass(frozen=True)
class Settings:
    """What a config file (or nothing) says; None where it says nothing."""

    path: str | None = None  # the file, as shown in messages
    fail_on: Severity | None = None
    max: tuple[Budget, ...] = ()
    ignore: tuple[Key, ...] = ()
    allow_unreadable: bool | None = None
    baseline: str | None = None  # relative to the file's directory, made usable from the cwd
    baseline_tolerance: float | None = None
    keys: tuple[str, ...] = field(default=())  # the settings the file gave


def discover(start: Path | None = None) -> Path | None:
    """The first bnlog.toml, or pyproject.toml with a [tool.bnlog] table, in the working
    directory or a parent (a directory's bnlog.toml before its pyproject.toml)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / BNLOG_TOML
        if candidate.is_file():
            return candidate
        candidate = directory / PYPROJECT
        if candidate.is_file() and _has_bnlog_table(candidate):
            return candidate
    return None


def _has_bnlog_table(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # someone else's broken pyproject is not ours to judge
    tool = data.get("tool")
    return isinstance(tool, dict) and "bnlog" in tool


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def load(named: str | None) -> Settings:
    """The settings of the file `named` (--config), else of the file found by discover();
    empty Settings when there is none. UsageError names the file and the key at fault."""
    if named is not None:
        path = Path(named)
        shown = named
        if not path.is_file():
            raise UsageError(f"--config {named}: no such file")
    else:
        found = discover()
        if found is None:
            return Settings()
        path, shown = found, _shown(found)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{shown}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{shown}: not valid TOML (not UTF-8 text)") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read ({exc.strerror or exc})") from None
    if path.name == PYPROJECT:
        tool = data.get("tool", {})
        if not isinstance(tool, dict) or not isinstance(tool.get("bnlog"), dict):
            raise UsageError(f"{shown}: no [tool.bnlog] table")
        table, prefix = tool["bnlog"], "[tool.bnlog] "
    else:
        table, prefix = data, ""
    return _settings(table, f"{shown}: {prefix}", shown, path.parent)


def _settings(table: dict[str, object], where: str, shown: str, home: Path) -> Settings:
    unknown = sorted(set(table) - set(KNOWN))
    if unknown:
        raise UsageError(f"{where}unknown key {unknown[0]!r} (known: {', '.join(KNOWN)})")
    out: dict[str, object] = {}
    if "fail-on" in table:
        value = table["fail-on"]
        names = [s.value for s in Severity]
        if value not in names:
            raise UsageError(f"{where}fail-on = {value!r}: one of {', '.join(names)}")
        out["fail_on"] = Severity(str(value))
    if "max" in table:
        budgets = table["max"]
        if not isinstance(budgets, dict):
            raise UsageError(f'{where}max: a table of KEY = N, e.g. max = {{"-1003" = 5}}')
        parsed = []
        for name, limit in budgets.items():
            key = parse_key(name, f"{where}max:")
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise UsageError(f"{where}max.{name!r} = {limit!r}: a whole number ≥ 0")
            parsed.append(Budget(key, limit, shown))
        out["max"] = tuple(parsed)
    if "ignore" in table:
        ignore = table["ignore"]
        if not isinstance(ignore, list) or not all(isinstance(k, str) for k in ignore):
            raise UsageError(f'{where}ignore: a list of keys, e.g. ignore = ["-2011"]')
        out["ignore"] = tuple(parse_key(k, f"{where}ignore:") for k in ignore)
    if "allow-unreadable" in table:
        allow = table["allow-unreadable"]
        if not isinstance(allow, bool):
            raise UsageError(f"{where}allow-unreadable = {allow!r}: true or false")
        out["allow_unreadable"] = allow
    if "baseline" in table:
        baseline = table["baseline"]
        if not isinstance(baseline, str) or not baseline:
            raise UsageError(f"{where}baseline = {baseline!r}: a file name")
        out["baseline"] = _shown(home / baseline)
    if "baseline-tolerance" in table:
        tolerance = table["baseline-tolerance"]
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
            raise UsageError(f"{where}baseline-tolerance = {tolerance!r}: a percentage ≥ 0")
        out["baseline_tolerance"] = float(tolerance)
    return Settings(path=shown, keys=tuple(sorted(table)), **out)  # type: ignore[arg-type]


def merged_budgets(
    file: Settings, cli_max: tuple[Budget, ...], cli_ignore: tuple[Key, ...]
) -> tuple[tuple[Budget, ...], tuple[Key, ...]]:
    """Budgets and ignored keys: the command line's, then the file's for keys the command line
    does not name (the command line wins). A key both budgeted and ignored on one level is a
    usage error."""
    for budget in cli_max:
        if budget.key in cli_ignore:
            raise UsageError(f"{budget.origin} {budget.key} and --ignore {budget.key}: pick one")
    named = {b.key for b in cli_max} | set(cli_ignore)
    budgets = {b.key: b for b in file.max if b.key not in named}
    for budget in cli_max:  # the last --max of a key wins; --code's 0 yields to an explicit --max
        if budget.origin == "--code" and budgets.get(budget.key, budget).origin == "--max":
            continue
        budgets[budget.key] = budget
    ignore = set(cli_ignore) | {k for k in file.ignore if k not in named}
    for key in ignore & set(budgets):
        where = file.path or "the config file"
        raise UsageError(f"{where}: {key} is both in max and in ignore: pick one")
    return tuple(sorted(budgets.values(), key=lambda b: b.key)), tuple(sorted(ignore))
