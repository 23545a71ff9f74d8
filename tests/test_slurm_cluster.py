"""examples/slurm/ on a real single-node Slurm cluster, submitted as docs/teachers/clusters.md tells a teacher.

The cluster is the one `.ci/slurm-up` starts (munge, slurmctld, slurmd on this host). The tests skip,
with the reason, where `sbatch` is not installed or no cluster answers and none can be started here.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.shard import shard_of

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SLURM_DIR = Path(os.environ.get("TORCHGRADE_SLURM_DIR", "/tmp/torchgrade-slurm"))
SOURCES = ["solutions", "examples/alice", "examples/bob", "examples/starter"]
NAMES = [f"student{i:02d}" for i in range(1, 9)]    # in 4 shards: 3, none (an empty shard), 1 and 4 of them
SHARDS = 4
RESOURCES = "--cpus-per-task=1 --mem=3G"            # this test node has 2 CPUs; the example asks for 4
WAIT_S = 900
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
            "BOOT_FAIL", "DEADLINE"}

#: The commands of docs/teachers/clusters.md, run in the course folder.
SUBMIT = f"""
mkdir -p logs
export SUBMISSIONS=submissions OUT=$OUT SHARD_COUNT={SHARDS}
array=$(sbatch --parsable --array=1-$SHARD_COUNT {RESOURCES} examples/slurm/grade.sbatch)
merge=$(sbatch --parsable --dependency=afterok:$array examples/slurm/merge.sbatch)
echo "$array $merge"
"""


def _cluster_problem(env: dict[str, str]) -> str | None:
    """None when a node of the cluster takes jobs; else what sinfo said."""
    try:
        shown = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"sinfo: {exc}"
    states = shown.stdout.split()
    if shown.returncode != 0 or not any(s.rstrip("*~#").startswith(("idle", "mixed", "alloc")) for s in states):
        return f"sinfo: {(shown.stderr or shown.stdout).strip() or 'no node'}"
    return None


@pytest.fixture(scope="module")
def slurm_env() -> dict[str, str]:
    """The environment a teacher submits from: Slurm's client settings and torchgrade on PATH.

    Starts the cluster with `.ci/slurm-up --no-install` when none answers and this is root; it is
    left running for the other tests (`bash .ci/slurm-down` stops it)."""
    if shutil.which("sbatch") is None:
        pytest.skip("sbatch is not on PATH: Slurm is not installed here "
                    "(as root, `bash .ci/slurm-up` installs it with apt-get and starts a single-node cluster)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SHARD_"))}
    if "SLURM_CONF" in os.environ:
        env["SLURM_CONF"] = os.environ["SLURM_CONF"]
    elif (SLURM_DIR / "slurm.conf").is_file():
        env["SLURM_CONF"] = str(SLURM_DIR / "slurm.conf")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    problem = _cluster_problem(env)
    if problem and os.geteuid() == 0:
        SLURM_DIR.mkdir(parents=True, exist_ok=True)
        with open(SLURM_DIR.parent / "torchgrade-slurm.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)               # test workers side by side start it once
            if _cluster_problem(env):
                started = subprocess.run(["bash", str(REPO / ".ci" / "slurm-up"), "--no-install"], env=env,
                                         capture_output=True, text=True, timeout=300)
                if started.returncode != 0:
                    said = (started.stderr.strip().splitlines() or ["no reason given"])[-1]
                    pytest.skip(f"no Slurm cluster comes up here ({said}); see .ci/slurm-up")
            env["SLURM_CONF"] = str(SLURM_DIR / "slurm.conf")
        problem = _cluster_problem(env)
    if problem:
        pytest.skip(f"no Slurm cluster answers ({problem}); start one as root with `bash .ci/slurm-up`")
    return env


#: What the cluster grades: the course's activations and losses (sharding and merging do not depend on which
#: exercises a course has, and the whole course would make each grading here several times longer).
MODULES = ["activations", "losses"]
#: Seconds each submission of the last shard sleeps as its module loads, so that the test can cancel that
#: shard after its first submission and before its last, however fast the machine grades.
SLOW_LOAD_S = 1.0


@pytest.fixture(scope="module")
def course_folder(tmp_path_factory, slurm_env) -> Path:
    """A teacher's course folder: course.yaml, exercises/, solutions/, examples/slurm/ and a class of 8."""
    root = tmp_path_factory.mktemp("course")
    course = yaml.safe_load((REPO / "course.yaml").read_text())
    course["modules"] = MODULES
    course["exercises"] = [f"exercises/{module}/*.yaml" for module in MODULES]
    (root / "course.yaml").write_text(yaml.safe_dump(course, sort_keys=False))
    for folder in ("exercises", "solutions", "examples/slurm"):
        shutil.copytree(REPO / folder, root / folder)
    for i, name in enumerate(NAMES):
        target = root / "submissions" / name
        target.mkdir(parents=True)
        for module in MODULES:
            text = (REPO / SOURCES[i % len(SOURCES)] / f"{module}.py").read_text()
            if shard_of(name, SHARDS) == SHARDS and module == MODULES[0]:
                text = f"import time as _time\n_time.sleep({SLOW_LOAD_S})\n{text}"
            (target / f"{module}.py").write_text(text)
    return root


@pytest.fixture(scope="module")
def one_machine(course_folder, slurm_env) -> Path:
    """The same class graded on one machine: `torchgrade grade submissions/*/ --out one-machine --jobs 2`, in the
    course folder, run in this process (no interpreter to start: its fork servers are forks of a warm template)."""
    subs = sorted(str(p) + "/" for p in (course_folder / "submissions").iterdir())
    cwd = os.getcwd()
    os.chdir(course_folder)
    try:
        graded = CliRunner().invoke(main, ["grade", *subs, "--out", "one-machine", "--jobs", "2", "--no-progress"])
    finally:
        os.chdir(cwd)
    assert graded.exit_code == 0, graded.output
    return course_folder / "one-machine"


def submit(course_folder: Path, env: dict[str, str], out: str) -> tuple[str, str]:
    shown = subprocess.run(["bash", "-euo", "pipefail", "-c", SUBMIT], cwd=course_folder, env={**env, "OUT": out},
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    array, merge = shown.stdout.split()
    return array, merge


def states(job: str, env: dict[str, str]) -> dict[str, str]:
    """Job (or array task) id → Slurm state, for every task of `job` the controller still knows."""
    shown = subprocess.run(["squeue", "-h", "--states=all", "-j", job, "-o", "%i %T"], env=env,
                           capture_output=True, text=True, timeout=30)
    if shown.returncode != 0:
        pytest.fail(f"squeue -j {job} failed: {shown.stderr.strip()}")
    return dict(line.split() for line in shown.stdout.splitlines() if line.strip())


def wait_for(job: str, env: dict[str, str], course_folder: Path) -> dict[str, str]:
    """Poll until every task of `job` has finished; its states."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        now = states(job, env)
        if now and all(state in FINISHED for state in now.values()):
            return now
        time.sleep(1)
    pytest.fail(f"job {job} did not finish in {WAIT_S} s: {states(job, env)}\n{logs(course_folder)}")


def logs(course_folder: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                     for p in sorted((course_folder / "logs").glob("*.out")))


def assert_same_grading(merged: Path, one_machine: Path) -> None:
    """The same gradebook.csv, and every submission's results.json byte for byte."""
    assert (merged / "gradebook.csv").read_text() == (one_machine / "gradebook.csv").read_text()
    assert sorted(p.parent.name for p in merged.glob("*/results.json")) == NAMES
    for name in NAMES:
        assert (merged / name / "results.json").read_bytes() == (one_machine / name / "results.json").read_bytes(), name


@pytest.fixture(scope="module")
def array_graded(course_folder, slurm_env) -> tuple[dict[str, str], dict[str, str]]:
    """The class submitted as docs/teachers/clusters.md tells a teacher, into graded/, once for the module: the
    final states of (the array's tasks, the merge job)."""
    array, merge = submit(course_folder, slurm_env, "graded")
    return wait_for(array, slurm_env, course_folder), wait_for(merge, slurm_env, course_folder)


def test_an_array_of_shards_and_its_dependent_merge_give_the_one_machine_gradebook(course_folder, array_graded,
                                                                                    one_machine):
    tasks, merged = array_graded
    assert len(tasks) == SHARDS and set(tasks.values()) == {"COMPLETED"}, logs(course_folder)
    assert list(merged.values()) == ["COMPLETED"], logs(course_folder)
    assert_same_grading(course_folder / "graded" / "class", one_machine)
    assert (course_folder / "graded" / "class" / "report.md").is_file()     # merge.sbatch's class report


def submit_shard(course_folder: Path, env: dict[str, str], out: str, index: int) -> tuple[str, str]:
    """`examples/slurm/submit.sh` for shard `index` of SHARDS alone: (its array, its merge)."""
    shown = subprocess.run(["bash", "examples/slurm/submit.sh", str(SHARDS), str(index), *RESOURCES.split()],
                           cwd=course_folder, env={**env, "OUT": out, "SUBMISSIONS": "submissions"},
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    array, merge = re.search(r"submitted array (\d+) .* its merge (\d+)", shown.stdout).groups()
    return array, merge


def test_a_cancelled_shard_is_refused_by_merge_and_its_resubmission_merges_the_same(course_folder, slurm_env,
                                                                                   array_graded, one_machine):
    # The other shards as the class's array left them (their tasks completed); the last shard is submitted again
    # with its merge, and cancelled while it grades.
    out = course_folder / "graded-again"
    for index in range(1, SHARDS):
        shutil.copytree(course_folder / "graded" / f"shard-{index}", out / f"shard-{index}")
    array, merge = submit_shard(course_folder, slurm_env, out.name, SHARDS)
    shard = out / f"shard-{SHARDS}"
    members = [n for n in NAMES if shard_of(n, SHARDS) == SHARDS]
    assert len(members) == 4
    deadline = time.monotonic() + WAIT_S
    while not any((shard / n / ".grading.json").is_file() for n in members):   # one submission of it done
        assert time.monotonic() < deadline, f"shard {SHARDS} never finished a submission\n{logs(course_folder)}"
        time.sleep(0.1)
    subprocess.run(["scancel", f"{array}_{SHARDS}"], env=slurm_env, check=True, timeout=30)

    finished = wait_for(array, slurm_env, course_folder)
    assert finished[f"{array}_{SHARDS}"] == "CANCELLED", finished
    record = json.loads((shard / ".shard.json").read_text())
    assert record["complete"] is False, "the shard finished before it was cancelled"
    # afterok can no longer hold: the merge job waits for ever, as Slurm leaves it; the teacher cancels it
    reason = subprocess.run(["squeue", "-h", "-j", merge, "-o", "%r"], env=slurm_env, capture_output=True,
                            text=True, timeout=30).stdout
    assert "DependencyNeverSatisfied" in reason, reason
    subprocess.run(["scancel", merge], env=slurm_env, check=True, timeout=30)

    shards = sorted(map(str, out.glob("shard-*")))
    refused = subprocess.run(["torchgrade", "merge", *shards, "--out", str(out / "class")],
                             cwd=course_folder, env=slurm_env, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0
    assert f"shard {SHARDS}/{SHARDS} in {shard} is incomplete: its run did not finish" in refused.stderr
    assert not (out / "class" / "gradebook.csv").exists()

    rerun, remerge = submit_shard(course_folder, slurm_env, out.name, SHARDS)
    assert wait_for(rerun, slurm_env, course_folder) == {f"{rerun}_{SHARDS}": "COMPLETED"}, logs(course_folder)
    assert wait_for(remerge, slurm_env, course_folder) == {remerge: "COMPLETED"}, logs(course_folder)
    rerun_log = (course_folder / "logs" / f"torchgrade-{rerun}_{SHARDS}.out").read_text()
    skipped = int(re.search(r"skipped (\d+) already graded", rerun_log).group(1))
    assert 1 <= skipped < len(members)                 # what the cancelled run finished is not graded again
    assert_same_grading(out / "class", one_machine)
