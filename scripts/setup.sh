#!/usr/bin/env bash
# Create .venv and install veriwiki with its test tools (pinned by constraints.txt).
#
# The embedded model runs on llama-cpp-python, which compiles llama.cpp on install.
# By default it is compiled for a fixed, portable CPU baseline (docs/llm.md, "Which
# CPUs"): x86-64 with AVX2/FMA/F16C/BMI2, or plain armv8-a on arm64 — never for
# whatever the build machine's CPUID advertises (a native build can contain AMX or
# AVX-512 instructions that the operating system or another machine does not allow).
#   VERIWIKI_LLAMA_BUILD=native     compile for this machine's CPU (faster, not portable)
#   VERIWIKI_LLAMA_CMAKE_ARGS=...   the exact CMake arguments to use instead
# The build is recorded in .venv/veriwiki-llama-build; a different setting rebuilds it,
# bypassing pip's wheel cache (whose key ignores CMAKE_ARGS).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

llama_pin=$(grep -i '^llama[-_]cpp[-_]python==' constraints.txt)
# Only what veriwiki uses: no multimodal library (LLAVA_BUILD), no tools, tests,
# examples or server (off by default when llama.cpp is built as a subproject).
common="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF"
case "${VERIWIKI_LLAMA_BUILD:-portable}" in
  portable)
    case "$(uname -m)" in
      x86_64|amd64)
        cpu="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" ;;
      aarch64|arm64)
        cpu="-DGGML_NATIVE=OFF -DGGML_CPU_ARM_ARCH=armv8-a" ;;
      *)
        cpu="-DGGML_NATIVE=OFF" ;;
    esac ;;
  native) cpu="-DGGML_NATIVE=ON" ;;
  *) echo "setup: VERIWIKI_LLAMA_BUILD must be 'portable' or 'native'" >&2; exit 2 ;;
esac
cmake_args=${VERIWIKI_LLAMA_CMAKE_ARGS:-"$cpu $common"}
want="$llama_pin $(uname -m) $cmake_args"
marker=.venv/veriwiki-llama-build
if [ "$(cat "$marker" 2>/dev/null)" != "$want" ] \
   || ! .venv/bin/python -c 'import llama_cpp' >/dev/null 2>&1; then
  echo "setup: compiling $llama_pin for the embedded model (${VERIWIKI_LLAMA_BUILD:-portable} build; several minutes on 2 cores)" >&2
  rm -f "$marker"
  CMAKE_ARGS="$cmake_args" FORCE_CMAKE=1 \
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "${PIP[@]}" --no-cache-dir --force-reinstall --no-deps --no-binary llama-cpp-python "$llama_pin"
  printf '%s' "$want" > "$marker"
fi
"${PIP[@]}" -c constraints.txt -e ".[test]"
