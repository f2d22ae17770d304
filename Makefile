# llmunixfs: see README.md. `make` builds ./llmunixfs, `make check` runs every
# test on a sanitizer build, `make mount` mounts ./volumes.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    := $(PREFIX)/bin
DATADIR   := $(PREFIX)/share/llmunix
MANDIR    := $(PREFIX)/share/man
CC        ?= cc
PKGS      := fuse3 yaml-0.1 md4c jansson nettle libgit2 libcurl hiredis
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes \
	    -Wstrict-prototypes -Wvla
DEFS     := -D_GNU_SOURCE -DFUSE_USE_VERSION=314 -DLLMUNIX_VERSION='"$(VERSION)"' \
	    -DLLMUNIX_DATADIR='"$(DATADIR)"'
BASE     := -std=gnu11 $(WARN) $(DEFS) -I. $(PKG_CFLAGS) -pthread
RELEASE  := $(BASE) -O2 -g -D_FORTIFY_SOURCE=2
SANITIZE := $(BASE) -O1 -g -fno-omit-frame-pointer \
	    -fsanitize=address,undefined -fno-sanitize-recover=all
LIBS     := $(PKG_LIBS) -lm -pthread

CORE_SRC := $(sort $(wildcard core/*/*.c))
CORE_HDR := $(wildcard core/*/*.h)
FS_SRC   := $(sort $(wildcard fs/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))

REL_OBJ  := $(patsubst %.c,build/release/%.o,$(CORE_SRC) $(FS_SRC))
ASAN_CORE := $(patsubst %.c,build/asan/%.o,$(CORE_SRC))
ASAN_OBJ := $(ASAN_CORE) $(patsubst %.c,build/asan/%.o,$(FS_SRC))
UNIT_BIN := $(patsubst tests/unit/test-%.c,build/tests/unit-%,$(UNIT_SRC))

.PHONY: FORCE all deps check check-run mount umount install clean bench fuzz

all: deps
	@$(MAKE) --no-print-directory llmunixfs

# Install the Debian packages when pkg-config cannot find a library.
deps:
	@pkg-config --exists $(PKGS) || scripts/install-deps

llmunixfs: $(REL_OBJ)
	$(CC) -o $@ $^ $(LIBS)

# fs/main.c and core/util/config.c have PREFIX built in: rebuild it when PREFIX changes.
build/prefix: FORCE
	@mkdir -p build
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@
FORCE:
build/release/fs/main.o build/asan/fs/main.o build/release/core/util/config.o build/asan/core/util/config.o: build/prefix

build/release/%.o: %.c $(CORE_HDR) $(wildcard fs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(RELEASE) -MMD -c -o $@ $<

build/asan/%.o: %.c $(CORE_HDR) $(wildcard fs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) -c -o $@ $<

build/asan/llmunixfs: $(ASAN_OBJ)
	$(CC) $(SANITIZE) -o $@ $^ $(LIBS)

build/tests/unit-%: tests/unit/test-%.c tests/unit/unit.h tests/graph-skills.h $(ASAN_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) -Itests/unit -o $@ $< $(ASAN_CORE) $(LIBS)

build/tests/%: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(RELEASE) -o $@ $< $(LIBS)

TEST_TOOLS := build/tests/fsop $(patsubst scripts/%.c,build/tests/%,$(wildcard scripts/*.c))

# The history benchmark drives the engine itself, so it links the core.
REL_CORE := $(patsubst %.c,build/release/%.o,$(CORE_SRC))
build/tests/bench-history: scripts/bench-history.c $(REL_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(RELEASE) -o $@ $< $(REL_CORE) $(LIBS)

# So does the ranking benchmark of scripts/bench-chat.
build/tests/bench-rank: scripts/bench-rank.c $(REL_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(RELEASE) -o $@ $< $(REL_CORE) $(LIBS)

# The Khronos glTF validator, which tests/check-files.py runs on the 3D
# skills' files (npm registry; scripts/install-deps brings npm).
GLTF_VALIDATOR := build/npm/node_modules/gltf-validator/package.json
$(GLTF_VALIDATOR):
	@command -v npm >/dev/null || scripts/install-deps
	npm install --prefix build/npm --no-audit --no-fund --loglevel=error \
	    gltf-validator@2.0.0-dev.3.10

# s3rver, the S3 server the tests of storage = s3 run against (npm).
S3RVER := build/npm/node_modules/s3rver/package.json
$(S3RVER):
	@command -v npm >/dev/null || scripts/install-deps
	npm install --prefix build/npm --no-audit --no-fund --loglevel=error \
	    s3rver@3.7.1

# @vercel/blob, the public client of Vercel Blob, which t-vercel.sh drives
# against tests/vercel-blob-server.js so that the test server provably
# speaks what the client speaks (npm).
VERCEL_BLOB := build/npm/node_modules/@vercel/blob/package.json
$(VERCEL_BLOB):
	@command -v npm >/dev/null || scripts/install-deps
	npm install --prefix build/npm --no-audit --no-fund --loglevel=error \
	    @vercel/blob@2.8.0

check: deps
	@$(MAKE) --no-print-directory check-run

check-run: llmunixfs build/asan/llmunixfs $(UNIT_BIN) $(TEST_TOOLS) $(GLTF_VALIDATOR) $(S3RVER) $(VERCEL_BLOB)
	LLMUNIXFS=$(CURDIR)/build/asan/llmunixfs tests/run

build/tests/%: scripts/%.c
	@mkdir -p $(dir $@)
	$(CC) $(RELEASE) -o $@ $< $(LIBS)

# Mount ./volumes on the embedded default (state in /var/lib/llmunix as
# root); the daemon goes to the background and logs to syslog.
mount: all
	@mkdir -p volumes
	@if mountpoint -q volumes; then echo "volumes is already mounted"; \
	else ./llmunixfs -o system_skills=$(CURDIR)/skills volumes && \
	echo "mounted: ls volumes"; fi

umount:
	fusermount3 -u volumes

bench: all $(TEST_TOOLS)
	scripts/bench-fs
	scripts/bench-run
	scripts/bench-workflows
	scripts/bench-history
	scripts/bench-chat

# The fuzz targets of the skill and graph parsers (need clang); `make fuzz
# FUZZ_TIME=600` fuzzes each for ten minutes, new inputs in
# build/fuzz/corpus and build/fuzz/graph-corpus. make check replays the
# corpora (build/tests/unit-fuzz-replay, build/tests/unit-fuzz-graph).
FUZZ_CC   ?= clang
FUZZ_TIME ?= 300
FUZZ_FLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -I. $(PKG_CFLAGS) -g -O1 \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# skill_xattr.c (built on blob.h) is not part of the parser.
SKILL_SRC := $(filter-out core/skill/skill_xattr.c,$(filter core/skill/%.c,$(CORE_SRC))) \
	     core/util/buf.c core/util/limits.c
GRAPH_SRC := $(filter core/run/graph%.c,$(CORE_SRC)) $(SKILL_SRC)

build/fuzz/fuzz-skill: tests/fuzz/fuzz-skill.c $(SKILL_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(SKILL_SRC) $(PKG_LIBS)

build/fuzz/fuzz-graph: tests/fuzz/fuzz-graph.c tests/graph-skills.h $(GRAPH_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(GRAPH_SRC) $(PKG_LIBS)

fuzz: build/fuzz/fuzz-skill build/fuzz/fuzz-graph
	@mkdir -p build/fuzz/corpus build/fuzz/graph-corpus
	build/fuzz/fuzz-skill -max_total_time=$(FUZZ_TIME) -max_len=8192 \
	    -dict=tests/fuzz/skill.dict -artifact_prefix=build/fuzz/ \
	    build/fuzz/corpus tests/fuzz/corpus tests/skills
	build/fuzz/fuzz-graph -max_total_time=$(FUZZ_TIME) -max_len=32768 \
	    -dict=tests/fuzz/graph.dict -artifact_prefix=build/fuzz/graph- \
	    build/fuzz/graph-corpus tests/fuzz/graph-corpus

# The replays include the fuzz targets' sources.
build/tests/unit-fuzz-replay: tests/fuzz/fuzz-skill.c tests/unit/replay.h
build/tests/unit-fuzz-graph: tests/fuzz/fuzz-graph.c tests/graph-skills.h tests/unit/replay.h

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/skills
	install -m 0755 llmunixfs $(DESTDIR)$(BINDIR)/llmunixfs
	cp -R skills/. $(DESTDIR)$(DATADIR)/skills/
	install -d $(DESTDIR)$(MANDIR)/man5
	install -m 0644 core/llmunix-skill.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(PREFIX)/share/doc/llmunix
	install -m 0644 core/llmunix.conf.example $(DESTDIR)$(PREFIX)/share/doc/llmunix/

clean:
	rm -rf build llmunixfs

-include $(wildcard build/release/*/*.d build/release/*/*/*.d)
