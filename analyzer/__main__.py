"""Run the CLI as `python -m analyzer` (and as `bnlog`): Ctrl-C while it starts is quiet too."""

import os
import sys
from collections.abc import MutableMapping

# polars' allocator (jemalloc) keeps freed pages for a while; a run allocates and frees a lot
# as it goes, so the peak grows with what it no longer uses. Returned within 200 ms, a storm's
# peak was 10-22 % lower, at the same speed (README, "Speed"). Set before polars loads; a
# setting of the user's own wins.
ALLOCATOR = "_RJEM_MALLOC_CONF"
ALLOCATOR_SETTINGS = "dirty_decay_ms:200,muzzy_decay_ms:0"


def tune_allocator(environ: MutableMapping[str, str]) -> None:
    """Ask polars' allocator to return freed memory soon, unless the user set it up."""
    environ.setdefault(ALLOCATOR, ALLOCATOR_SETTINGS)


def main() -> None:
    """Import the CLI (polars and click take a moment) and run it; a Ctrl-C meanwhile ends in
    one line and status 130, like a Ctrl-C later (analyzer.cli.main catches those)."""
    tune_allocator(os.environ)
    try:
        from analyzer.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("Aborted.\n")
        sys.exit(130)
    cli_main()


if __name__ == "__main__":
    main()
