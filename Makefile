# batchbench — build with `make`; `make test` runs every test; `make asan`
# runs them again under AddressSanitizer + UndefinedBehaviorSanitizer.
CC      ?= gcc
BUILD   ?= build
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fopenmp -Isrc -MMD -MP
override CFLAGS += $(shell pkg-config --cflags cairo fontconfig)
LDLIBS  += -ldnnl -lcjson -ljpeg -lm -fopenmp $(shell pkg-config --libs cairo fontconfig)

# The CUDA backend is built when nvcc is found (CUDA_HOME, default
# /usr/local/cuda); `make CUDA=0` builds without it. cuDNN may live apart from
# the toolkit (e.g. PyTorch's nvidia-cudnn-cu13 under site-packages): point
# CUDNN_ROOT at the folder holding include/cudnn.h and lib/libcudnn.so.9.
CUDA_HOME  ?= /usr/local/cuda
NVCC       ?= $(CUDA_HOME)/bin/nvcc
CUDA       ?= $(if $(wildcard $(NVCC)),1,0)
CUDNN_ROOT ?= $(CUDA_HOME)
CUDNN_LIB  := $(firstword $(patsubst %/,%,$(dir $(wildcard $(CUDNN_ROOT)/lib64/libcudnn.so.9 $(CUDNN_ROOT)/lib/libcudnn.so.9))) $(CUDNN_ROOT)/lib64)
CUDA_ARCHS ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
NVCCFLAGS  ?= -O3
override NVCCFLAGS += -MMD -MP -std=c++17 $(CUDA_ARCHS) -Isrc -Xcompiler -Wall,-Wextra,-Werror

LIB_SRC := $(sort $(shell find src -name '*.c' ! -path 'src/cli/*' ! -path 'src/backends/cuda/*'))
ifeq ($(CUDA),1)
LIB_SRC += $(sort $(filter-out %/cuda_absent.c,$(wildcard src/backends/cuda/*.c)))
CU_SRC  := $(sort $(wildcard src/backends/cuda/*.cu))
override CFLAGS += -DBB_HAVE_CUDA=1 -I$(CUDA_HOME)/include -I$(CUDNN_ROOT)/include
LDLIBS  += -L$(CUDNN_LIB) -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDNN_LIB) -Wl,-rpath,$(CUDA_HOME)/lib64 \
           -l:libcudnn.so.9 -lcublasLt -lcudart_static -lstdc++ -ldl -lrt -lpthread
else
LIB_SRC += src/backends/cuda/cuda_absent.c
CU_SRC  :=
endif
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# `make` alone builds the binary (the first rule below would otherwise be the
# default goal).
.DEFAULT_GOAL := all

# The commit batchbench is built from, recorded in every result file.
BB_GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
$(BUILD)/src/util/version.o: override CFLAGS += -DBB_GIT_COMMIT=\"$(BB_GIT_COMMIT)\"
# ... rebuilt whenever that commit changes (a stamp rewritten only then).
$(BUILD)/git-commit: FORCE
	@mkdir -p $(BUILD); echo '$(BB_GIT_COMMIT)' | cmp -s - $@ || echo '$(BB_GIT_COMMIT)' > $@
$(BUILD)/src/util/version.o: $(BUILD)/git-commit
.PHONY: FORCE
FORCE:

ASAN_CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_LDFLAGS := -fsanitize=address,undefined
PARITY       := /usr/bin/python3 tests/parity/run_parity.py

.PHONY: all test check unit cli slurm parity asan asan-build clean
all: $(BUILD)/batchbench

$(BUILD)/libbatchbench.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/batchbench: $(CLI_OBJ) $(BUILD)/libbatchbench.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbatchbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libbatchbench.a $(LDFLAGS) $(LDLIBS) -lcmocka

# The C side of tests/stats/check_stats.py (statistics against NumPy/SciPy).
$(BUILD)/tests/tools/stats_dump: tests/tools/stats_dump.c $(BUILD)/libbatchbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbatchbench.a $(LDFLAGS) $(LDLIBS)

# The serving simulation for one setting, as JSON (tests/cli/test_slo.sh, and
# the comparison with `serve`: tests/cli/test_serve_sim.sh).
$(BUILD)/tests/tools/sim_dump: tests/tools/sim_dump.c $(BUILD)/libbatchbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbatchbench.a $(LDFLAGS) $(LDLIBS)

# Small measurement programs in peers/ (the harness's own overhead, the
# transform's speed): built by `make check` so that they cannot rot.
PEER_SRC := $(sort $(wildcard peers/*.c))
PEER_BIN := $(PEER_SRC:peers/%.c=$(BUILD)/peers/%)
$(BUILD)/peers/%: peers/%.c $(BUILD)/libbatchbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbatchbench.a $(LDFLAGS) $(LDLIBS)

# Unit tests (cmocka), then the command-line tests (bad input, exit codes).
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

cli: $(BUILD)/batchbench $(BUILD)/tests/tools/stats_dump $(BUILD)/tests/tools/sim_dump
	tests/cli/test_cli.sh $(BUILD)/batchbench
	tests/cli/test_run.sh $(BUILD)/batchbench
	tests/cli/test_report.sh $(BUILD)/batchbench
	tests/cli/test_schema.sh
	tests/cli/test_compare.sh $(BUILD)/batchbench
	tests/cli/test_tools.sh $(BUILD)/batchbench
	tests/cli/test_data.sh $(BUILD)/batchbench
	tests/cli/test_dataload.sh $(BUILD)/batchbench
	tests/cli/test_pipeline.sh $(BUILD)/batchbench
	tests/cli/test_maxbatch.sh $(BUILD)/batchbench
	tests/cli/test_shard.sh $(BUILD)/batchbench
	tests/cli/test_energy.sh $(BUILD)/batchbench
	tests/cli/test_serve.sh $(BUILD)/batchbench
	tests/cli/test_slo.sh $(BUILD)/batchbench $(BUILD)/tests/tools/sim_dump
	tests/cli/test_serve_sim.sh $(BUILD)/batchbench $(BUILD)/tests/tools/sim_dump
	/usr/bin/python3 tests/stats/check_stats.py $(BUILD)/tests/tools/stats_dump

# Parity with torchvision: all 12 models x both heads (needs python3-torch).
parity: $(BUILD)/batchbench
	$(PARITY) --bin $(BUILD)/batchbench

# A real Slurm cluster (two slurmd nodes in network namespaces, started and
# stopped by the test; needs root): sharded sweeps through scripts/slurm.
slurm: $(BUILD)/batchbench
	tests/slurm/test_slurm.sh $(BUILD)/batchbench

test: all unit cli slurm parity

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan-build:
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" build-asan/batchbench $(UNIT_BIN:$(BUILD)/%=build-asan/%) build-asan/tests/tools/stats_dump build-asan/tests/tools/sim_dump

asan: asan-build
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" test

# Everything, plain and sanitized; parity cases are generated once and run
# through both binaries. This is the README's test command and what CI runs.
check: all asan-build $(PEER_BIN)
	$(MAKE) unit cli slurm
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" unit cli
	$(PARITY) --bin $(BUILD)/batchbench --bin build-asan/batchbench
ifeq ($(CUDA),1)
	@echo "== the same sources without CUDA (make CUDA=0)"
	$(MAKE) BUILD=build-nocuda CUDA=0 build-nocuda/batchbench
	tests/cli/test_cli.sh build-nocuda/batchbench
endif

clean:
	rm -rf build build-asan build-nocuda

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
