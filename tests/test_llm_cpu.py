"""The compiled llama.cpp library stays within the documented CPU baseline.

A native build of llama-cpp-python uses every instruction the build machine's CPUID
advertises; one with AMX died with "Illegal instruction" on a cloud CPU whose
operating system does not grant AMX. The installed library is disassembled and must
contain nothing beyond the baseline (docs/llm.md, "Which CPUs"); the scanner itself is
checked on small libraries compiled here with and without AVX-512 and AMX.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from veriwiki.adapters.llm_cpu import (
    baseline_cpu_problem,
    runtime_libraries,
    scan_disassembly,
    scan_library,
)

X86 = platform.machine().lower() in ("x86_64", "amd64")
x86_only = pytest.mark.skipif(not X86, reason="x86-64 instruction probes")

SOURCE = r"""
#include <immintrin.h>
float dot(const float *a, const float *b, int n) {
#ifdef WANT_AVX512
    __m512 acc = _mm512_setzero_ps();
    for (int i = 0; i + 16 <= n; i += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    return _mm512_reduce_add_ps(acc);
#else
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i + 8 <= n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float out[8];
    _mm256_storeu_ps(out, acc);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
#endif
}
#ifdef WANT_AMX
void tiles(const void *cfg, const void *src) {
    _tile_loadconfig(cfg);
    _tile_loadd(0, src, 64);
    _tile_release();
}
#endif
"""


def compile_library(tmp_path: Path, name: str, flags: list[str]) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a C compiler is needed to build the probe libraries (CI installs g++)"
    src = tmp_path / "probe.c"
    src.write_text(SOURCE)
    out = tmp_path / f"lib{name}.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(out), str(src), *flags],
                   check=True, capture_output=True, text=True)
    return out


@x86_only
def test_scanner_passes_a_baseline_library(tmp_path: Path) -> None:
    lib = compile_library(tmp_path, "avx2", ["-mavx2", "-mfma", "-mf16c", "-mbmi2"])
    assert scan_library(lib) == {}


@x86_only
def test_scanner_finds_avx512_and_amx(tmp_path: Path) -> None:
    lib = compile_library(tmp_path, "wide", ["-mavx512f", "-mamx-tile", "-DWANT_AVX512",
                                             "-DWANT_AMX"])
    found = scan_library(lib)
    assert "AVX-512" in found, found
    assert {"ldtilecfg", "tileloadd", "tilerelease"} <= found.get("AMX", set()), found


def test_scanner_reads_objdump_lines_for_both_architectures() -> None:
    x86 = ["  4010:\tvpdpbusd %ymm1,%ymm2,%ymm3", "  4014:\t{vex} vpdpbusd %ymm1,%ymm2,%ymm3",
           "  4018:\tvaddps %ymm1,%ymm2,%ymm3", "  401c:\tvmovaps %xmm17,%xmm1",
           "  4020:\tkmovw  %k1,%eax", "  4024:\tvfmadd231ps %ymm1,%ymm2,%ymm0"]
    assert scan_disassembly(x86, "x86_64") == {"VNNI": {"vpdpbusd"},
                                               "AVX-512": {"vmovaps", "kmovw"}}
    arm = ["  10:\tsdot\tv0.4s, v1.16b, v2.16b", "  14:\tfmla\tv0.4s, v1.4s, v2.4s",
           "  18:\tld1w\t{z0.s}, p0/z, [x0]"]
    assert scan_disassembly(arm, "aarch64") == {"dot-product": {"sdot"}, "SVE": {"ld1w"}}


def test_installed_runtime_has_no_instructions_beyond_the_baseline() -> None:
    libs = runtime_libraries()
    assert libs, "llama-cpp-python is not installed (bash scripts/setup.sh installs it)"
    assert any("ggml-cpu" in p.name or "ggml" in p.name for p in libs), libs
    beyond = {}
    for lib in libs:
        found = scan_library(lib)
        if found:
            beyond[lib.name] = {k: sorted(v)[:8] for k, v in found.items()}
    assert not beyond, (
        "the compiled llama.cpp library uses instructions beyond the portable baseline "
        f"(x86-64 AVX2/FMA/F16C/BMI2; armv8-a): {beyond}. It would die with 'Illegal "
        "instruction' on CPUs or systems without them. Rebuild: rm -f "
        ".venv/veriwiki-llama-build && bash scripts/setup.sh (docs/llm.md)")


def test_baseline_problem_names_the_missing_flags() -> None:
    portable = "llama_cpp_python==0.3.36 x86_64 -DGGML_NATIVE=OFF -DGGML_AVX2=ON"
    old_cpu = {"sse4_2", "avx", "popcnt"}
    problem = baseline_cpu_problem(settings=portable, flags=old_cpu, arch="x86_64")
    assert problem and "avx2" in problem and "fma" in problem
    full = old_cpu | {"avx2", "fma", "f16c", "bmi2"}
    assert baseline_cpu_problem(settings=portable, flags=full, arch="x86_64") is None
    native = "llama_cpp_python==0.3.36 x86_64 -DGGML_NATIVE=ON"
    assert baseline_cpu_problem(settings=native, flags=old_cpu, arch="x86_64") is None
