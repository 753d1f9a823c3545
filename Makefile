# Proxima: `make run` serves it, `make test` tests it. Both start from a fresh clone.
VENV     ?= .venv
PY       := $(VENV)/bin/python
PIP      := $(VENV)/bin/pip
PROXIMA  := $(VENV)/bin/proxima
PYTHON3  ?= python3
APT_PKGS := chromium coturn nftables iproute2 util-linux
CATALOGS := server/translations

.PHONY: run test lint typecheck-js install install-test system-deps messages check clean

# Runs an installer quietly: pip and setuptools print a few hundred lines of warnings that would
# scroll the first login off the screen. Their output goes to $(VENV)/install.log, and is shown
# only when the step fails (with the command that failed).
QUIETLY = sh -c 'log=$$(mktemp); "$$@" >"$$log" 2>&1; status=$$?; \
  cat "$$log" >>"$(VENV)/install.log"; \
  if [ $$status -ne 0 ]; then cat "$$log" >&2; \
    echo "make: this failed (output above, also in $(VENV)/install.log): $$*" >&2; fi; \
  rm -f "$$log"; exit $$status' quietly

$(VENV)/.installed: pyproject.toml
	@echo "Installing Proxima and what it needs in $(VENV)/ (a minute or two the first time)..."
	@$(PYTHON3) -m venv $(VENV)
	@$(QUIETLY) $(PIP) install -q --upgrade pip
	@$(QUIETLY) $(PIP) install -q -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	@echo "Installing what the tests need in $(VENV)/..."
	@$(QUIETLY) $(PIP) install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

certs/server.pem: | $(VENV)/.installed
	$(PROXIMA) make-certs

## Serve Proxima on https://localhost:8443, or PROXIMA_PORT (creates the venv, certificates,
## database, first admin; the first login is printed last).
run: $(VENV)/.installed certs/server.pem
	@ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true; exec $(PROXIMA) serve

## Say what is missing or wrong in the configuration.
check: $(VENV)/.installed
	$(PROXIMA) check

# Debian packages the tests need (real Chromium, real coturn, nft for network impairment).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v turnserver >/dev/null || missing="$$missing coturn"; \
	command -v nft >/dev/null || missing="$$missing nftables"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v unshare >/dev/null || missing="$$missing util-linux"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# From the npm registry, pinned: axe-core (the accessibility checks in the browser tests) and
# TypeScript (tsc type-checks the browser code). One npm command installs them all: a later
# `npm install --no-save` of one package alone removes the others from node_modules/. The stamp's
# name holds the versions, so changing one here installs again.
NPM_TOOLS := axe-core@4.14.1 typescript@7.0.2
empty :=
NPM_STAMP := node_modules/.installed-$(subst @,-,$(subst $(empty) $(empty),_,$(NPM_TOOLS)))
TSC := node_modules/.bin/tsc
$(NPM_STAMP):
	@command -v npm >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	npm install --no-save --no-audit --no-fund --silent $(NPM_TOOLS)
	@touch $@

## Type-check the browser code (tsc --noEmit, strict, through web/static/tsconfig.json); make test
## runs this before the suite and stops on any error.
typecheck-js: $(NPM_STAMP)
	$(TSC) -p web/static/tsconfig.json

## Lint (ruff, with the rules chosen in pyproject.toml) and type-check (mypy --strict, on the
## whole of server/); make test runs this first and stops when either finds anything.
lint: install-test
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy

## Run the whole suite (browser tests included) inside a loopback-only network namespace.
test: install-test system-deps $(NPM_STAMP) lint typecheck-js
	@if [ "$$(id -u)" = 0 ] && [ -z "$$PROXIMA_NO_NETNS" ]; then \
	  unshare --net -- sh -c 'ip link set lo up && exec $(PY) -m pytest $(PYTEST_ARGS)'; \
	else \
	  echo "note: not root (or PROXIMA_NO_NETNS set): running without a loopback-only namespace"; \
	  $(PY) -m pytest $(PYTEST_ARGS); \
	fi

## Extract translatable strings and update the French and English catalogs.
messages: $(VENV)/.installed-test
	$(VENV)/bin/pybabel extract -F $(CATALOGS)/babel.cfg -k N_ --no-location --sort-output \
	  -o $(CATALOGS)/messages.pot .
	$(VENV)/bin/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) -D messages --no-fuzzy-matching
	rm $(CATALOGS)/messages.pot

clean:
	rm -rf $(VENV) data
