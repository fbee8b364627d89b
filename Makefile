# router - Kafka topic fan-out router. See README.md.
#
#   make deps    install the Debian packages it needs (only when missing)
#   make         build the router (warnings are errors)
#   make run     deps + build + router --demo on the embedded mock cluster
#   make test    deps + build + unit, end-to-end and fault-injection tests
#   make check   the same tests on an ASan + UBSan + LSan build, then a
#                short run of every fuzz target (fuzz-short)
#   make fuzz    libFuzzer targets (clang), FUZZ_SECONDS each
#   make soak    the end-to-end and fault scenarios SOAK_REPEAT times
#                (SOAK_BUSY=1: with one core kept busy)
#   make valgrind  end-to-end scenarios with the router under memcheck
#   make bench   benchmark harness (bench-quick: one configuration)
#   make format  clang-format every C file (format-check: fail if one is not)

CC      ?= cc
BUILD   ?= build
PKGS    := rdkafka libpcre2-8 libmicrohttpd jansson
DEBS    := librdkafka-dev libpcre2-dev libmicrohttpd-dev libjansson-dev \
           libcmocka-dev kcat curl jq gnuplot-nox pkg-config clang \
           clang-format libclang-rt-14-dev valgrind
CFLAGS_WARN := -std=c11 -Wall -Wextra -Wformat=2 -Werror
CFLAGS  ?= -g -O2
ALL_CFLAGS = $(CFLAGS_WARN) $(CFLAGS) -D_GNU_SOURCE -Iinclude -MMD -MP \
             $(SAN_FLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
endif

# Explicit source lists, one per part of the tree.
RULES_SRC   := rules/mem.c rules/jsonscan.c rules/jsonscan_val.c \
               rules/jsonptr.c rules/rules_map.c rules/rules_escape.c \
               rules/rules_topic.c rules/rules_ctx.c rules/rules_cond.c \
               rules/rules_tmpl.c rules/rules_match.c rules/rules_expand.c \
               rules/rules_set.c rules/rules_load.c rules/rules_eval.c
CORE_SRC    := src/log.c src/clock.c src/dlhdr.c src/tracker.c src/metrics.c \
               src/anomalies.c src/sha256.c src/utf8.c
PROC_SRC    := src/pipeline_base.c src/pipeline_parts.c src/pipeline_ctx.c \
               src/pipeline_topics.c src/pipeline_stats.c \
               src/pipeline_txnfail.c src/pipeline_dlq.c src/pipeline_route.c \
               src/pipeline_txn.c src/pipeline_hold.c src/pipeline_rebalance.c \
               src/pipeline.c src/rulestopic.c \
               src/demo.c src/options.c src/control.c src/admin.c \
               src/dlqscan.c src/anomscan.c src/dlqsel.c src/dlqstats.c \
               src/dlqsearch.c src/dlqreplay.c src/dlqtool.c
ROUTER_SRC  := router.c $(RULES_SRC) $(CORE_SRC) $(PROC_SRC)

UNIT_TESTS  := test_jsonscan test_rules test_tracker test_admin test_metrics \
               test_anomalies test_sha256 test_bench
E2E_TOOL_SRC := tests/e2e/e2e_tool.c tests/e2e/e2e_dataset.c \
                tests/e2e/e2e_verify.c tests/e2e/e2e_emulate.c src/log.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

.PHONY: all deps run test check unit e2e faults soak fuzz fuzz-short \
        valgrind bench bench-quick format format-check clean

all: router $(BUILD)/bench/rules-bench $(BUILD)/bench/router-bench

router: $(BUILD)/router
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/router: $(call obj,$(ROUTER_SRC))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/test_jsonscan: $(call obj,tests/test_jsonscan.c rules/jsonscan.c \
                         rules/jsonscan_val.c rules/jsonptr.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/test_rules: $(call obj,tests/test_rules.c $(RULES_SRC))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/test_tracker: $(call obj,tests/test_tracker.c src/tracker.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/test_metrics: $(call obj,tests/test_metrics.c src/metrics.c src/utf8.c \
                       rules/mem.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/test_anomalies: $(call obj,tests/test_anomalies.c src/anomalies.c src/utf8.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/test_admin: $(call obj,tests/test_admin.c src/admin.c src/log.c \
                     src/dlqscan.c src/clock.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/test_sha256: $(call obj,tests/test_sha256.c src/sha256.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/bench/rules-bench: $(call obj,bench/rules_bench.c $(RULES_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

# The benchmark harness (bench/README.md): BENCH_ARGS passes options, e.g.
# make bench BENCH_ARGS="--partitions 16 --rules 100 -X producer.linger.ms=20"
BENCH_SRC := bench/bench_main.c bench/bench_run.c bench/bench_proc.c \
             bench/bench_kafka.c bench/bench_child.c bench/bench_data.c \
             bench/bench_report.c
BENCH_ARGS ?=

$(BUILD)/bench/router-bench: $(call obj,$(BENCH_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

# Unit tests of the harness's assumptions (event sizes, expected counts,
# socket byte counters) and of its report.
$(BUILD)/test_bench: $(call obj,bench/test_bench.c bench/bench_data.c \
                     bench/bench_proc.c bench/bench_report.c $(RULES_SRC))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_ALL)

bench: deps
	$(MAKE) router $(BUILD)/bench/router-bench
	$(BUILD)/bench/router-bench --router ./router $(BENCH_ARGS)

bench-quick: deps
	$(MAKE) router $(BUILD)/bench/router-bench
	$(BUILD)/bench/router-bench --router ./router --quick $(BENCH_ARGS)

$(BUILD)/e2e_tool: $(call obj,$(E2E_TOOL_SRC))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

deps:
	@missing=""; for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	        grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$missing"; \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	        --no-install-recommends $$missing; \
	fi

run: deps
	$(MAKE) router
	./router --demo

unit: $(addprefix $(BUILD)/,$(UNIT_TESTS))
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $(BUILD)/$$t; done

e2e: $(BUILD)/router $(BUILD)/e2e_tool
	BUILD=$(BUILD) bash tests/e2e/run.sh $(E2E_SCENARIOS)

faults: $(BUILD)/router $(BUILD)/e2e_tool
	BUILD=$(BUILD) bash tests/e2e/faults/run.sh $(FAULT_SCENARIOS)

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) faults

# The end-to-end and fault scenarios over and over (SOAK_REPEAT times
# each, about 7 min a round), with SOAK_BUSY cores kept busy by a busy
# loop (tests/e2e/soak.sh): `make soak SOAK_BUSY=1` is a loaded machine.
SOAK_REPEAT ?= 10
SOAK_BUSY ?= 0
soak: $(BUILD)/router $(BUILD)/e2e_tool
	SOAK_REPEAT=$(SOAK_REPEAT) SOAK_BUSY=$(SOAK_BUSY) BUILD=$(BUILD) \
	    E2E_SCENARIOS="$(E2E_SCENARIOS)" \
	    FAULT_SCENARIOS="$(FAULT_SCENARIOS)" bash tests/e2e/soak.sh

# Sanitizer runs: leak detection on even if the environment turned it off,
# and exit code 23 on any ASan, LSan or UBSan finding (no test expects 23;
# badinput expects the router's own 1 and 2). Then a short fuzz run.
check: deps
	ASAN_OPTIONS=$(ASAN_OPTIONS):detect_leaks=1:exitcode=23 \
	UBSAN_OPTIONS=$(UBSAN_OPTIONS):print_stacktrace=1:exitcode=23 \
	    $(MAKE) BUILD=build-san SAN=1 unit e2e faults
	$(MAKE) fuzz-short

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_rules_load fuzz_rules_eval fuzz_jsonscan fuzz_admin
fuzz: deps
	$(MAKE) CC=clang BUILD=build-fuzz \
	    SAN_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
	    $(addprefix build-fuzz/,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p tests/fuzz/corpus-$$t; \
	    echo "== $$t for $(FUZZ_SECONDS)s"; \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	        build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
	        tests/fuzz/corpus-$$t tests/fuzz/seeds/$$t; \
	done

# Each fuzz target for FUZZ_SHORT_SECONDS over a copy of its corpus and
# seeds (the tree is not written to): fails on a crash, leak or hang, and
# prints each target's executions (tests/fuzz/short.sh).
FUZZ_SHORT_SECONDS ?= 60
fuzz-short: deps
	$(MAKE) CC=clang BUILD=build-fuzz \
	    SAN_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
	    $(addprefix build-fuzz/,$(FUZZ_TARGETS))
	FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS) FUZZ_BUILD=build-fuzz \
	    bash tests/fuzz/short.sh $(FUZZ_TARGETS)

# End-to-end scenarios (VG_SCENARIOS, default routing sigterm admin
# badinput backpressure) with the normal build of the router under
# valgrind memcheck: fails on any memcheck error or definite leak
# (tests/valgrind/run.sh; logs in build/valgrind).
VG_SCENARIOS ?=
valgrind: deps
	$(MAKE) BUILD=build SAN= build/router build/e2e_tool
	BUILD=build bash tests/valgrind/run.sh $(VG_SCENARIOS)

build-fuzz/fuzz_admin: $(call obj,tests/fuzz/fuzz_admin.c src/admin.c \
                              src/log.c src/dlqscan.c src/clock.c)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_ALL)

build-fuzz/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c $(RULES_SRC))
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_ALL)

# Every C file the repository holds, formatted by its .clang-format.
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format: deps
	clang-format -i --style=file $(FORMAT_FILES)

format-check: deps
	@bad=""; for f in $(FORMAT_FILES); do \
	    clang-format --style=file "$$f" | cmp -s - "$$f" || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then \
	    echo "format-check: not formatted (make format):$$bad"; exit 1; \
	fi; echo "format-check: $(words $(FORMAT_FILES)) files formatted"

clean:
	rm -rf build build-san build-fuzz router

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
