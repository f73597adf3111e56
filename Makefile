# hallmark — one non-recursive Makefile.
#
#   make            build bin/hallmark and bin/hallmark-verify
#   make check      unit tests, CLI tests and fuzz-corpus replay
#   make asan       the whole suite under AddressSanitizer + UBSan (build-asan/)
#   make fuzz       libFuzzer runs of every fuzz target (clang, build-fuzz/;
#                   FUZZ_SECONDS=60 each, FUZZ_TARGETS to pick)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DOCDIR  ?= $(PREFIX)/share/doc/hallmark
O       ?= build
VERSION := 0.1.0

CC      ?= gcc
PKG_CONFIG ?= pkg-config
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wvla -Wformat=2 -Wwrite-strings
ifdef WERROR
WARN    += -Werror
endif
OPT     ?= -O2 -g
CPPFLAGS += -Iinclude -D_GNU_SOURCE -DHM_VERSION='"$(VERSION)"'
CFLAGS  += -std=c17 $(OPT) $(WARN) -pthread $(SAN) $(EXTRA_CFLAGS)
LDFLAGS += -pthread $(SAN)

# The core never links libguestfs; hallmark-verify links only the core.
# libcurl: the registry client (lib/registry*.c), in both programs.
CORE_PKGS := libarchive libcrypto yaml-0.1 jansson sqlite3 libxcrypt libpq libdeflate libisal libcurl libzstd
CORE_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS))
CORE_LIBS   := $(shell $(PKG_CONFIG) --libs $(CORE_PKGS))
CFLAGS  += $(CORE_CFLAGS)

# libguestfs: only disk/ (the appliance, the disk source and the disk
# writer), linked into hallmark and never into hallmark-verify.
GUESTFS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libguestfs)
GUESTFS_LIBS   := $(shell $(PKG_CONFIG) --libs libguestfs)

LIB_SRC      := $(sort $(wildcard lib/*.c))
BUILDER_SRC  := $(sort $(wildcard builder/*.c))
# verifier/targets.c is hallmark-verify's target table (hallmark.c has
# hallmark's): linked into that program only.
VERIFIER_SRC := $(sort $(filter-out verifier/main.c verifier/targets.c,$(wildcard verifier/*.c)))
DISK_SRC     := $(sort $(wildcard disk/*.c))
UNIT_SRC     := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ      := $(LIB_SRC:%.c=$(O)/%.o)
BUILDER_OBJ  := $(BUILDER_SRC:%.c=$(O)/%.o)
VERIFIER_OBJ := $(VERIFIER_SRC:%.c=$(O)/%.o)
DISK_OBJ     := $(DISK_SRC:%.c=$(O)/%.o)
LIBHM        := $(O)/libhallmark.a
# builder/ as a library (all but its commands), for the tests to link.
BUILDER_LIB_OBJ := $(filter-out $(O)/builder/cmd_%.o,$(BUILDER_OBJ))
LIBBUILDER   := $(O)/libhallmark-builder.a
LIBDISK      := $(O)/libhmdisk.a
UNIT_BIN     := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/tests/fuzz/%)

BINS := bin/hallmark bin/hallmark-verify
ifneq ($(O),build)
BINS := $(O)/bin/hallmark $(O)/bin/hallmark-verify
endif

.PHONY: all check unit asan install clean demo bench bench-all
all: $(BINS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(DISK_OBJ): CFLAGS += $(GUESTFS_CFLAGS)

$(LIBHM): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBBUILDER): $(BUILDER_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# disk/ as a library too: a test or fuzz target takes only the members
# it calls (the header checks need no libguestfs).  It reaches lib/, so
# it comes before libhallmark.a on every link line.
$(LIBDISK): $(DISK_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(firstword $(BINS)): $(O)/hallmark.o $(BUILDER_OBJ) $(VERIFIER_OBJ) $(LIBDISK) $(LIBHM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(GUESTFS_LIBS)

# Neither builder/ nor disk/: no libguestfs (t4001 checks with ldd).
$(lastword $(BINS)): $(O)/verifier/main.o $(O)/verifier/targets.o $(O)/verifier/cmd_verify.o $(LIBHM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# test_target reads docs/cli.md from the tree it was built in (or HM_TOP).
$(O)/tests/unit/test_target.o: CPPFLAGS += -DHM_TOP_DIR='"$(CURDIR)"'

# builder/ before disk/ (the disk tree preparation calls the disk writer)
# before lib/ on every link line.
$(O)/tests/unit/%: $(O)/tests/unit/%.o $(LIBBUILDER) $(LIBDISK) $(LIBHM)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(GUESTFS_LIBS)

# test_build runs the whole pipeline, whose disk phase links libguestfs.
$(O)/tests/unit/test_build: CORE_LIBS += $(GUESTFS_LIBS)

# Fuzz targets are built with gcc and a replay driver: every corpus file
# goes through each target, so CI runs them without a fuzzer.
$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(O)/tests/fuzz/replay.o $(LIBBUILDER) $(LIBDISK) $(LIBHM)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

unit: $(UNIT_BIN)
check: all $(UNIT_BIN) $(FUZZ_BIN)
	@HM_BUILD=$(O) HM_BIN=$(dir $(firstword $(BINS))) tests/run-tests.sh

# The ASan pass leaves out the heaviest slow tests (HM_HEAVY=0: full Debian
# builds of the shipped templates, the qemu boot), which the plain pass runs;
# the disk emitter and source still run under ASan in t1002, t4001, t4002.
asan:
	HM_HEAVY=0 $(MAKE) O=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=undefined' check

# libFuzzer campaigns (clang): every tests/fuzz/fuzz_*.c (or FUZZ_TARGETS,
# e.g. FUZZ_TARGETS='fuzz_tar fuzz_oci') runs for FUZZ_SECONDS, one after
# the other, under ASan+UBSan, against a libhallmark built with clang in
# build-fuzz/.  Each runs over a copy of its corpus in build-fuzz/corpus/
# (new inputs stay there); crashes are written to build-fuzz/crashes/.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_TARGETS ?= $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_FLAGS   ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OPT     := -O1 -g -fno-omit-frame-pointer

.PHONY: fuzz fuzz-build
fuzz-build:
	$(MAKE) O=build-fuzz CC=$(FUZZ_CC) WERROR= OPT='$(FUZZ_OPT)' \
	    SAN='$(FUZZ_SAN) -fsanitize=fuzzer-no-link' build-fuzz/libhallmark.a \
	    build-fuzz/libhallmark-builder.a build-fuzz/libhmdisk.a
	@mkdir -p build-fuzz/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	    echo "$(FUZZ_CC) ... -o build-fuzz/fuzz/$$t tests/fuzz/$$t.c"; \
	    $(FUZZ_CC) $(CPPFLAGS) -std=c17 $(FUZZ_OPT) $(filter-out -Werror,$(WARN)) -pthread \
	        $(CORE_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer \
	        -o build-fuzz/fuzz/$$t tests/fuzz/$$t.c build-fuzz/libhallmark-builder.a \
	        build-fuzz/libhmdisk.a build-fuzz/libhallmark.a \
	        $(CORE_LIBS); \
	done

fuzz: fuzz-build
	@mkdir -p build-fuzz/crashes
	@set -e; for t in $(FUZZ_TARGETS); do \
	    name=$${t#fuzz_}; \
	    mkdir -p build-fuzz/corpus/$$name; \
	    if [ -d tests/fuzz/corpus/$$name ]; then \
	        cp -n tests/fuzz/corpus/$$name/* build-fuzz/corpus/$$name/ 2>/dev/null || true; \
	    fi; \
	    echo "== $$t: $(FUZZ_SECONDS) s"; \
	    build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
	        -rss_limit_mb=2048 -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/crashes/$$t- $(FUZZ_FLAGS) \
	        build-fuzz/corpus/$$name; \
	done

# The main job: a real Debian root, signed, verified, tampered with, drift caught.
demo: all
	tests/demo.sh

# The benchmarks print their figures and ratios (docs/benchmarks.md).
# `make bench` runs the ones that take minutes; `make bench-all` adds the
# disk and registry ones (an appliance under TCG: about an hour).
BENCH_FAST = run.sh image.sh scale.sh zstd-layers.sh file-calls.sh runtime.sh watch.sh
BENCH_SLOW = disk.sh registry.sh fleet.sh
bench: all
	@set -e; for b in $(BENCH_FAST); do echo "== bench/$$b"; bench/$$b; done

bench-all: bench
	@set -e; for b in $(BENCH_SLOW); do echo "== bench/$$b"; bench/$$b; done

# ---- install ---------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [BINDIR= MANDIR= DATADIR= ...]
# The man pages and the bash completion are made from docs/cli.md, which
# holds every help text verbatim (t0000 checks it against the programs),
# so neither can drift from the programs.  The units of contrib/ are
# written for /usr/local/bin and the docs under /usr/local: their paths
# are rewritten to BINDIR and UNITDOCDIR on the way.  The policy the
# hallmark-verify unit reads goes to SYSCONFDIR/hallmark (the trust
# material's folder, /etc whatever the PREFIX), never over an edited one.
# tests/cli/t0101-install.sh installs into a DESTDIR and uses the result.
MANDIR         ?= $(PREFIX)/share/man
DATADIR        ?= $(PREFIX)/share/hallmark
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR     ?= /etc
UNITDOCDIR     ?= $(DOCDIR)
PYTHON         ?= python3
MANPAGES   := $(O)/man/hallmark.1 $(O)/man/hallmark-verify.1
COMPLETION := $(O)/completion/hallmark $(O)/completion/hallmark-verify

.PHONY: man completion
man: $(MANPAGES)
completion: $(COMPLETION)

$(O)/man/%.1: docs/cli.md tools/cli2man.py tools/clidoc.py
	@mkdir -p $(dir $@)
	$(PYTHON) tools/cli2man.py $* $(VERSION) docs/cli.md > $@.tmp && mv $@.tmp $@

$(O)/completion/%: docs/cli.md tools/cli2completion.py tools/clidoc.py
	@mkdir -p $(dir $@)
	$(PYTHON) tools/cli2completion.py $* docs/cli.md > $@.tmp && mv $@.tmp $@

install: all man completion
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/hallmark
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 contrib/README.md $(DESTDIR)$(DOCDIR)/systemd.md
	@set -e; cd templates && for f in $$(find . -type f | LC_ALL=C sort); do \
	    echo "install -D -m 0644 templates/$${f#./} $(DESTDIR)$(DATADIR)/templates/$${f#./}"; \
	    install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/templates/$${f#./}"; \
	done
	@set -e; for u in contrib/*.service contrib/*.timer; do \
	    echo "install $$u $(DESTDIR)$(SYSTEMDUNITDIR)/"; \
	    sed -e 's|/usr/local/bin/|$(BINDIR)/|g' \
	        -e 's|/usr/local/share/doc/hallmark|$(UNITDOCDIR)|g' \
	        -e 's|/etc/hallmark/|$(SYSCONFDIR)/hallmark/|g' "$$u" \
	        > "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u#contrib/}"; \
	    chmod 0644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u#contrib/}"; \
	done
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/hallmark/phoenix.yaml ]; then \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/hallmark/phoenix.yaml"; \
	else \
	    echo "install -m 0644 templates/policies/phoenix.yaml $(DESTDIR)$(SYSCONFDIR)/hallmark/"; \
	    install -m 0644 templates/policies/phoenix.yaml $(DESTDIR)$(SYSCONFDIR)/hallmark/; \
	fi

clean:
	rm -rf build build-asan bin

-include $(shell find $(O) -name '*.d' 2>/dev/null)
