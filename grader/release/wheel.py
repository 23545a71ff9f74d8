"""The grader itself as a wheel, for a student bundle or a Gradescope autograder to install offline.

The wheel is built from the `grader` package that is running (its files, no bytecode), with the installed
distribution's name, version and requirements, and the same entry points (`torchgrade`, the pytest
plugin). It is pure Python, and byte-for-byte the same for the same sources: files in sorted order
with a fixed timestamp, so a release twice of one course gives one bundle.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

import grader

DISTRIBUTION = "torchgrade"
ENTRY_POINTS = ("[console_scripts]\ntorchgrade = grader.cli:run\n\n"
                "[pytest11]\ntorchgrade = grader.integrations.pytest_plugin\n")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def wheel_name(version: str | None = None) -> str:
    return f"{DISTRIBUTION}-{version or grader.__version__}-py3-none-any.whl"


def _metadata(version: str) -> str:
    try:
        meta = importlib.metadata.metadata(DISTRIBUTION)
        summary = meta.get("Summary") or ""
        python = meta.get("Requires-Python") or ">=3.10"
        requires = [r for r in importlib.metadata.requires(DISTRIBUTION) or [] if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
        summary, python = "Exercises and an isolated autograder for neural-network fundamentals in PyTorch", ">=3.10"
        requires = ["torch>=2.2", "numpy>=1.24", "matplotlib>=3.7", "pyyaml>=6.0", "pydantic>=2.5", "click>=8.1",
                    "tqdm>=4.66", "pytest>=7.4"]
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {version}", f"Summary: {summary}",
             f"Requires-Python: {python}", *(f"Requires-Dist: {r}" for r in requires)]
    return "\n".join(lines) + "\n"


def package_files() -> list[tuple[str, bytes]]:
    """(path in the wheel, content) of every file of the running `grader` package (no bytecode), sorted."""
    root = Path(grader.__file__).resolve().parent
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and p.suffix not in (".pyc", ".pyo"))
    return [(f"grader/{p.relative_to(root).as_posix()}", p.read_bytes()) for p in files]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out_dir: Path) -> Path:
    """Write the wheel into `out_dir`; returns its path."""
    version = grader.__version__
    info = f"{DISTRIBUTION}-{version}.dist-info"
    entries = package_files() + [
        (f"{info}/METADATA", _metadata(version).encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: torchgrade\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", ENTRY_POINTS.encode()),
        (f"{info}/top_level.txt", b"grader\n"),
    ]
    record = "\n".join([_record_line(n, d) for n, d in entries] + [f"{info}/RECORD,,"]) + "\n"
    entries.append((f"{info}/RECORD", record.encode()))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / wheel_name(version)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            item = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    return path
