"""A seccomp-BPF filter for the ``python check`` sandbox (handed to bubblewrap).

The filter is the second kernel-enforced layer under the namespaces bubblewrap sets up:
it refuses new processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``;
``clone3`` answers ``ENOSYS`` so that the C library falls back to ``clone`` for threads),
sockets of every family, device nodes, tracing other processes, new namespaces and
mounts, and the kernel interfaces a sandbox never needs (keyrings, BPF, io_uring,
modules). Threads keep working. Only x86-64 is covered (the syscall numbers are per
architecture); elsewhere :func:`filter_program` returns None and the namespaces alone
hold (docs/check-blocks.md says so).
"""

from __future__ import annotations

import errno
import platform
import struct

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_NR, _ARCH, _ARG0 = 0, 4, 16
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS = 0x7FFF0000, 0x80000000
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
CLONE_THREAD = 0x00010000


def _errno(value: int) -> int:
    return 0x00050000 | value  # SECCOMP_RET_ERRNO


# x86-64 syscall numbers refused with EPERM (clone and clone3 are handled separately)
_X86_64_REFUSED = {
    "fork": 57, "vfork": 58, "ptrace": 101, "process_vm_readv": 310,
    "process_vm_writev": 311, "mknod": 133, "mknodat": 259, "socket": 41, "socketpair": 53,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
    "chroot": 161, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
    "userfaultfd": 323, "perf_event_open": 298, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "kexec_load": 246,
    "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "fanotify_init": 300, "kcmp": 312,
    "pidfd_getfd": 438, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442, "acct": 163, "swapon": 167,
    "swapoff": 168, "reboot": 169, "settimeofday": 164, "clock_settime": 227,
    "iopl": 172, "ioperm": 173, "modify_ldt": 154, "uselib": 134, "quotactl": 179,
    "vhangup": 153, "process_madvise": 440,
}
_X86_64_CLONE, _X86_64_CLONE3 = 56, 435


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)  # struct sock_filter


def filter_program(machine: str | None = None) -> bytes | None:
    """The compiled filter (an array of ``struct sock_filter``), or None on other machines."""
    if (machine or platform.machine()) not in ("x86_64", "amd64", "AMD64"):
        return None
    eperm = _errno(errno.EPERM)
    prog = [
        _insn(_LD_W_ABS, 0, 0, _ARCH),
        _insn(_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
        _insn(_RET_K, 0, 0, _KILL_PROCESS),  # 32-bit entry points: other numbers
        _insn(_LD_W_ABS, 0, 0, _NR),
        _insn(_JGE_K, 0, 1, _X32_BIT),
        _insn(_RET_K, 0, 0, eperm),  # the x32 ABI
    ]
    for nr in sorted(_X86_64_REFUSED.values()):
        prog += [_insn(_JEQ_K, 0, 1, nr), _insn(_RET_K, 0, 0, eperm)]
    prog += [_insn(_JEQ_K, 0, 1, _X86_64_CLONE3), _insn(_RET_K, 0, 0, _errno(errno.ENOSYS))]
    prog += [
        _insn(_JEQ_K, 0, 4, _X86_64_CLONE),
        _insn(_LD_W_ABS, 0, 0, _ARG0),  # the low half of the flags (little-endian)
        _insn(_JSET_K, 0, 1, CLONE_THREAD),
        _insn(_RET_K, 0, 0, _ALLOW),
        _insn(_RET_K, 0, 0, eperm),
        _insn(_RET_K, 0, 0, _ALLOW),
    ]
    return b"".join(prog)
