"""Which confinement keeps CUDA from starting in a sandboxed child? One forked child per variant.

    python benchmarks/gpu_diagnose.py

Each child is forked from this warm process (torch imported, CUDA not initialised, as in the fork
server), applies one part of the sandbox (or all of it), then initialises CUDA and adds two numbers
on the GPU. An unconfined child also lists the shared libraries and files CUDA opened, so a
failure can be matched with a path Landlock does not let through.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from grader.sandbox import confine, landlock, namespaces, paths, seccomp  # noqa: E402

LIMITS = {"memory_mb": 2048, "total_s": 60, "file_mb": 64, "processes": 64, "threads": 1}


WRITE_VARIANTS = ["write:" + folders for folders in (
    "/proc", "/proc/self", "/proc/driver", "/sys", "/dev", "/dev/shm,/tmp", "/run,/var", "/etc", "/usr,/opt",
    "/root,/home", "/proc,/sys,/dev")]


def use_cuda() -> dict:
    x = torch.arange(4.0, device="cuda")
    return {"sum": float((x * 2).sum().item())}


def opened() -> dict:
    maps = {line.split()[-1] for line in open("/proc/self/maps") if "/" in line.split()[-1]}
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    keep = lambda p: not p.startswith((sys.prefix, "/usr/lib/python", "/proc/self/fd"))  # noqa: E731
    sockets = [line.strip() for f in ("/proc/self/net/unix", "/proc/self/net/netlink") if os.path.exists(f)
               for line in open(f) if any(fd.startswith("socket:[") and fd[8:-1] in line.split() for fd in fds)]
    return {"sockets": sockets, "libraries": sorted(p for p in maps if keep(p) and ".so" in p and "python" not in p),
            "files": sorted(p for p in fds if keep(p))}


def variant(name: str, workdir: str) -> None:
    read_only = paths.read_only()
    if name in ("rlimits", "all"):
        confine.apply_rlimits(LIMITS, gpu=True)
    if name in ("environment", "all"):
        confine.clean_environment(workdir, {}, gpu_job=True)
    if name in ("capabilities", "all"):
        namespaces.drop_capabilities()
    if name == "landlock-without-driver-folders":
        read_only = [p for p in read_only if p not in paths.gpu_library_dirs()]
    rw_files = paths.read_write_files(gpu=True)
    if name in ("landlock", "landlock-without-driver-folders", "all"):
        landlock.restrict(read=read_only, write=[workdir], read_write_files=rw_files)
    if name == "landlock-no-scopes":
        landlock.restrict(read=read_only, write=[workdir], read_write_files=rw_files, scopes=False)
    if name == "landlock-no-network":
        landlock.restrict(read=read_only, write=[workdir], read_write_files=rw_files, network=False)
    if name == "landlock-read-everything":
        landlock.restrict(read=["/"], write=[workdir], read_write_files=rw_files)
    if name == "landlock-write-everything":
        landlock.restrict(read=["/"], write=["/"], read_write_files=rw_files)
    if name == "landlock-more-folders":
        landlock.restrict(read=read_only + ["/run", "/var/run", "/etc", "/dev", "/proc", "/sys", "/usr"],
                          write=[workdir, "/dev/shm", "/tmp"], read_write_files=rw_files)
    if name.startswith("write:"):
        landlock.restrict(read=["/"], write=[workdir, *name[6:].split(",")], read_write_files=rw_files)
    if name == "all-local-sockets":
        landlock.restrict(read=read_only, write=[workdir], read_write_files=rw_files, scopes=False)
    if name in ("seccomp", "all"):
        seccomp.deny_sockets()
    if name in ("seccomp-local-sockets", "all-local-sockets"):
        seccomp.deny_sockets(allow_local=True)
    if name == "landlock-proc-self-write-in-place":
        landlock.restrict(read=read_only, write=[workdir], read_write_files=rw_files, write_in_place=["/proc/self"])
    if name == "write-in-place-read-all":
        landlock.restrict(read=["/"], write=[workdir], read_write_files=rw_files, write_in_place=["/proc/self"])
    if name == "production":
        from grader.sandbox import confine as production
        print(production.confine({"workdir": workdir, "limits": LIMITS, "gpu": True}, read_only), file=sys.stderr)


def main() -> None:
    print("gpu devices:", paths.gpu_devices())
    print("LD_LIBRARY_PATH:", os.environ.get("LD_LIBRARY_PATH"))
    print("driver folders:", paths.gpu_library_dirs())
    print("read_only:", paths.read_only())
    for name in sys.argv[1:] or ("none", "write-in-place-read-all", "landlock-proc-self-write-in-place", "production", "rlimits", "environment", "capabilities", "seccomp", "seccomp-local-sockets",
                 "landlock-without-driver-folders", "landlock", "landlock-no-scopes", "landlock-no-network",
                 "landlock-read-everything", "landlock-write-everything", "landlock-more-folders", "all",
                 "all-local-sockets", *WRITE_VARIANTS):
        workdir = tempfile.mkdtemp()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                variant(name, workdir)
                seen = use_cuda()
                if name == "none":
                    seen.update(opened())
            except BaseException as exc:  # noqa: BLE001
                seen = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
            os.write(write_fd, json.dumps(seen).encode())
            os._exit(0)
        os.close(write_fd)
        data = b""
        while chunk := os.read(read_fd, 65536):
            data += chunk
        os.waitpid(pid, 0)
        print(f"{name:>12}: {data.decode()}")


if __name__ == "__main__":
    main()
