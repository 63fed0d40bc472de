# The test command of the README: lint, types, then every test.
.PHONY: test lint types pytest bench golden

test: lint types pytest

lint:
	ruff check skyplan tests benchmarks scripts
	ruff format --check skyplan tests benchmarks scripts

types:
	mypy

pytest:
	pytest -n 2 -p no:cacheprovider tests

golden:
	pytest tests/golden --update-golden

bench:
	python benchmarks/solver_scale.py
