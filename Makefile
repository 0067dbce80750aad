# One entry point for checks; .ci/run and the README call `make check`.
PY ?= python3
TYPECHECK_DIR := .typecheck

.PHONY: check lint typecheck test bench linktree

check: lint typecheck test

lint:
	$(PY) -m ruff check ptenv tools_registry scenarios agents tests benchmarks examples
	$(PY) -m ruff format --check ptenv tools_registry scenarios agents tests benchmarks examples

# mypy cannot follow setuptools' editable finder for the mapped folders, so it checks a tree of
# symlinks laid out as installed: .typecheck/ptenv/{tools_registry,scenarios,agents} -> the folders.
linktree:
	rm -rf $(TYPECHECK_DIR) && mkdir -p $(TYPECHECK_DIR)/ptenv
	for f in ptenv/*; do ln -s ../../$$f $(TYPECHECK_DIR)/ptenv/; done
	ln -s ../../tools_registry $(TYPECHECK_DIR)/ptenv/tools_registry
	ln -s ../../scenarios $(TYPECHECK_DIR)/ptenv/scenarios
	ln -s ../../agents $(TYPECHECK_DIR)/ptenv/agents

typecheck: linktree
	cd $(TYPECHECK_DIR) && $(PY) -m mypy --config-file ../pyproject.toml -p ptenv

# pytest exits 5 when it collected no test: that is a failure here, never a pass. A test of an
# optional extra (rl, verifiers) fails here when the extra is missing, rather than skipping.
test:
	PTENV_REQUIRE_EXTRAS=1 $(PY) -m pytest -n 2 --dist loadgroup tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench:
	$(PY) benchmarks/run.py
