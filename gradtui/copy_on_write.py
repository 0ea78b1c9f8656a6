"""Copies that cost nothing until written: the user's code gets a copy of x that shares its pages
with gradtui's own until either side writes one.

At the default size x is 157 MB. Cloning it for the user's code costs 30–40 ms a session, most
of it the kernel's first touch of 38,000 fresh pages. On Linux the synthetic draw writes x into a
memory file (memfd) instead of anonymous memory; the user's copy is a private mapping of the same
file: it reads gradtui's pages, and a page the user's code writes is copied then, that page alone,
so gradtui's x never changes. Anywhere else, and for any other tensor, a copy is a clone.

No torch here at import: the draw runs while torch loads.
"""

from __future__ import annotations

import mmap
import os
import threading
import weakref

import numpy as np

# data address of a mapping made by `shareable` -> (its memory file, its size in bytes)
_files: dict[int, tuple[int, int]] = {}
_lock = threading.Lock()


def shareable(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A zeroed C-contiguous array whose tensor `private_copy` can copy without copying. Its pages
    are allocated as they are first written, not up front (MAP_POPULATE): populating 157 MB holds
    the process's memory-map lock for 100 ms, and torch, loading beside the draw, waits on it."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    if not hasattr(os, "memfd_create") or size == 0:
        return np.zeros(shape, dtype)
    fd = os.memfd_create("gradtui-data", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, size)
        pages = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
    except OSError:
        os.close(fd)
        return np.zeros(shape, dtype)
    array = np.frombuffer(pages, dtype).reshape(shape)
    address = array.ctypes.data
    with _lock:
        _files[address] = (fd, size)
    weakref.finalize(pages, _forget, address, fd)  # the array, and any tensor made from it, keep `pages` alive
    return array


def _forget(address: int, fd: int) -> None:
    with _lock:
        _files.pop(address, None)
    os.close(fd)


def private_copy(tensor):
    """A copy of `tensor` for code that may write into it: of a tensor made whole from a
    `shareable` array, a private mapping of its pages (a page is copied when the copy's user
    first writes it; a write to the original would show through the pages not yet copied, and
    gradtui writes none of its own); of anything else, a clone."""
    import torch

    storage = tensor.untyped_storage()
    with _lock:
        fd, size = _files.get(storage.data_ptr(), (None, 0))
    if (fd is not None and tensor.device.type == "cpu" and tensor.is_contiguous() and tensor.storage_offset() == 0
            and storage.nbytes() == size == tensor.numel() * tensor.element_size()):
        try:
            return torch.from_file(f"/proc/self/fd/{fd}", shared=False, size=tensor.numel(),
                                   dtype=tensor.dtype).view(tensor.shape)
        except (OSError, RuntimeError):  # no /proc: a clone
            pass
    return tensor.clone()
