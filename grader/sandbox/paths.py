"""Which paths a confined child may read: Python, the `grader` package, system libraries, a few devices.

Worked out once in the fork server, from its own interpreter. Deliberately not here: the folder
that holds `grader` (a source checkout keeps `solutions/` and `exercises/` beside it), the current
directory, HOME, /etc, /proc (but the child's own /proc/self), /tmp. A job adds its own staged
submission and inputs (`Job.readable`) and its private work folder (`Job.workdir`, writable).
"""
from __future__ import annotations

import ctypes
import glob
import os
import site
import sys
import sysconfig
from pathlib import Path

#: Shared libraries that torch, numpy or matplotlib may load lazily, the loader's cache, CPU topology.
SYSTEM_READ = (
    "/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache",
    "/sys/devices/system/cpu", "/proc/cpuinfo", "/usr/share/zoneinfo", "/etc/localtime",
    "/dev/urandom", "/dev/random", "/dev/zero",
    # the system's fonts, which matplotlib lists beside its own: a style or font name may pick one
    "/usr/share/fonts", "/usr/local/share/fonts", "/usr/X11R6/lib/X11/fonts", "/usr/X11/lib/X11/fonts",
)
READ_WRITE_FILES = ("/dev/null",)
#: What a CUDA child needs besides its device nodes (the driver reads PCI, NUMA and its own /proc files).
GPU_READ = ("/proc/driver/nvidia", "/proc/devices", "/proc/meminfo", "/proc/sys/vm", "/sys/devices", "/sys/bus/pci",
            "/sys/module/nvidia", "/etc/nvidia", "/usr/share/nvidia")
_SITE_NAMES = ("site-packages", "dist-packages")


def python_roots() -> list[str]:
    """The interpreter's prefixes, its standard library and every site-packages folder on sys.path."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots |= {value for key, value in sysconfig.get_paths().items() if key in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        roots |= set(site.getsitepackages())
    except AttributeError:
        pass
    for entry in sys.path:
        if entry and Path(entry).name in _SITE_NAMES:
            roots.add(entry)
    resolved = {str(Path(r).resolve()) for r in roots if r and os.path.exists(r)}
    return sorted(r for r in resolved if not _too_wide(r))


def _too_wide(root: str) -> bool:
    """A prefix that would also expose a source checkout of the course (e.g. Python installed in it)."""
    checkout = Path(grader_package()).parent
    return root == "/" or (checkout.name not in _SITE_NAMES and (Path(root) == checkout or Path(root) in checkout.parents))


def grader_package() -> str:
    import grader
    return str(Path(grader.__file__).resolve().parent)


def gpu_devices() -> list[str]:
    """NVIDIA device nodes (/dev/nvidiactl, /dev/nvidia0, /dev/nvidia-uvm, MIG caps …), if any."""
    return sorted(glob.glob("/dev/nvidia*") + glob.glob("/dev/nvidia-caps/*"))


def gpu_library_dirs() -> list[str]:
    """Folders of the NVIDIA driver's libraries (libcuda.so and the libnvidia-* it loads beside it).

    The driver opens them when a child first uses CUDA, after Landlock is in force, and they often
    live outside the system folders (e.g. /usr/local/nvidia/lib64). Loading libcuda here does not
    initialise CUDA, so forking after it stays safe.
    """
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return []
    found: set[str] = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "/libcuda" in path or "/libnvidia" in path:
                found |= {os.path.dirname(path), os.path.dirname(os.path.realpath(path))}
    return sorted(d for d in found if not _too_wide(d))


def read_only() -> list[str]:
    """Every path a child of this server may read, apart from its job's own."""
    paths = python_roots() + [grader_package(), str(Path(sys.executable).resolve().parent)]
    paths += [p for p in SYSTEM_READ if os.path.exists(p)]
    if gpu_devices():
        paths += [p for p in GPU_READ if os.path.exists(p)] + ["/proc/self"] + gpu_library_dirs()
    return sorted(set(paths))


def read_write_files(gpu: bool = False) -> list[str]:
    """Device files a child may open for reading, writing and ioctl: /dev/null, and the GPU's for a CUDA job."""
    return [p for p in READ_WRITE_FILES if os.path.exists(p)] + \
        ([p for p in gpu_devices() if not os.path.isdir(p)] if gpu else [])


def covers(roots: list[str], path: str | Path) -> bool:
    """Whether path lies in (or is) one of roots — e.g. to warn that a course folder would be readable."""
    target = Path(path).resolve()
    return any(target == Path(r) or Path(r) in target.parents for r in roots)
