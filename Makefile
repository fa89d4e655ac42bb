# One entry point for the usual chores. `make install` first; the others use .venv/.
.PHONY: install test lint bench sample corpus

install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]'

test:
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check analyzer tests benchmarks && .venv/bin/ruff format --check analyzer tests benchmarks && .venv/bin/mypy

corpus:
	.venv/bin/python tests/corpus/score.py -v

bench:
	.venv/bin/python benchmarks/bench.py --suite --size 1GB

sample:
	.venv/bin/bnlog report sample_logs/
