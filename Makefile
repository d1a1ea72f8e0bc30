# pixelcnn -- plain Makefile.
#   make            library (static + shared) and the pixelcnn tool
#   make test       the test suite, optimized and under ASan + UBSan
#   make debug      the test suite under ASan + UBSan only (-march=native)
#   make portable   the test suite built with NATIVE=0 only
#   make test-python  python/tests (pytest) against this build's tool and
#                   library: the Python package (docs/python.md) job by job
#                   against the CLI, the PyTorch interop (docs/interop.md);
#                   then an installed copy of the package
#   make check-api  the .so exports exactly the header's functions; the
#                   header's example is examples/train_sample.c, which is
#                   built against the .so and run; make install works; no
#                   function of tools/ is over 80 lines
#   make bench      conv vs SGEMM, model images/s, vs the PyTorch twin
#   make bench-compare  models vs the twin, RUNS=3 alternating pairs
#                   (TWIN=full: the reference twin instead of the lean one;
#                   CONFIGS="1,32,5 2,64,5": only those configs)
#   make bench-bf16  --compute bf16 vs f32: models and sampling, RUNS=3
#                   alternating pairs, median speed-ups; the conv table
#                   (CONFIGS="1,32,5 2,64,5": those models only)
#   make profile    time per op class of a training step and of sampling
#                   (CONFIG=R,F,M, default the paper's 5,160,10;
#                   docs/profile.md)
#   make bench-quality MINUTES=M  train ours and the lean PyTorch peer M
#                   minutes each, same data, recipe and cores; both curves
#                   and test bits/dim (CONFIG=R,F,M, QUALITY_OUT=DIR keeps
#                   the runs)
#   make bench-chains MINUTES=M  plain vs the gray, pyramid and
#                   gray-pyramid chains at one budget, resumable (CHAINS_OUT)
#   make bench-quality-seeds MINUTES=M SEEDS="1 2 3" WHOS="..."  the
#                   equal-budget table over seeds, resumable (QUALITY_OUT)
#   make run        the main job on its embedded default
#   make pixeldefend  experiments/pixeldefend's program; make
#                   pixeldefend-check its gradient and purification checks
#   make install PREFIX=/usr/local  (also the Python package, python/)
#   make fuzz       libFuzzer targets (clang-14), each run FUZZ_SECONDS
#   make fuzz-T     one target T (safetensors, checkpoint, ...) the same way
#   make test-mpi   the data-parallel tests under mpirun (docs/mpi.md)
# Switches: NATIVE=0 (no -march=native), WERROR=1 (warnings fail),
#           THREADS=N (for run/bench), CC=clang, MPI=1 (also build
#           $(BUILD)/mpi/pixelcnn, the tool for mpirun; needs Open MPI:
#           sh scripts/deps.sh mpi).

CC      ?= cc
PREFIX  ?= /usr/local
NATIVE  ?= 1
WERROR  ?= 0
BUILD   ?= build

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unknown-pragmas
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ARCH    := $(if $(filter 1,$(NATIVE)),-march=native,)
# OpenBLAS built with OpenMP (Debian's libopenblas-openmp-dev): its threads
# are our OpenMP threads, so GEMM and our im2col loops never fight over the
# cores (the pthread build spins and halves conv throughput; docs/perf.md).
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BLAS_DIR ?= /usr/lib/$(MULTIARCH)/openblas-openmp
BLAS_INC ?= -I/usr/include/$(MULTIARCH)/openblas-openmp
BLAS_LIB ?= -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas
# (`make run`, `make test` and `make deps` install it first: no check)
ifeq ($(wildcard $(BLAS_DIR)/libopenblas.so),)
ifneq ($(filter-out clean deps run test,$(or $(MAKECMDGOALS),all)),)
$(error OpenBLAS (OpenMP build) not found in $(BLAS_DIR): run `make deps` \
  or `apt-get install libopenblas-openmp-dev`, or set BLAS_DIR/BLAS_INC/BLAS_LIB)
endif
endif
CPPFLAGS += -Iinclude -Isrc -Isrc/cpu $(BLAS_INC) -D_POSIX_C_SOURCE=200809L
OPT     ?= -O3 $(ARCH)
CFLAGS  ?=
# hidden: the shared library exports only what include/pixelcnn.h marks
# PCNN_API (scripts/check_exports.sh checks it)
ALLCFLAGS = -std=c11 $(WARN) -fopenmp -fPIC -fvisibility=hidden $(OPT) \
            $(CFLAGS)
# zlib: gzip'd IDX files; libstb: stb_image's decoders (src/data/)
LDLIBS  += $(BLAS_LIB) -fopenmp -lm -lz -lstb

SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
# stb_image 2.27 (compiled in) shifts a zero by 32 bits or more when a
# JPEG's entropy data meets a marker mid-code (fixed upstream in 2.28):
# undefined but harmless, and not ours to patch (docs/fuzzing.md). (GCC 12
# ignores -fno-sanitize=shift-exponent: the whole shift check goes.)
NOSAN_src/data/image_decode.c := -fno-sanitize=shift

KERNEL_SRC := $(filter-out src/cpu/backend_cpu.c,$(wildcard src/cpu/*.c))
LIB_SRC    := $(wildcard src/core/*.c src/api/*.c src/io/*.c src/model/*.c \
              src/chain/*.c src/codec/*.c \
              src/data/*.c src/train/*.c) \
              src/cpu/backend_cpu.c $(KERNEL_SRC)
TEST_SRC   := $(wildcard tests/*.c)
# (tools/dist_mpi.c: only in the MPI build of the tool, $(BUILD)/mpi/)
TOOL_SRC   := $(filter-out tools/dist_mpi.c,$(wildcard tools/*.c))
HEADERS    := $(wildcard include/*.h src/*/*.h tests/*.h tools/*.h)


# $(call objs,DIR,SOURCES)
objs = $(patsubst %.c,$(1)/%.o,$(2))

LIB_OBJ   := $(call objs,$(BUILD)/f32,$(LIB_SRC))
F64_OBJ   := $(call objs,$(BUILD)/f64,$(KERNEL_SRC))
TEST_OBJ  := $(call objs,$(BUILD)/f32,$(TEST_SRC))
TOOL_OBJ  := $(call objs,$(BUILD)/f32,$(TOOL_SRC))

.PHONY: all test debug portable bench bench-compare bench-bf16 bench-quality \
        bench-quality-seeds bench-chains profile run \
        install clean deps pixeldefend pixeldefend-check \
        check-tool check-api test-python install-python example fuzz \
        fuzz-build fuzz-check test-mpi mpi-check
all: $(BUILD)/libpixelcnn.a $(BUILD)/libpixelcnn.so $(BUILD)/pixelcnn \
     $(if $(filter 1,$(MPI)),$(BUILD)/mpi/pixelcnn)

$(BUILD)/f32/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(NOSAN_$<) -c $< -o $@

$(BUILD)/f64/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DPCNN_F64 $(ALLCFLAGS) -c $< -o $@

$(BUILD)/libpixelcnn.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libpixelcnn.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/pixelcnn: $(TOOL_OBJ) $(BUILD)/libpixelcnn.a
	$(CC) $(ALLCFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libpixelcnn.a $(LDLIBS)

# The tool for mpirun (docs/mpi.md): the same objects with the MPI ranks
# (tools/dist_mpi.c) for the single process (dist_none.c), linked with
# Open MPI (libopenmpi-dev: mpicc gives its flags). The library stays
# free of MPI: the trainer takes the collectives as a pcnn_comm.
MPICC      ?= mpicc
MPI_CFLAGS  = $(shell $(MPICC) --showme:compile)
MPI_LIBS    = $(shell $(MPICC) --showme:link)
MPI_TOOL_OBJ = $(filter-out %/tools/dist_none.o,$(TOOL_OBJ)) \
               $(BUILD)/f32/tools/dist_mpi.o
$(BUILD)/f32/tools/dist_mpi.o: CPPFLAGS += $(MPI_CFLAGS)
$(BUILD)/mpi/pixelcnn: $(MPI_TOOL_OBJ) $(BUILD)/libpixelcnn.a | mpi-check
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -o $@ $(MPI_TOOL_OBJ) $(BUILD)/libpixelcnn.a \
	    $(LDLIBS) $(MPI_LIBS)
$(BUILD)/f32/tools/dist_mpi.o: | mpi-check

mpi-check:
	@command -v $(MPICC) >/dev/null || { echo "MPI=1: $(MPICC) not" \
	    "found: run sh scripts/deps.sh mpi (libopenmpi-dev," \
	    "openmpi-bin)" >&2; exit 1; }

# The data-parallel tests (tests/test_mpi.c) with the MPI tool under
# mpirun; they skip (counted as skipped) when it cannot be built.
HAVE_MPI = $(shell command -v $(MPICC) >/dev/null && command -v mpirun \
             >/dev/null && echo 1)
test-mpi: $(BUILD)/test_runner $(BUILD)/pixelcnn \
          $(if $(HAVE_MPI),$(BUILD)/mpi/pixelcnn)
	PCNN_CLI=$(BUILD)/pixelcnn PCNN_MPI_CLI=$(BUILD)/mpi/pixelcnn \
	    $(BUILD)/test_runner mpi_

# (with the tool's flag parser, which tests/test_flags.c tests directly)
$(BUILD)/test_runner: $(TEST_OBJ) $(F64_OBJ) $(BUILD)/f32/tools/flags.o \
                      $(BUILD)/libpixelcnn.a
	$(CC) $(ALLCFLAGS) -o $@ $(TEST_OBJ) $(F64_OBJ) \
	    $(BUILD)/f32/tools/flags.o $(BUILD)/libpixelcnn.a $(LDLIBS)

# The example of the header, as a user builds it: <pixelcnn.h> alone (no
# -Isrc) and the shared library alone, so the exported API must suffice.
$(BUILD)/train_sample: examples/train_sample.c include/pixelcnn.h \
                       $(BUILD)/libpixelcnn.so
	$(CC) -std=c11 $(WARN) $(OPT) $(CFLAGS) -Iinclude -o $@ $< \
	    -L$(BUILD) -Wl,-rpath,$(abspath $(BUILD)) -lpixelcnn

example: $(BUILD)/train_sample
	$(BUILD)/train_sample $(BUILD)/train_sample.safetensors

# The PixelDefend experiment (experiments/pixeldefend/README.md): a
# classifier from the public ops, attacked and purified; the public header
# and the static library only.
PD_SRC := $(wildcard experiments/pixeldefend/*.c)
$(BUILD)/pixeldefend: $(PD_SRC) $(wildcard experiments/pixeldefend/*.h) \
                      include/pixelcnn.h $(BUILD)/libpixelcnn.a
	$(CC) -std=c11 $(WARN) -fopenmp $(OPT) $(CFLAGS) -Iinclude \
	    -D_POSIX_C_SOURCE=200809L -o $@ $(PD_SRC) \
	    $(BUILD)/libpixelcnn.a $(LDLIBS)

pixeldefend: $(BUILD)/pixeldefend

# Its check (about 10 s on one thread): the classifier's input gradient
# against finite differences, pcnn_chain_purify against the experiment's
# naive loop on the committed weights; skipped without the data.
PD_DATA ?= ../shared/data/fashion-mnist
pixeldefend-check: $(BUILD)/pixeldefend
	@if [ -d $(PD_DATA) ]; then OMP_NUM_THREADS=1 $(BUILD)/pixeldefend \
	    check --data $(PD_DATA) \
	    --classifier results/pixeldefend/classifier.bin \
	    --density results/fashion-mnist-small/model.safetensors; \
	else echo "pixeldefend-check: skipped, no $(PD_DATA)"; fi

# The public surface: exports = declarations, the header's example = the
# example file (built and run), and an installed copy that works; and the
# tool stays thin: no function of tools/ over 80 lines; and the fp32 convs'
# hot loops keep their accumulators in registers (scripts/check_spills.sh).
check-api: $(BUILD)/libpixelcnn.so
	sh scripts/check_exports.sh $(BUILD)/libpixelcnn.so include/pixelcnn.h
	sh scripts/check_spills.sh $(BUILD)
	sh scripts/long_functions.sh 80 tools/*.c
	sh scripts/check_cards.sh
	sh scripts/check_example.sh include/pixelcnn.h examples/train_sample.c
	@$(MAKE) --no-print-directory example
	MAKE="$(MAKE)" sh scripts/check_install.sh $(BUILD)

# The test runner: `make test` runs it optimized, then under sanitizers
# (same instruction set, so the AVX-512 kernels are sanitized too), then
# the portable build (NATIVE=0: the scalar and cblas fallbacks).
# TESTS=substring runs the matching tests only.
test: deps
	@$(MAKE) --no-print-directory $(BUILD)/test_runner $(BUILD)/pixelcnn \
	    $(if $(HAVE_MPI),$(BUILD)/mpi/pixelcnn)
	PCNN_CLI=$(BUILD)/pixelcnn PCNN_MPI_CLI=$(BUILD)/mpi/pixelcnn \
	    $(BUILD)/test_runner $(TESTS)
	@$(MAKE) --no-print-directory check-api
	@$(MAKE) --no-print-directory test-python
	@$(MAKE) --no-print-directory debug
	@$(MAKE) --no-print-directory portable

# The Python tests (python3-pytest; those of the PyTorch interop skip
# without python3-torch) against this build's tool and library: the
# package's run each job through Python and through the CLI on the same
# inputs. Then an installed copy of the package is imported and used.
test-python: $(BUILD)/pixelcnn $(BUILD)/libpixelcnn.so
	PCNN_CLI=$(abspath $(BUILD))/pixelcnn \
	    PCNN_LIBRARY=$(abspath $(BUILD))/libpixelcnn.so OMP_NUM_THREADS=1 \
	    $(PYTHON) -m pytest -q -p no:cacheprovider python/tests
	MAKE="$(MAKE)" PYTHON="$(PYTHON)" sh scripts/check_install_python.sh $(BUILD)

# ASan + UBSan at -O1, built with -march=native like the optimized build
debug:
	$(MAKE) --no-print-directory BUILD=build/debug \
	    OPT="-O1 -g $(ARCH) $(SAN)" LDLIBS="$(LDLIBS) $(SAN)" \
	    build/debug/test_runner build/debug/pixelcnn
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    PCNN_CLI=build/debug/pixelcnn build/debug/test_runner $(TESTS)

# the portable fallback: no -march=native, optimized
portable:
	$(MAKE) --no-print-directory BUILD=build/portable NATIVE=0 \
	    build/portable/test_runner build/portable/pixelcnn
	PCNN_CLI=build/portable/pixelcnn build/portable/test_runner $(TESTS)

bench: $(BUILD)/pixelcnn
	TWIN="$(TWIN)" sh bench/run.sh $(BUILD) $(or $(THREADS),2)

# whole models against the twin in RUNS alternating pairs, median ratios
bench-compare: $(BUILD)/pixelcnn
	TWIN="$(TWIN)" CONFIGS="$(CONFIGS)" sh bench/compare_runs.sh $(BUILD) \
	    $(or $(RUNS),3) $(or $(THREADS),2)

# one training step and one sampling run per op class (docs/profile.md)
profile: $(BUILD)/pixelcnn
	$(BUILD)/pixelcnn profile --threads $(or $(THREADS),2) \
	    $(if $(CONFIG),--config $(CONFIG))

# bf16 against f32 compute in RUNS alternating pairs (docs/speed.md)
bench-bf16: $(BUILD)/pixelcnn
	sh bench/bf16.sh $(BUILD) $(or $(RUNS),3) $(or $(THREADS),2) "$(CONFIGS)"

# ours vs the lean PyTorch peer, MINUTES of training each (docs/training.md)
bench-quality: $(BUILD)/pixelcnn
	sh bench/quality.sh $(BUILD) $(or $(MINUTES),15) $(or $(THREADS),2) \
	    "$(CONFIG)" "$(QUALITY_OUT)"

# issue 20's table: MINUTES a run, each of WHOS once per seed of SEEDS,
# runs kept (and skipped when done) in QUALITY_OUT (docs/training.md)
bench-quality-seeds: $(BUILD)/pixelcnn
	sh bench/quality_seeds.sh $(BUILD) $(or $(MINUTES),15) $(or $(THREADS),2) \
	    "$(CONFIG)" $(or $(QUALITY_OUT),quality-runs) \
	    "$(or $(SEEDS),1 2 3)" "$(or $(WHOS),wn-uniform plain-uniform peer)"

# issue 19's equal-budget table: plain, gray, pyramid, gray-pyramid, each
# MINUTES on the same cores, resumable in CHAINS_OUT (docs/results.md)
bench-chains: $(BUILD)/pixelcnn
	sh bench/chain_budget.sh $(BUILD) $(or $(MINUTES),60) $(or $(THREADS),2) \
	    "$(CONFIG)" $(or $(CHAINS_OUT),chain-runs) \
	    "$(or $(METHODS),plain gray pyramid gray-pyramid)"

deps:
	@sh scripts/deps.sh

# The main job on its embedded default: a small PixelCNN++ trained on
# Fashion-MNIST for MINUTES minutes, its test bits/dim (all 10,000), then
# a grid of 64 samples (runs/fashion-mnist/samples.png).
MINUTES ?= 4
run:
	@sh scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	$(BUILD)/pixelcnn train --out runs/fashion-mnist --nr-resnet 1 \
	    --nr-filters 32 --nr-mix 5 --dropout 0 --minutes $(MINUTES) \
	    --save-every 200 $(if $(THREADS),--threads $(THREADS))
	$(BUILD)/pixelcnn sample --checkpoint runs/fashion-mnist/checkpoint.safetensors \
	    -n 64 -o runs/fashion-mnist/samples.png $(if $(THREADS),--threads $(THREADS))

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/pixelcnn.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libpixelcnn.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libpixelcnn.so $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(if $(filter 1,$(MPI)),$(BUILD)/mpi/pixelcnn,$(BUILD)/pixelcnn) \
	    $(DESTDIR)$(PREFIX)/bin/pixelcnn
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@BLAS_LIB@|$(BLAS_LIB)|' pixelcnn.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pixelcnn.pc
	@$(MAKE) --no-print-directory install-python

# The Python package (python/pixelcnn, pure Python over the .so) into the
# folder Debian's python3 reads for PREFIX: PREFIX/lib/python3.X/dist-
# packages (/usr/local/lib/python3.11/dist-packages on Debian 12; a
# PREFIX off sys.path needs PYTHONPATH). _installed.py records where the
# library went, so the package finds it without LD_LIBRARY_PATH.
PYTHON  ?= /usr/bin/python3
PY_VER   = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PY_SITE  = $(PREFIX)/lib/python$(PY_VER)/dist-packages
install-python:
	@if [ -z "$(PY_VER)" ]; then \
	    echo "install: no $(PYTHON): the Python package is not installed"; \
	else \
	    install -d $(DESTDIR)$(PY_SITE)/pixelcnn && \
	    install -m 644 python/pixelcnn/*.py $(DESTDIR)$(PY_SITE)/pixelcnn/ && \
	    printf '# written by make install\nLIBRARY = "%s"\n' \
	        "$(PREFIX)/lib/libpixelcnn.so" \
	        > $(DESTDIR)$(PY_SITE)/pixelcnn/_installed.py && \
	    echo "install: the Python package in $(PY_SITE)/pixelcnn"; \
	fi

clean:
	rm -rf build

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets (fuzz/*.c, docs/fuzzing.md), built with Debian's
# clang-14 (`sh scripts/deps.sh fuzz`) under ASan + UBSan from the library
# and tool sources (not the gcc-built archive). -fopenmp=libgomp: clang
# links GNU's OpenMP runtime, the one OpenBLAS uses, and compiles the
# pragmas as serial code (the targets load files; nothing runs in
# parallel). FUZZ_SECONDS per target; OMP_NUM_THREADS=1 (scripts/fuzz.sh).
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := safetensors checkpoint chain cifar idx idx_gzip image flags \
                codec
FUZZ_B       := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
# (variables used only in OpenMP clauses are unused in serial code)
FUZZ_CFLAGS  := -std=c11 $(WARN) -Wno-unused-variable -g -O1 $(ARCH) \
                -fopenmp=libgomp $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(call objs,$(FUZZ_B),$(LIB_SRC))
# every tool file but main() (renamed) and the command files that
# flags_sample.c includes
FUZZ_TOOL_OBJ := $(call objs,$(FUZZ_B),$(filter-out tools/cmd_sample.c \
                 tools/cmd_upscale.c,$(TOOL_SRC)))
FUZZ_OBJ_flags := $(FUZZ_TOOL_OBJ) $(FUZZ_B)/fuzz/flags_train.o \
                  $(FUZZ_B)/fuzz/flags_sample.o

# stops with a message when clang-14 or its libFuzzer runtime is missing
FUZZ_RT = $$($(FUZZ_CC) -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-$$(uname -m).a
fuzz-check:
	@command -v $(FUZZ_CC) >/dev/null && test -f "$(FUZZ_RT)" || \
	    { echo "make fuzz: $(FUZZ_CC) with libFuzzer not found: run" \
	      "sh scripts/deps.sh fuzz (clang-14, libclang-rt-14-dev)" >&2; \
	      exit 1; }

$(FUZZ_B)/%.o: %.c $(HEADERS) $(wildcard fuzz/*.h) | fuzz-check
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    $(if $(filter tools/pixelcnn.c,$<),-Dmain=pixelcnn_main \
	    -Wno-missing-prototypes) $(NOSAN_$<) -c $< -o $@
.PRECIOUS: $(FUZZ_B)/%.o

# flags_sample.c includes tools/cmd_*.c: rebuild when those change
$(FUZZ_B)/fuzz/flags_sample.o: tools/cmd_sample.c tools/cmd_upscale.c

.SECONDEXPANSION:
$(FUZZ_B)/fuzz_%: $(FUZZ_B)/fuzz/%.o $(FUZZ_B)/fuzz/util.o $(FUZZ_LIB_OBJ) \
                  $$(FUZZ_OBJ_$$*)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ \
	    $(BLAS_LIB) -lm -lz -lstb

fuzz-build: $(addprefix $(FUZZ_B)/fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	sh scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-%: $(FUZZ_B)/fuzz_%
	sh scripts/fuzz.sh $(FUZZ_SECONDS) $*
