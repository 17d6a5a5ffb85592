# wired: the commands a user runs. `make run` serves www/; `make test` runs every test.
CARGO     ?= cargo
FUZZ_TIME ?= 60
ADDR      ?= 127.0.0.1:8080
QUICK     ?=

.PHONY: all build run test test-deps lint fmt fuzz doc bench bench-sendfile soak e2e clean autobahn

all: build

build:
	$(CARGO) build --release

run: build
	./target/release/wired --root www --listen $(ADDR)

# Everything: unit tests, the parser's tables, raw-socket tests against the
# real binary, doc tests, and the browser check. Installs what tests need.
test: test-deps
	.ci/module-cycles
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace
	# The raw-socket suites again, every connection through a TLS client
	WIRED_TEST_TLS=1 $(CARGO) test --test integration -- core:: static_files:: hostile:: cgi:: upstream:: websocket::
	# The static-file, configuration, CGI and upstream suites again, every request an HTTP/2
	# stream from hyper's h2 crate (tests/integration/h2_shim.rs): h2c, then h2 over TLS
	WIRED_TEST_H2=1 $(CARGO) test --test integration -- static_files:: config:: cgi:: upstream::
	WIRED_TEST_H2=1 WIRED_TEST_TLS=1 $(CARGO) test --test integration -- static_files::
	# Autobahn|Testsuite, a sample of every section, plain and compressed
	tests/autobahn/run.sh --cases quick --binary target/debug/wired
	$(MAKE) doc

# Real components the tests use, installed when missing (Debian; needs root).
test-deps:
	@tests/install-deps.sh

# The module cycle check is a script over `crate::` paths (.ci/module-cycles):
# src/ must stay layered, each module using only those below it.
lint:
	.ci/module-cycles
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Each cargo-fuzz target for FUZZ_TIME seconds (default 60). cargo-fuzz is
# installed when missing; it runs on stable through RUSTC_BOOTSTRAP=1. New
# inputs go to a scratch corpus under fuzz/target; the committed seeds stay as they are.
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd fuzz && for t in $$(RUSTC_BOOTSTRAP=1 cargo fuzz list); do \
		echo "== fuzz $$t for $(FUZZ_TIME) s"; \
		mkdir -p target/scratch/$$t; \
		RUSTC_BOOTSTRAP=1 cargo fuzz run $$t target/scratch/$$t corpus/$$t -- -max_total_time=$(FUZZ_TIME) || exit 1; \
	done

# Churn: SOAK_CONNECTIONS short connections (default 100,000), most reset
# mid-request or mid-response, against a release build; then descriptors,
# memory and a last answer are checked. `make test` runs it with 10,000.
SOAK_CONNECTIONS ?= 100000
soak:
	WIRED_SOAK_CONNECTIONS=$(SOAK_CONNECTIONS) $(CARGO) test --release --test soak -- --nocapture

# Rustdoc of every crate, with warnings as errors.
doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --document-private-items

bench:
	bench/run.sh $(if $(QUICK),--quick,)

# Does sendfile pay on loopback? wired and nginx, sendfile on and off, 10 MiB.
bench-sendfile: build
	bench/sendfile.sh

clean:
	$(CARGO) clean

# Autobahn|Testsuite's fuzzingclient, every case of sections 1-7, 9, 12 and
# 13, against --ws-echo, plain and with permessage-deflate; fails on any
# case not OK, NON-STRICT or INFORMATIONAL. Python 2.7 is installed in a
# virtualenv under target/autobahn (tests/autobahn/install.sh). The summary
# and the report's index go to docs/autobahn/.
autobahn: build
	tests/autobahn/run.sh --cases full --binary target/release/wired --docs
