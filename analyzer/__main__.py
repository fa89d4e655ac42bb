"""Run the CLI as `python -m analyzer` (and as `bnlog`): Ctrl-C while it starts is quiet too."""

import sys


def main() -> None:
    """Import the CLI (polars and click take a moment) and run it; a Ctrl-C meanwhile ends in
    one line and status 130, like a Ctrl-C later (analyzer.cli.main catches those)."""
    try:
        from analyzer.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("Aborted.\n")
        sys.exit(130)
    cli_main()


if __name__ == "__main__":
    main()
