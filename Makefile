# refusal-miner: the two commands of the README, and a few helpers.
#   make demo   creates .venv, installs everything, harvests the bundled replay corpus and processes it
#   make test   the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements-extra.txt 2>/dev/null | sha1sum | cut -c1-12)
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1

.PHONY: demo test install bench clean report

install: $(STAMP)

$(STAMP):
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# torch: the pinned CPU wheel (a plain "torch" would pull a multi-GB CUDA build)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(BIN)/miner harvest queries/paper.toml --replay

report: $(STAMP)
	$(BIN)/miner report --out report

test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) data/ report/ export/ .pytest_cache
