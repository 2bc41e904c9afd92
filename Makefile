# leakwatch - the two commands a new machine needs:
#   make demo   install what is missing, build (Release), replay the demo capture, print alerts
#   make test   install what is missing, build with ASan+UBSan, run every test
# Other targets: build, fuzz (FUZZ_SECONDS=N each), fuzz-smoke, stress (STRESS_SCALE=N),
# format, format-check, bench, clean.

# Debian 12 packages the build, the tests and the fuzzers need.
DEB_PACKAGES := build-essential cmake pkg-config clang libclang-rt-dev \
	libpcap-dev libhyperscan-dev libmaxminddb-dev libcmocka-dev zlib1g-dev \
	libyaml-dev libsodium-dev libssl-dev libpsl-dev python3 \
	libmaxmind-db-writer-perl iproute2 tcpreplay

BUILD        ?= build
TEST_BUILD   ?= build-test
FUZZ_BUILD   ?= build-fuzz
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10

.PHONY: all demo test deps build test-build fuzz fuzz-build fuzz-smoke stress format format-check bench clean

all: build

# Installs the missing Debian packages when root; otherwise prints the exact
# apt-get line and stops.
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "leakwatch needs these Debian packages; run as root:"; \
	  echo "  apt-get update && apt-get install -y$$missing"; \
	  exit 1; \
	fi; \
	echo "installing:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@echo "== replaying pcaps/demo/demo.pcap (alerts below; all events in $(BUILD)/demo-eve.json) =="
	@rm -f $(BUILD)/demo-eve.json
	./$(BUILD)/leakwatch -c etc/leakwatch.yaml -r pcaps/demo/demo.pcap -o $(BUILD)/demo-eve.json
	@grep '"event_type":"alert"' $(BUILD)/demo-eve.json || { echo "no alert: the demo is broken" >&2; exit 1; }

test-build: deps
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLW_SANITIZE=ON -DLW_WERROR=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)

test: test-build
	cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory fuzz-smoke

fuzz-build: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLW_FUZZ=ON -DLW_WERROR=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Every harness over its seed corpus for FUZZ_SECONDS (new inputs go to .fuzz/).
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run_all.sh $(FUZZ_BUILD)

# The short run make test does: each harness FUZZ_SMOKE_SECONDS seconds.
fuzz-smoke: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) bash tests/fuzz/run_all.sh $(FUZZ_BUILD)

# The floods of make test, STRESS_SCALE times larger (sanitizer build).
STRESS_SCALE ?= 5
stress: test-build
	LW_SOURCE_DIR=$(CURDIR) LW_FLOOD_SCALE=$(STRESS_SCALE) bash tests/e2e/check_floods.sh $(TEST_BUILD)/leakwatch

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

bench: build
	bash bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD)
