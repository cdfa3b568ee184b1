# Thin wrapper over CMake.  `make run` and `make test` each work alone on a
# fresh Debian 12 machine as root: they first install missing packages.
BUILD      ?= build
TESTBUILD  ?= build/test
CONFIG     ?= deploy/squirrel.yaml
JOBS       ?= $(shell nproc)

.PHONY: all deps build run test bench fuzz clean

all: build

deps:
	@sh deploy/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@echo "squirrel: status page at http://127.0.0.1:8080/ once it starts (the http: section of $(CONFIG)); Ctrl-C stops"
	$(BUILD)/squirrel run $(CONFIG)

# Tests run in their own tree under build/, with warnings as errors and
# AddressSanitizer + UndefinedBehaviorSanitizer on.
test: deps
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DSQ_WERROR=ON -DSQ_SANITIZE=ON >/dev/null
	cmake --build $(TESTBUILD) -j $(JOBS)
	cd $(TESTBUILD) && ctest --output-on-failure -j $(JOBS)

# Benchmarks on the optimised build; figures go to docs/BENCHMARKS.md.
bench: build
	sh tests/bench/run.sh
	sh tests/bench/sweep_tutorial.sh
	sh tests/bench/sweep_50k.sh
	sh tests/bench/compare.sh
	sh tests/bench/alert_latency.sh

# The decoder fuzzer, FUZZ_SECONDS long (default 600).  New inputs go to
# the build tree; the committed seeds are only read.
FUZZ_SECONDS ?= 600
fuzz: deps
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DSQ_WERROR=ON -DSQ_SANITIZE=ON >/dev/null
	cmake --build $(TESTBUILD) -j $(JOBS) --target fuzz_decode
	mkdir -p $(TESTBUILD)/fuzz_found
	$(TESTBUILD)/tests/fuzz_decode -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	    $(TESTBUILD)/fuzz_found tests/fuzz/corpus

clean:
	rm -rf $(BUILD)
