# groupsync — the commands the README promises. Each one installs what it needs.
SWIFT ?= swift
SCRATCH_ASAN ?= .build-asan
FUZZ_TIME ?= 60

.PHONY: demo test deps build release benchmark benchmark-postgres benchmark-ad leakcheck fuzz man completions clean

## Set up everything and run the main job on a throwaway directory: sync, change, sync, history.
demo: deps
	$(SWIFT) build --product groupsync
	$(SWIFT) build --product groupsync-demo
	.build/debug/groupsync-demo demo

## Run the whole test suite: unit tests, tests against real slapd servers, and the leak check.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory leakcheck
	$(MAKE) --no-print-directory fuzz

deps:
	@Scripts/install-deps.sh
	@command -v $(SWIFT) >/dev/null || { echo "swift is not on PATH (expected the Swift 6 toolchain, e.g. /opt/swift/usr/bin)" >&2; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Check that LDAPClient frees everything libldap allocates: a 10,000-entry directory
## searched under LeakSanitizer (valgrind crashes on the Swift runtime's libdispatch).
leakcheck: deps
	$(SWIFT) build --scratch-path $(SCRATCH_ASAN) -Xswiftc -sanitize=address --product ldap-leakcheck
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=Benchmarks/lsan.supp:print_suppressions=1 \
		$(SCRATCH_ASAN)/debug/ldap-leakcheck 10000

## Fuzz the DN parser, the filter builder and the configuration loader with libFuzzer
## (-sanitize=fuzzer,address), FUZZ_TIME seconds each (default 60), all three at once.
fuzz: deps
	FUZZ_TIME=$(FUZZ_TIME) SWIFT=$(SWIFT) Scripts/fuzz.sh

## The sync benchmark (release build): 100,000 users, 10,000 groups, 1,000,000 member values.
## BENCH_SCALE=0.1 runs a tenth of it.
benchmark: deps
	Scripts/install-deps.sh --benchmark
	$(SWIFT) build -c release --product groupsync
	$(SWIFT) build -c release --product sync-benchmark
	.build/release/sync-benchmark $(BENCH_SCALE)

## The same benchmark with the store on a throwaway PostgreSQL server.
benchmark-postgres: deps
	Scripts/install-deps.sh --benchmark
	$(SWIFT) build -c release --product groupsync
	$(SWIFT) build -c release --product sync-benchmark
	GROUPSYNC_BENCH_STORE=postgres .build/release/sync-benchmark $(BENCH_SCALE)

## The Active Directory benchmark (release build, root): a seeded Samba AD DC, 5,000 users.
## AD_USERS=2000 seeds fewer.
benchmark-ad: deps
	$(SWIFT) build -c release --product groupsync
	$(SWIFT) build -c release --product ad-benchmark
	.build/release/ad-benchmark $(AD_USERS)

## The man page and shell completions, generated from the command-line parser.
man: deps
	$(SWIFT) package generate-manual --configuration debug
	mkdir -p .build/man && cp .build/plugins/GenerateManual/outputs/groupsync/groupsync.1 .build/man/
	@echo "man page: .build/man/groupsync.1 (install: cp .build/man/groupsync.1 /usr/local/share/man/man1/)"

completions: build
	mkdir -p .build/completions
	.build/debug/groupsync --generate-completion-script bash > .build/completions/groupsync.bash
	.build/debug/groupsync --generate-completion-script zsh > .build/completions/_groupsync
	.build/debug/groupsync --generate-completion-script fish > .build/completions/groupsync.fish
	@echo "completions in .build/completions (install: cp groupsync.bash /etc/bash_completion.d/groupsync; _groupsync into a zsh fpath folder; groupsync.fish into ~/.config/fish/completions/)"

clean:
	rm -rf .build $(SCRATCH_ASAN) .build-fuzz
