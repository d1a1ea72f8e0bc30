#!/bin/sh
# deps.sh -- install the Debian packages pixelcnn needs, if any is missing.
# Run as root (or with sudo available). Prints what it installs.
#   gcc, make                the C11 toolchain (gcc brings OpenMP: libgomp)
#   libopenblas-openmp-dev   CBLAS SGEMM, the OpenMP build (see Makefile)
#   zlib1g-dev               inflate for gzip'd IDX data sets (Fashion-MNIST)
#   libstb-dev               stb_image: decodes image folders (src/data/)
#   pkg-config               make test builds the example against an
#                            installed copy, as a user would
#   python3-numpy, python3-pytest  the Python package (python/, ctypes over
#                            the .so, NumPy arrays) and its tests, which
#                            make test runs against the CLI
#   python3-torch            python/tests/test_torch_interop.py: our
#                            checkpoints load into PyTorch and PyTorch
#                            weights export to ours (docs/interop.md);
#                            also the twin that regenerates tests/fixtures
#   dataset-fashion-mnist    (with the argument "run") the main job's data
#   clang-14, libclang-rt-14-dev  (with the argument "fuzz") libFuzzer and
#                            the sanitizer runtimes (make fuzz)
#   libopenmpi-dev, openmpi-bin  (with the argument "mpi") Open MPI: the
#                            tool for mpirun (make MPI=1, docs/mpi.md) and
#                            the tests that run it (make test runs them
#                            when mpicc and mpirun are there; else they
#                            skip)
set -eu
pkgs="gcc make libopenblas-openmp-dev zlib1g-dev libstb-dev pkg-config"
pkgs="$pkgs python3-numpy python3-pytest python3-torch"
[ "${1:-}" = run ] && pkgs="$pkgs dataset-fashion-mnist"
[ "${1:-}" = fuzz ] && pkgs="$pkgs clang-14 libclang-rt-14-dev"
[ "${1:-}" = mpi ] && pkgs="$pkgs libopenmpi-dev openmpi-bin"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "deps: missing packages:$missing; run as root:" >&2
    echo "  apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
