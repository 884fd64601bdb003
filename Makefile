# batchbench — build with `make`; `make test` runs every test; `make asan`
# runs them again under AddressSanitizer + UndefinedBehaviorSanitizer; `make
# fuzz` runs the file readers' fuzzers (libFuzzer) for FUZZ_SECONDS each.
CC      ?= gcc
BUILD   ?= build
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fopenmp -Isrc -MMD -MP
override CFLAGS += $(shell pkg-config --cflags cairo fontconfig)
BASE_LIBS := -ldnnl -lcjson -ljpeg -lprotobuf-c -lm -fopenmp $(shell pkg-config --libs cairo fontconfig)
LDLIBS  += $(BASE_LIBS)

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

# ONNX files are read with protobuf-c (src/onnx/onnx_model.c). The schema is
# Debian's (libonnx-dev); protoc-c compiles it at build time into
# $(BUILD)/gen/onnx/onnx.pb-c.{c,h}: nothing generated is committed.
ONNX_INC   := /usr/include
ONNX_PROTO := $(ONNX_INC)/onnx/onnx.proto
GEN_DIR    := $(BUILD)/gen
ONNX_PB_C  := $(GEN_DIR)/onnx/onnx.pb-c.c
ONNX_PB_H  := $(GEN_DIR)/onnx/onnx.pb-c.h
override CFLAGS += -I$(GEN_DIR)

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
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.o) $(ONNX_PB_C:.c=.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# `make` alone builds the binary (the first rule below would otherwise be the
# default goal).
.DEFAULT_GOAL := all

# The commit batchbench is built from, recorded in every result file, with
# "-dirty" when tracked files differ from it (a result then says that its
# binary is not exactly that commit).
BB_GIT_DIRTY  := $(shell test -n "$$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo -dirty)
BB_GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(BB_GIT_DIRTY)
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
ONNX_PARITY  := /usr/bin/python3 tests/onnx/run_onnx_parity.py

.PHONY: all test check unit cli slurm parity onnx-parity onnx-parity-siblings asan asan-build fuzz clean
all: $(BUILD)/batchbench

$(BUILD)/libbatchbench.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/batchbench: $(CLI_OBJ) $(BUILD)/libbatchbench.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Every object waits for the generated header (order-only: on a clean build
# no .d file says yet which sources include it).
$(BUILD)/%.o: %.c | $(ONNX_PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(ONNX_PB_C) $(ONNX_PB_H) &: $(ONNX_PROTO)
	@mkdir -p $(GEN_DIR)
	protoc-c --c_out=$(GEN_DIR) -I$(ONNX_INC) onnx/onnx.proto

# The generated code builds with the project's full warning set; its own rule
# only because its source lives under $(BUILD).
$(ONNX_PB_C:.c=.o): $(ONNX_PB_C)
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

# Every value's shape of an ONNX file at a batch size (src/onnx/onnx_eval.h):
# `onnx_eval_dump MODEL N [--quiet|--all]`, for looking into an import.
$(BUILD)/tests/tools/onnx_eval_dump: tests/tools/onnx_eval_dump.c $(BUILD)/libbatchbench.a
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

cli: $(BUILD)/batchbench $(BUILD)/tests/tools/stats_dump $(BUILD)/tests/tools/sim_dump $(BUILD)/tests/tools/onnx_eval_dump
	tests/cli/test_cli.sh $(BUILD)/batchbench
	tests/cli/test_run.sh $(BUILD)/batchbench
	tests/cli/test_report.sh $(BUILD)/batchbench
	tests/cli/test_schema.sh
	tests/cli/test_compare.sh $(BUILD)/batchbench
	tests/cli/test_tools.sh $(BUILD)/batchbench
	tests/cli/test_gpu_vs_peers.sh $(BUILD)/batchbench
	tests/cli/test_data.sh $(BUILD)/batchbench
	tests/cli/test_dataload.sh $(BUILD)/batchbench
	tests/cli/test_pipeline.sh $(BUILD)/batchbench
	tests/cli/test_maxbatch.sh $(BUILD)/batchbench
	tests/cli/test_shard.sh $(BUILD)/batchbench
	tests/cli/test_energy.sh $(BUILD)/batchbench
	tests/cli/test_serve.sh $(BUILD)/batchbench
	tests/cli/test_slo.sh $(BUILD)/batchbench $(BUILD)/tests/tools/sim_dump
	tests/cli/test_serve_sim.sh $(BUILD)/batchbench $(BUILD)/tests/tools/sim_dump
	tests/cli/test_onnx_files.sh $(BUILD)/batchbench
	tests/cli/test_onnx_cli.sh $(BUILD)/batchbench
	/usr/bin/python3 tests/onnx/run_node_tests.py --bin $(BUILD)/batchbench
	/usr/bin/python3 tests/stats/check_stats.py $(BUILD)/tests/tools/stats_dump

# Parity with torchvision: all 12 models x both heads (needs python3-torch).
parity: $(BUILD)/batchbench
	$(PARITY) --bin $(BUILD)/batchbench

# ONNX import against ONNX Runtime: the 12 seed models (also against the
# built-in model on the same weights), 13 more torchvision models, six
# small siblings of theirs (tools/bb_onnx.py's SIBLINGS_QUICK),
# sixteen of timm's models (TIMM_QUICK) and resnet18 with nine other
# activations or outputs (ACTIVATIONS: PReLU, ELU, Mish, log-softmax...) and
# torchvision's video classifiers (VIDEO_MODELS: 3-D convs and pools, and
# mvit_v1_b's Loops and Ifs, mvit_v2_s's relative positions), each
# exported with random weights, batch 1 and 3 (needs .venv's onnxruntime,
# scripts/install-deps.sh). `make check` runs its --quick subset.
onnx-parity: $(BUILD)/batchbench
	$(ONNX_PARITY) --models all,siblings-quick,timm-quick,activations,video --bin $(BUILD)/batchbench

# Every other torchvision classification model PyTorch 1.13 exports (other
# widths and depths of the same families, alexnet, mnasnet; 51 models): 15
# minutes on the 2-core AVX-512 VM, files of up to 2.6 GB (regnet_y_128gf,
# as external data), so not part of `make test`.
onnx-parity-siblings: $(BUILD)/batchbench
	$(ONNX_PARITY) --models siblings --bin $(BUILD)/batchbench

# A real Slurm cluster (two slurmd nodes in network namespaces, started and
# stopped by the test; needs root): sharded sweeps through scripts/slurm.
slurm: $(BUILD)/batchbench
	tests/slurm/test_slurm.sh $(BUILD)/batchbench

test: all unit cli slurm parity onnx-parity

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan-build:
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" build-asan/batchbench $(UNIT_BIN:$(BUILD)/%=build-asan/%) build-asan/tests/tools/stats_dump build-asan/tests/tools/sim_dump

asan: asan-build
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" test

# Fuzzing (libFuzzer, with ASan and UBSan): every tests/fuzz/fuzz_*.c target
# is built with clang into $(BUILD)/fuzz/ against the library compiled again
# with clang into $(BUILD)/fuzz/obj (without CUDA); then tests/fuzz/run_fuzz.sh
# generates the seeds and runs each target for FUZZ_SECONDS, its corpus kept
# in $(BUILD)/fuzz/corpus/<target>. A crash, leak or sanitizer report fails.
# The library is written for gcc, whose builds hold it to -Werror: here
# clang's warnings are shown, not fatal (minus two it raises on gcc-only
# vectorisation hints), while the fuzz targets themselves use -Werror.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CFLAGS  := -O1 -g -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -fopenmp -Isrc -I$(GEN_DIR) -Itests \
                -MMD -MP $(shell pkg-config --cflags cairo fontconfig) \
                -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIB_WARN := -Wno-unknown-attributes -Wno-pass-failed
FUZZ_LIB_SRC := $(filter-out src/backends/cuda/%,$(LIB_SRC)) src/backends/cuda/cuda_absent.c
FUZZ_OBJ     := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_DIR)/obj/gen/onnx/onnx.pb-c.o
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_DIR)/obj/%.o: %.c | $(ONNX_PB_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WARN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/obj/gen/onnx/onnx.pb-c.o: $(ONNX_PB_C)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WARN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libbatchbench.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libbatchbench.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libbatchbench.a $(BASE_LIBS)

$(FUZZ_DIR)/make_seeds: tests/fuzz/make_seeds.c $(FUZZ_DIR)/libbatchbench.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -o $@ $< $(FUZZ_DIR)/libbatchbench.a $(BASE_LIBS)

fuzz: $(FUZZ_BIN) $(FUZZ_DIR)/make_seeds
	tests/fuzz/run_fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Everything, plain and sanitized; parity cases are generated once and run
# through both binaries; then the fuzzers, FUZZ_SECONDS each. This is the
# README's test command and what CI runs.
check: all asan-build $(PEER_BIN)
	$(MAKE) unit cli slurm
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" unit cli
	$(PARITY) --bin $(BUILD)/batchbench --bin build-asan/batchbench
	$(ONNX_PARITY) --quick --bin $(BUILD)/batchbench --bin build-asan/batchbench
	$(MAKE) fuzz
ifeq ($(CUDA),1)
	@echo "== the same sources without CUDA (make CUDA=0)"
	$(MAKE) BUILD=build-nocuda CUDA=0 build-nocuda/batchbench
	tests/cli/test_cli.sh build-nocuda/batchbench
endif

clean:
	rm -rf build build-asan build-nocuda

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
