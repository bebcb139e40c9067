# Two entry points, each doing all set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test workers: one a core, at most 4 (many tests start processes of their own).
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: league test install clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch 2.13.0 first: the CPU wheel on this machine's disk; pyproject accepts a range.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

league: $(STAMP)
	$(BIN)/arena league run connect_four

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

clean:
	rm -rf $(VENV) *.egg-info
