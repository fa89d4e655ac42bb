"""Errors the core raises and the exit codes the CLI maps them to (no click here)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses: 0 ok, 1 findings over the threshold, 2 usage or input error."""

    OK = 0
    FINDINGS = 1
    USAGE = 2


class AnalyzerError(Exception):
    """Base of every error the core raises on purpose; the CLI prints it as one line."""

    exit_code: ExitCode = ExitCode.USAGE


class InputError(AnalyzerError):
    """A path the user named cannot be read at all (missing, unreadable, not a log)."""


class UsageError(AnalyzerError):
    """Options that contradict each other or values that cannot be parsed."""


class ReferenceDataError(AnalyzerError):
    """The shipped reference table failed validation (a packaging bug)."""


class OutputError(AnalyzerError):
    """The report cannot be written where the user asked."""
