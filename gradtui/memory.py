"""How much memory a device has free: for the guards that refuse work before it crashes."""

from __future__ import annotations

import os


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
