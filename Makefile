# carp for Linux. `make` builds .venv; `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PREFIX ?= /usr/local
DESTDIR ?=
SYSDEPS := dpkg-dev iproute2 iperf3 keepalived lintian man-db mandoc procps shellcheck stress-ng tcpdump ucarp

.PHONY: all sysdeps test lint unit demo bench fuzz tables install deb clean

# Byte-compiled ahead: the environment may set PYTHONDONTWRITEBYTECODE, and then every
# ifconfig/sysctl start would compile its modules again (tens of ms).
all: $(VENV)/.installed
	@$(PY) -m compileall -q carp sysctl bench

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# compat mode: a plain .pth path entry; the default finder hook costs ~20 ms per start
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	touch $@

# Debian packages the tests and the demo use, installed only when missing
# (tcpdump, ucarp and keepalived: the interworking tests, which must not skip in CI; iperf3:
# make bench; shellcheck: the examples' test; dpkg-dev, lintian, man-db: make deb and
# tests/package).  Debian's keepalived ships no keepalived.conf, so its unit
# (ConditionFileNotEmpty) starts nothing in the root namespace.
sysdeps:
	@missing=""; for p in $(SYSDEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: all
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: all sysdeps lint
	$(PY) -m pytest -q -p no:cacheprovider tests

demo: all sysdeps
	$(PY) -m carp.lab.demo

bench: all sysdeps
	$(PY) -m bench

# The receive path's fuzz target (tests/fuzz): a million mutated inputs through carpd's
# decoder and CarpHost.packet, every personality, MASTER and BACKUP; a short run is part
# of `make test`. Failing inputs land in fuzz-crashes/.
FUZZ_INPUTS ?= 1000000
FUZZ_SEED ?= 1
fuzz: all
	$(PY) -m tests.fuzz --inputs $(FUZZ_INPUTS) --seed $(FUZZ_SEED)

# The ifconfig grammar's LALR tables, built by ply from the p_* rules in
# carp/ifconfig/grammar.py (a unit test fails while they are stale).
tables: all
	$(PY) -m carp.ifconfig.maketables

# pkg/install.sh: programs, man pages, unit; launchers name $(PREFIX), never $(DESTDIR),
# so a staged tree moves to its real root. The BSD front ends go to
# $(PREFIX)/lib/carp-for-linux/bsd/sbin, off PATH (README, "Debian package").
install: all
	DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' PIP_PYTHON='$(PY)' sh pkg/install.sh

# build/deb/carp-for-linux_VERSION_ARCH.deb (pkg/deb/build.sh), checked by lintian.
deb: all sysdeps
	PIP_PYTHON='$(PY)' sh pkg/deb/build.sh
	lintian --fail-on error build/deb/*.deb

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis fuzz-crashes build
