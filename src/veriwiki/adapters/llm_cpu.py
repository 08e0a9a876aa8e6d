"""Which CPU instructions the compiled llama.cpp library uses, against a baseline.

The embedded model's runtime (llama-cpp-python) is compiled on install. veriwiki's
setup compiles it for a fixed baseline (docs/llm.md, "Which CPUs"): x86-64 with AVX2,
FMA, F16C and BMI2, or armv8-a on arm64. A library that contains instructions beyond
that baseline — AVX-512, AMX tiles, VNNI, BF16 on x86; SVE, dot-product or matrix
extensions on arm — dies with "Illegal instruction" on a CPU or an operating system
that does not grant them. :func:`scan_library` finds such instructions by
disassembling the library with binutils' ``objdump``; :func:`baseline_cpu_problem`
checks that this machine's CPU has the baseline before the model is started.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from veriwiki.errors import VeriwikiError

# x86-64: mnemonics (as objdump prints them, AT&T syntax) and registers outside
# x86-64 + AVX + AVX2 + FMA + F16C + BMI1/2.
_X86_MNEMONICS = {
    # AMX
    "ldtilecfg": "AMX", "sttilecfg": "AMX", "tilerelease": "AMX", "tilezero": "AMX",
    "tileloadd": "AMX", "tileloaddt1": "AMX", "tilestored": "AMX", "tdpbssd": "AMX",
    "tdpbsud": "AMX", "tdpbusd": "AMX", "tdpbuud": "AMX", "tdpbf16ps": "AMX",
    "tdpfp16ps": "AMX",
    # VNNI (AVX-512 or VEX-encoded AVX-VNNI: both outside the baseline)
    "vpdpbusd": "VNNI", "vpdpbusds": "VNNI", "vpdpwssd": "VNNI", "vpdpwssds": "VNNI",
    "vpdpbssd": "AVX-VNNI-INT8", "vpdpbsud": "AVX-VNNI-INT8", "vpdpbuud": "AVX-VNNI-INT8",
    # BF16
    "vcvtneps2bf16": "BF16", "vcvtne2ps2bf16": "BF16", "vdpbf16ps": "BF16",
    # AVX-512 only mnemonics that can appear without zmm registers
    "vpermb": "AVX-512", "vpermi2b": "AVX-512", "vpermt2b": "AVX-512",
    "vpmovdb": "AVX-512", "vpmovdw": "AVX-512", "vpmovqd": "AVX-512",
    "vpternlogd": "AVX-512", "vpternlogq": "AVX-512", "vpcompressd": "AVX-512",
    "vpexpandd": "AVX-512", "kmovw": "AVX-512", "kmovd": "AVX-512", "kmovq": "AVX-512",
    "kmovb": "AVX-512", "kortestw": "AVX-512",
}
_X86_REGISTERS = [
    (re.compile(r"%zmm\d+"), "AVX-512"),
    (re.compile(r"%[xy]mm(?:1[6-9]|2\d|3[01])\b"), "AVX-512"),  # EVEX-only registers
    (re.compile(r"%k[0-7]\b"), "AVX-512"),
    (re.compile(r"%tmm\d"), "AMX"),
]
_ARM_MNEMONICS = {
    "sdot": "dot-product", "udot": "dot-product", "usdot": "i8mm", "sudot": "i8mm",
    "smmla": "i8mm", "ummla": "i8mm", "usmmla": "i8mm", "bfmmla": "BF16", "bfdot": "BF16",
    "bfcvt": "BF16", "fmlal": "FP16FML", "fmlal2": "FP16FML", "whilelo": "SVE",
    "ptrue": "SVE", "smstart": "SME",
}
_ARM_REGISTERS = [(re.compile(r"\bz(?:[0-9]|[12]\d|3[01])\.[bhsdq]\b"), "SVE")]
# What the portable build targets, as /proc/cpuinfo names the features.
BASELINE_FLAGS = {"x86_64": ("avx", "avx2", "fma", "f16c", "bmi2")}


def runtime_libraries() -> list[Path]:
    """The shared libraries of the installed llama-cpp-python (empty when not installed)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return []
    libs: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for root in spec.submodule_search_locations:
        for path in sorted((Path(root) / "lib").glob("*.so*")):
            st = path.stat()  # wheels install versioned copies, not symlinks
            key = (st.st_size, hash(path.read_bytes()[:65536]))
            if path.is_file() and key not in seen:
                seen.add(key)
                libs.append(path)
    return libs


def _arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def scan_disassembly(lines: Iterable[str], arch: str) -> dict[str, set[str]]:
    """Instructions beyond the baseline in objdump output: {feature: {mnemonic, …}}."""
    mnemonics = _X86_MNEMONICS if arch == "x86_64" else _ARM_MNEMONICS
    registers = _X86_REGISTERS if arch == "x86_64" else _ARM_REGISTERS
    found: dict[str, set[str]] = {}
    for line in lines:
        address, tab, rest = line.partition("\t")
        if not tab or not address.rstrip().endswith(":"):
            continue
        insn = rest.replace("\t", " ").strip()
        if not insn or insn.startswith("("):
            continue
        words = insn.split()
        mnemonic = words[1] if words[0].startswith("{") and len(words) > 1 else words[0]
        feature = mnemonics.get(mnemonic)
        if feature:
            found.setdefault(feature, set()).add(mnemonic)
            continue
        for pattern, feature in registers:
            if pattern.search(insn):
                found.setdefault(feature, set()).add(mnemonic)
                break
    return found


def scan_library(path: Path, *, arch: str | None = None) -> dict[str, set[str]]:
    """Disassemble ``path`` with objdump and return instructions beyond the baseline."""
    objdump = shutil.which("objdump")
    if objdump is None:
        raise VeriwikiError("objdump (GNU binutils) is not installed",
                            hint="install binutils (apt-get install binutils)")
    proc = subprocess.Popen([objdump, "-d", "--no-show-raw-insn", "-w", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace")
    assert proc.stdout is not None
    found = scan_disassembly(proc.stdout, arch or _arch())
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise VeriwikiError(f"objdump failed on {path}: {err.strip()[:300]}")
    return found


def cpu_flags() -> set[str]:
    """The CPU feature flags Linux reports (empty where /proc/cpuinfo has none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def build_settings() -> str | None:
    """What scripts/setup.sh recorded about the llama.cpp build in this environment."""
    marker = Path(sys.prefix) / "veriwiki-llama-build"
    try:
        return marker.read_text().strip()
    except OSError:
        return None


def baseline_cpu_problem(*, settings: str | None = None, flags: set[str] | None = None,
                         arch: str | None = None) -> str | None:
    """Why this CPU cannot run the portable build, or None when it can (or is unknown).

    The arguments default to this environment's recorded build, /proc/cpuinfo and the
    machine's architecture.
    """
    settings = settings if settings is not None else build_settings()
    if settings is None or "GGML_NATIVE=OFF" not in settings:
        return None  # a native or foreign build: nothing to compare against
    needed = BASELINE_FLAGS.get(arch or _arch())
    flags = flags if flags is not None else cpu_flags()
    if not needed or not flags:
        return None
    missing = [f for f in needed if f not in flags]
    if not missing:
        return None
    return (f"this CPU lacks {', '.join(missing)}, which the portable build of the "
            "embedded model requires")
