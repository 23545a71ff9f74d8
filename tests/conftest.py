"""Shared fixtures: the repository's course, warm fork servers and plans cached per session.

`grade_files({"activations.py": "..."}, exercises=["sigmoid"])` grades an in-memory submission
through the real sandbox and returns its SubmissionResult; plans and servers are reused, so a
test costs a fork, not an interpreter start.

Every test is in one layer, a marker (see docs/explanation/tests.md): `unit` (judging, parsing, writing on
fabricated inputs: no process is started, and a unit test that starts one fails), `integration` (through the
sandbox, the command line and the integrations), `security` (hostile and broken submissions, the sandbox's
walls), `course` (the shipped course graded: right work passes, each mistake fails its check). A test
marked with a layer keeps it; otherwise a test that is not `slow`, needs no grading fixture
(FORKING_FIXTURES) and is in a file not in NOT_UNIT_FILES is `unit`, and any other test is in its file's
layer (LAYER_OF_FILE, else `integration`).
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import torch

from grader.entry import PRELOAD
from grader.run import grade_submission
from grader.sandbox import ForkServer
from grader.spec import load_course

REPO = Path(__file__).resolve().parents[1]
#: Plans the tests cache go to a folder of this run, not the developer's ~/.cache/torchgrade.
os.environ.setdefault("TORCHGRADE_CACHE_DIR", tempfile.mkdtemp(prefix="torchgrade-test-cache-"))
#: Importing jsonschema (nbgrader, nbformat and kubernetes-validate import it) compiles rfc3987_syntax's grammars,
#: about 1.2 CPU s in each test process, only for its `iri` format checks: no test and nothing in the grader checks
#: formats, so the module is marked absent, as jsonschema allows (`torchgrade nbgrader autograde` does the same).
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]


LAYERS = ("unit", "integration", "security", "course")

#: Fixtures that start a process or hold one (a fork server, a grading): a test that uses one is never `unit`.
FORKING_FIXTURES = frozenset({"server", "grade_files", "plans", "server_without_own_user"})

#: The layer of a file's tests that start processes (files not named here: `integration`).
LAYER_OF_FILE = {
    **dict.fromkeys(["test_attacks.py", "test_boundary_class.py", "test_boundary_nbgrader.py", "test_cpu_share.py",
                     "test_boundary_submissions.py", "test_containment.py", "test_containment_attacks.py",
                     "test_containment_class.py", "test_containment_clocks.py", "test_containment_course_view.py",
                     "test_containment_parsing.py", "test_containment_policy.py", "test_fuzz_intake.py",
                     "test_sandbox.py", "test_verdicts_bundle.py", "test_verdicts_dtype.py",
                     "test_verdicts_experiments.py", "test_verdicts_forbid.py", "test_verdicts_forbid_function.py",
                     "test_verdicts_copies.py", "test_verdicts_plots.py", "test_verdicts_process_state.py",
                     "test_verdicts_sandboxed_right_work.py",
                     "test_verdicts_side_effects.py"], "security"),
    **dict.fromkeys(["test_audit_course.py", "test_checks_catch_mistakes.py", "test_experiments.py",
                     "test_initializers.py", "test_initializers_statistics.py", "test_mistake_feedback.py",
                     "test_plots.py", "test_plots_robust.py", "test_questions.py", "test_release_agreement.py",
                     "test_verdicts_answers.py", "test_verdicts_device.py", "test_verdicts_gradients.py",
                     "test_verdicts_initializers.py", "test_verdicts_signature.py"], "course"),
}

#: Files whose tests start processes without a grading fixture (a command, a build, a cluster, a tool) or
#: prepare a whole course (a bundle): none is `unit`.
NOT_UNIT_FILES = frozenset({
    "test_audit.py", "test_audit_course.py", "test_boundary_class.py", "test_boundary_nbgrader.py",
    "test_bundle_install.py", "test_child_start.py", "test_containment_course_view.py", "test_drawing.py",
    "test_gpu_fallback.py", "test_grade_command.py", "test_grade_output.py", "test_gradescope_build.py",
    "test_html_page.py", "test_layers.py", "test_nbgrader_build.py",
    "test_nbgrader_checksums.py", "test_nbgrader_feedback.py", "test_nbgrader_paths.py", "test_pytest_plugin.py",
    "test_release.py", "test_release_agreement.py", "test_resume.py", "test_sandbox.py", "test_shard.py",
    "test_slurm_cluster.py", "test_streaming.py", "test_student_loop.py", "test_verdicts_bundle.py",
})


def layer_of(item) -> str:
    """The item's layer: its own marker, else `unit` where nothing it uses starts a process, else its file's."""
    own = [name for name in LAYERS if item.get_closest_marker(name) is not None]
    if own:
        return own[0]
    file = item.path.name
    if (file not in NOT_UNIT_FILES and item.get_closest_marker("slow") is None
            and not FORKING_FIXTURES & set(getattr(item, "fixturenames", ()))):
        return "unit"
    return LAYER_OF_FILE.get(file, "integration")


#: The files that take longest on 2 cores (docs/explanation/tests.md), longest first: started first, each on a worker
#: of its own, while the others share the rest. Only the order of the run depends on this list.
_LONGEST_FILES = ("test_nbgrader_paths.py", "test_slurm_cluster.py", "test_resume.py", "test_audit_course.py",
                  "test_nbgrader_checksums.py", "test_release_agreement.py", "test_sandbox.py", "test_child_start.py")


def _start_order(item) -> int:
    """Longest first: `slow` tests, then other tests that start processes, then `unit` tests, which fill the end
    of a run spread over workers."""
    if item.get_closest_marker("slow") is not None:
        return 0
    return 2 if item.get_closest_marker("unit") is not None else 1


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        layer = layer_of(item)
        if item.get_closest_marker(layer) is None:
            item.add_marker(getattr(pytest.mark, layer))
    # Files stay whole (a module's fixtures are set up once), ranked by their longest test, the longest files first.
    rank: dict = {}
    for item in items:
        rank[item.path] = min(rank.get(item.path, 2), _start_order(item))
    items.sort(key=lambda item: (rank[item.path], _LONGEST_FILES.index(item.path.name)
                                 if item.path.name in _LONGEST_FILES else len(_LONGEST_FILES)))
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is false)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config) -> None:
    """With -n: whole files to workers, one at a time as each worker runs out, in tests/conftest.py's order
    (`--dist loadfile --no-loadscopereorder`). xdist's default hands each worker a first block of a quarter of
    its share of consecutive tests: the first worker then got every long file, and the run waited on it.
    An explicit `--dist` is left as given."""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", None) == "load" \
            and "--dist" not in " ".join(config.invocation_params.args):
        config.option.dist = "loadfile"
        config.option.loadscopereorder = False


def pytest_xdist_auto_num_workers(config) -> int | None:
    """`-n auto`: one worker more than the cores this process may use. A fifth of the suite's time is spent
    waiting on other processes (Jupyter kernels, a Slurm cluster, a sandbox's wall-clock limits), which
    the extra worker fills (docs/explanation/tests.md). PYTEST_XDIST_AUTO_NUM_WORKERS still decides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    from grader.pool import default_jobs
    return default_jobs() + 1


def _refuse_to_start_a_process(*args, **kwargs):
    raise AssertionError("a unit test started a process: mark it (or its file, in tests/conftest.py) as "
                         "integration, security or course")


@contextlib.contextmanager
def _no_process_started(item):
    """Within a `unit` test's setup (its fixtures of any scope included) and call, forking or spawning fails."""
    if item.get_closest_marker("unit") is None:
        yield
        return
    import _posixsubprocess
    import multiprocessing.util
    import subprocess
    with pytest.MonkeyPatch.context() as patch:
        for owner, name in ((os, "fork"), (os, "forkpty"), (os, "posix_spawn"), (os, "posix_spawnp"),
                            (subprocess.Popen, "_execute_child"), (_posixsubprocess, "fork_exec"),
                            (multiprocessing.util, "spawnv_passfds")):
            if hasattr(owner, name):
                patch.setattr(owner, name, _refuse_to_start_a_process)
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _no_process_started(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _no_process_started(item):
        yield


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def course():
    return load_course(REPO / "course.yaml")


@pytest.fixture(scope="session")
def server():
    with ForkServer(PRELOAD) as warm:
        yield warm


@pytest.fixture(scope="session")
def plans(course, tmp_path_factory):
    """plans(exercises, hidden, course) → the plan, kept for the session. It comes from the plan cache of the run
    (TORCHGRADE_CACHE_DIR), which the -n workers share: a plan that one worker built, the others load."""
    from grader import plan_cache
    cache: dict = {}

    def plan_for(exercises: tuple[str, ...] | None, hidden: bool, the_course=None):
        the_course = the_course or course
        key = (id(the_course), exercises, hidden)
        if key not in cache:
            cache[key] = plan_cache.load_or_build(the_course, hidden=hidden,
                                                  exercises=list(exercises) if exercises else None,
                                                  workdir=tmp_path_factory.mktemp("plan"))
        return cache[key]

    return plan_for


@contextlib.contextmanager
def made_once_per_run(tmp_path_factory, name: str):
    """The folder every worker of this run shares (the run's base temporary folder, with -n), with `name`'s lock
    held: what the first worker to ask makes there, the others find made."""
    import fcntl
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield shared


@pytest.fixture(scope="session")
def student_bundle(course, tmp_path_factory) -> Path:
    """The course's student bundle, released once per run by the command line (`torchgrade release`, which must
    succeed): with -n, by the first worker that asks, into the folder the workers share (the run's base temporary
    folder); the others wait for it. Tests read it or copy it, never change it.

    A worker that finds it released still plans the course's public checks, the release's first step: that
    imports what the pytest runs in the bundle import too (torch's symbolic shapes, sympy), before any test's
    pytester snapshots sys.modules and takes such imports out again after each run, as in the worker that
    released it."""
    from click.testing import CliRunner

    from grader import grading
    from grader.cli import main

    with made_once_per_run(tmp_path_factory, "student-bundle") as shared:
        root = shared / "student-bundle"
        if not root.is_dir():
            staging = Path(tempfile.mkdtemp(prefix="student-bundle-", dir=shared))
            released = CliRunner().invoke(main, ["release", "--out", str(staging / "bundle"),
                                                 "--course", str(course.file)])
            assert released.exit_code == 0, released.output
            os.replace(staging / "bundle", root)
            os.rmdir(staging)
            return root
    grading.plan_for(course, hidden=False, cuda=True, workdir=tmp_path_factory.mktemp("public-plan"), cache=False)
    return root


@pytest.fixture(scope="session")
def prepare(course):
    """prepare(exercise id, check label) → the check prepared as a teacher's grading prepares it (cached): what a
    kind's `judge_case` needs, for unit tests that judge records made in the test."""
    from grader import kinds
    from grader.checks import Context
    done: dict = {}

    def prepared(exercise_id: str, label: str):
        if (exercise_id, label) not in done:
            exercise = course.exercise(exercise_id)
            check = next(c for c in exercise.checks if c.label == label)
            done[exercise_id, label] = kinds.judge(check.kind).prepare(Context(course=course, hidden=True), exercise,
                                                                       check)
        return done[exercise_id, label]

    return prepared


@pytest.fixture
def grade_files(plans, server, tmp_path):
    """Write the given files as a submission folder and grade it."""

    def grade(files: dict[str, str], exercises: list[str] | None = None, hidden: bool = True,
              name: str = "student", course=None):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        for filename, text in files.items():
            (folder / filename).write_text(textwrap.dedent(text))
        plan = plans(tuple(exercises) if exercises else None, hidden, course)
        scratch = tmp_path / "scratch"
        scratch.mkdir(exist_ok=True)
        return grade_submission(plan, folder, server, scratch)

    return grade


def scores(result) -> dict[str, float]:
    """{exercise id: score}."""
    return {e.id: e.score for e in result.exercises}


def check_of(result, exercise_id: str, check_name: str):
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return next(c for c in exercise.checks if c.name == check_name)


def reference_with(**changed: str) -> dict[str, str]:
    """The reference solution's modules as a submission's files, with `changed` ({module: text}) in their place."""
    files = {path.name: path.read_text() for path in (REPO / "solutions").glob("*.py")}
    files.update({f"{module}.py": text for module, text in changed.items()})
    return files


def inserted(module: str, after: str, lines: str, text: str | None = None) -> str:
    """The reference `module` (or `text`) with `lines` opening the body of the first def starting with `after`."""
    rows = (text if text is not None else (REPO / "solutions" / f"{module}.py").read_text()).splitlines(keepends=True)
    at = next(i for i, line in enumerate(rows) if line.startswith(after))
    return "".join(rows[:at + 1]) + "".join("    " + line + "\n" for line in lines.splitlines()) + "".join(rows[at + 1:])


@pytest.fixture(autouse=True)
def _no_deep_tree_left():
    """The 1100-deep folder trees some tests make are removed after each test: pytest's own cleanup of old
    temporary folders (shutil.rmtree, one recursion a level) would fail on them in a later run."""
    yield
    import boundary_kit
    while boundary_kit.MADE_DEEP:
        boundary_kit.remove_deep(boundary_kit.MADE_DEEP.pop())
