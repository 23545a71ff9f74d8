"""The Gradescope autograder zip: setup.sh, run_autograder, the grader as a wheel, and the course
with its references (Gradescope never shows a student the autograder's files)."""
from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ...release.wheel import build_wheel
from ...resume import course_files
from ...spec import Course
from . import DEFAULT_ROOT, ROOT_VARIABLE

#: Where the course goes inside the autograder's source folder.
COURSE_DIR = "course"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


class GradescopeBuildError(Exception):
    """The course cannot be packed (a file it needs lies outside its folder)."""


@dataclass(frozen=True)
class Autograder:
    path: Path
    files: tuple[str, ...]


def setup_script(wheel: str) -> str:
    """setup.sh: Python's venv, a CPU-only torch (Gradescope has no GPU), then the grader from its wheel."""
    return f"""#!/usr/bin/env bash
# Run once by Gradescope while it builds the autograder's image (as root, with the network).
set -euo pipefail
apt-get update
apt-get install -y python3 python3-venv python3-pip
python3 -m venv /opt/torchgrade
# PyTorch's CPU-only build: Gradescope's machines have no GPU, and the default build brings CUDA (GBs).
/opt/torchgrade/bin/pip install --index-url {CPU_TORCH_INDEX} torch
/opt/torchgrade/bin/pip install {DEFAULT_ROOT}/source/{wheel}
"""


def run_script() -> str:
    """run_autograder: grade {root}/submission into {root}/results/results.json."""
    return f"""#!/usr/bin/env bash
# Run by Gradescope for every submission. {ROOT_VARIABLE} moves the root (to try it on your machine).
set -uo pipefail
root="${{{ROOT_VARIABLE}:-{DEFAULT_ROOT}}}"
if [ -x /opt/torchgrade/bin/python ]; then python=/opt/torchgrade/bin/python; else python=python3; fi
cd "$root"
exec "$python" -m grader.integrations.gradescope.run --root "$root" --course "$root/source/{COURSE_DIR}/course.yaml"
"""


def build_autograder(course: Course, out: Path) -> Autograder:
    """Write the autograder zip for `course` at `out`; returns its path and the files in it."""
    root = Path(course.root).resolve()
    entries: list[tuple[str, bytes, int]] = []
    for path in course_files(course):
        try:
            relative = path.relative_to(root)
        except ValueError:
            raise GradescopeBuildError(f"{path} lies outside the course folder {root}; "
                                       f"the autograder can only carry the course's own files") from None
        entries.append((f"{COURSE_DIR}/{relative.as_posix()}", path.read_bytes(), 0o644))
    with tempfile.TemporaryDirectory(prefix="torchgrade-gradescope-") as work:
        wheel = build_wheel(Path(work))
        entries.append((wheel.name, wheel.read_bytes(), 0o644))
    entries.append(("setup.sh", setup_script(wheel.name).encode(), 0o755))
    entries.append(("run_autograder", run_script().encode(), 0o755))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in sorted(entries):
            item = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            item.external_attr = mode << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    return Autograder(out, tuple(sorted(name for name, _, _ in entries)))
