"""How much memory a device has free: for the guards that refuse work before it crashes."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path


def free_bytes(device) -> int:
    """Free memory of a torch.device: cuda.mem_get_info, or the kernel's MemAvailable."""
    if device.type == "cuda":
        import torch

        return torch.cuda.mem_get_info(device)[0]
    return free_bytes_on_cpu()


def free_bytes_on_cpu() -> int:
    """The kernel's MemAvailable (no torch needed)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def gigabytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


@contextlib.contextmanager
def bounded_memory(device):
    """While the block runs, this process may map at most half the memory the machine has free more than
    it maps now: the user's code (an N×N broadcast at 50,000 rows: 10 GB a tensor) or an edit the fix
    search tries then fails with a MemoryError, a failed step, where the kernel killed the whole check.
    Linux, on the CPU (CUDA maps address space it does not use); a tighter limit already set is kept."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        mapped = int(re.search(r"VmSize:\s+(\d+)", Path("/proc/self/status").read_text())[1]) * 1024
    except (ImportError, OSError, TypeError, ValueError):
        yield
        return
    bound = mapped + free_bytes_on_cpu() // 2
    if device.type == "cuda" or (soft != resource.RLIM_INFINITY and soft <= bound) or \
            (hard != resource.RLIM_INFINITY and hard < bound):
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (bound, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
