# realtime-core — the two commands of the README, and their parts.
#   make run    install what is missing, build, start router + gateway with the chat example
#   make test   install what is missing, build (plain and ASan/UBSan), run every test
#   make test-compose   docker-compose.yml for real: private engine, build, up, scale, checks, down
SHELL := /bin/bash
JOBS  ?= $(shell nproc)
BUILD ?= build
ASAN  ?= build-asan
# System tests mostly wait on real processes: two at a time halve the suite's time on two cores
# (each test uses its own free ports and temporary folder).
CTEST_JOBS ?= 2

.PHONY: all deps deps-test build build-asan run test test-plain test-asan test-compose clean format

all: build

deps:
	@deploy/install-deps.sh

deps-test:
	@deploy/install-deps.sh --test

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN)/Makefile:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DRT_SANITIZE=ON

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

build-asan: $(ASAN)/Makefile
	cmake --build $(ASAN) -j$(JOBS)

run: deps build
	@deploy/run-local.sh $(BUILD)

# The plain suite first, then the same suite under the sanitizers; ctest's summary closes the output.
test: deps-test build build-asan
	cd $(BUILD) && ctest -j$(CTEST_JOBS) --output-on-failure
	cd $(ASAN) && ctest -j$(CTEST_JOBS) --output-on-failure

test-plain: deps-test build
	cd $(BUILD) && ctest -j$(CTEST_JOBS) --output-on-failure

test-asan: deps-test build-asan
	cd $(ASAN) && ctest -j$(CTEST_JOBS) --output-on-failure

# Needs root (installs Docker, may start a private engine); see tests/compose/run.sh.
test-compose:
	@tests/compose/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN)
