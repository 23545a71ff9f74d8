"""Each check kind is one folder (grader/kinds/<kind>/), and the one registry of them (grader.kinds) is what
the spec, the plan, the child and the docs read: the contracts between a kind's parts are checked here."""
from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from grader import kinds
from grader.spec.checks import CheckBase

REPO = Path(__file__).resolve().parents[1]


def test_every_kind_folder_holds_a_model_named_for_it_and_a_judge():
    assert kinds.names(), "no kind found"
    for kind, model in kinds.models().items():
        assert issubclass(model, CheckBase), kind
        assert typing.get_args(model.model_fields["kind"].annotation) == (kind,)
        judge = kinds.judge(kind)
        assert callable(judge.prepare) and callable(judge.judge_case), kind
        assert list(inspect.signature(judge.judge_case).parameters)[:3] == ["prepared", "case", "result"], kind


def test_the_exercise_schema_is_the_union_of_the_kind_folders_models():
    from grader.spec.models import Exercise
    union = Exercise.model_fields["checks"].annotation
    members = set(typing.get_args(typing.get_args(typing.get_args(union)[0])[0]))
    assert members == set(kinds.models().values())


def test_no_two_kinds_register_one_probe_name():
    registered: dict[str, str] = {}
    for kind in kinds.names():
        folder = kinds.FOLDER / kind
        if not ((folder / "probe.py").is_file() or (folder / "probe" / "__init__.py").is_file()):
            continue
        for name in importlib.import_module(f"grader.kinds.{kind}.probe").PROBES:
            assert name not in registered, f"probe '{name}' of {kind} is already {registered[name]}'s"
            registered[name] = kind
    assert registered.keys() == kinds.probes().keys()


def test_every_call_a_kind_prepares_asks_for_a_probe_the_child_has(plans):
    """The plan for the whole course, hidden checks included: each call's probe is registered, each key is unique."""
    plan = plans(None, True)
    child_probes = kinds.probes()
    used: set[str] = set()
    for exercise_id, prepared in plan.prepared.items():
        keys = [call["key"] for p in prepared for call in p.calls]
        assert len(keys) == len(set(keys)), exercise_id
        for p in prepared:
            used.add(p.check.kind)
            for call in p.calls:
                assert call["probe"] in child_probes, (exercise_id, call["key"], call["probe"])
    assert used == set(kinds.names()) - {"finite"}, "the course uses every kind but the small one the docs add"


@pytest.mark.integration  # starts a process
def test_the_child_starts_without_the_course_models_or_any_judging_code():
    """The child reads the registry for its probes only: no pydantic, no spec, no kind's model or judge."""
    code = ("import sys, grader.child; grader.child.PROBES; "
            "print('\\n'.join(m for m in sys.modules if m.startswith(('pydantic', 'grader.spec', 'grader.checks')) "
            "or m.endswith(('.model', '.judge')) and m.startswith('grader.kinds')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("fact", ["needs_reference", "needs_cases", "kink_cases", "default_dtypes", "secret_fields",
                                  "judges_values", "answered_in"])
def test_what_the_grader_knows_of_a_kind_is_on_its_model(fact):
    """Kind facts are class variables of each model, never a table of kind names elsewhere."""
    assert fact in CheckBase.__class_vars__
    for model in kinds.models().values():
        assert fact not in model.model_fields


def _hint_keys_given(path: Path) -> set[str]:
    """The hint keys written as strings in a judging module: CaseVerdict's fifth argument, fail's third,
    Problem's second, any hint_key= (both branches of a conditional)."""
    import ast
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        given = [node.args[i] for fn, i in (("CaseVerdict", 4), ("fail", 2), ("Problem", 1))
                 if name == fn and len(node.args) > i]
        given += [k.value for k in node.keywords if k.arg == "hint_key"]
        for value in given:
            for leaf in (value.body, value.orelse) if isinstance(value, ast.IfExp) else (value,):
                if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                    found.add(leaf.value)
    return found


def test_every_hint_key_a_judge_gives_is_one_an_exercise_may_write_a_hint_for():
    """A verdict's hint key picks the exercise's hint: a key outside HINT_KEYS would never find one."""
    from grader.spec.models import HINT_KEYS, HintKey
    assert set(typing.get_args(HintKey)) == set(HINT_KEYS)
    modules = sorted((REPO / "grader" / "kinds").rglob("*.py")) + sorted((REPO / "grader" / "checks").glob("*.py"))
    given = {key: module for module in modules for key in _hint_keys_given(module)}
    assert {"values", "gradient", "forbid", "nan"} <= given.keys()  # the scan does find them
    unknown = {key: str(module.relative_to(REPO)) for key, module in given.items() if key not in HINT_KEYS}
    assert unknown == {}


#: Imports each kind's model first, in a child forked from a process that has imported the libraries the
#: grader uses but nothing of the grader (a cycle between grader modules shows whatever was imported
#: before them; torch's import is paid once, not once per kind); prints the kinds whose import failed.
_IMPORT_EACH_MODEL_FIRST = """
import os, sys, traceback
import numpy, pydantic, torch, yaml  # noqa: F401
assert not any(name == "grader" or name.startswith("grader.") for name in sys.modules)
failed = []
for kind in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            __import__(f"grader.kinds.{kind}.model")
            from grader import kinds
            from grader.spec import Exercise  # noqa: F401
            kinds.models()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
        failed.append(kind)
print(failed)
"""


@pytest.mark.integration  # starts a process
def test_each_kind_model_imports_first_in_a_fresh_process():
    """The spec builds its exercise model from the kinds' models, and each model builds on the spec's
    bases: importing a model before anything else of the grader must still work (no import cycle)."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_EACH_MODEL_FIRST, *kinds.names()], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def _calls_for_every_probe():
    """(probe name, learner function, call) triples that reach each declared probe's usual branches."""
    import types

    import torch
    x = torch.linspace(-2, 2, 6, dtype=torch.float64)
    plain = dict(arg_names=["x"], args=[x], kwargs={}, device="cpu")

    def raises(*args, **kwargs):
        raise ValueError("no")

    def returns_three(*args, **kwargs):
        return 3

    answers = types.ModuleType("answers_for_the_record_test")
    answers.ANSWERS = {"q1": "B"}
    answers.STUDENT = "Ada"
    sys.modules[answers.__name__] = answers
    init = dict(shape=[64, 32], dtype="float32", device="cpu", kwargs={}, seed=3, prefill=None)
    functions = (torch.exp, raises, returns_three)
    out = []
    for fn in functions:
        out += [("call", fn, dict(plain, key="k", probe="call", options={})),
                ("grad", fn, dict(plain, key="k", probe="grad",
                                  options={"wrt": ["x"], "upstream": torch.ones(6, dtype=torch.float64)})),
                ("forbid", fn, dict(plain, key="k", probe="forbid", options={})),
                ("device", fn, dict(plain, key="k", probe="device", options={"device": "model"})),
                ("finite", fn, dict(plain, key="k", probe="finite", options={}))]
    for fn in (torch.nn.init.normal_, torch.nn.init.zeros_, raises, returns_three):
        out += [("init_sample", fn, dict(init, key="k", probe="init_sample", options={"sample": 100})),
                ("init_exact", fn, dict(init, key="k", probe="init_exact", options={})),
                ("init_in_place", fn, dict(init, key="k", probe="init_in_place", options={"parameter": True})),
                ("init_calls", fn, dict(init, key="k", probe="init_calls", options={"functions": []}))]
    for fn in (torch.nn.init.normal_, raises):
        out.append(("init_generator", fn, dict(init, key="k", probe="init_generator",
                                               options={"seeds": [1, 1, 2], "global_seeds": [5, 6, 7], "sample": 100,
                                                        "none_global_seeds": [8]})))
    def experiment(depth=2, seed=0):
        torch.manual_seed(seed)
        layer = torch.nn.Linear(3, 3)
        out = torch.ones(1, 3)
        for _ in range(depth):
            out = layer(out)
        out.sum().backward()
        return [float(layer.weight.grad.norm())] * depth

    for fn in (experiment, raises):
        out.append(("experiment", fn, dict(key="k", probe="experiment", arg_names=[], args=[], kwargs={"depth": 2},
                                           device="cpu", options={"observe": True, "rerun": True,
                                                                  "changes": [{"seed": 1}], "plot": [{}]})))

    def draws(x, path):
        import matplotlib.pyplot as plt
        figure, axes = plt.subplots(1, 2)
        axes[0].plot(x, torch.sigmoid(x))
        axes[0].set_title("sigmoid")
        figure.savefig(path)
        return figure

    for fn in (draws, raises):
        out.append(("plot", fn, dict(key="k", probe="plot", arg_names=["x"], args=[torch.linspace(-3, 3, 50)],
                                     kwargs={}, device="cpu", options={"filename": "record-test.png"})))
    for question in ("q1", "q2"):
        out.append(("answer", None, dict(key="k", probe="answer", arg_names=[], args=[], kwargs={}, device="cpu",
                                         options={"module": answers.__name__, "question": question})))
    return out


def _declared_keys(record_type) -> set[str]:
    return set(typing.get_type_hints(record_type))


def test_every_record_a_probe_sends_holds_only_the_keys_its_kind_declares(tmp_path, monkeypatch):
    """A kind's record type (record.py, named in its probe module's RECORDS) is the contract its judge reads:
    a probe that sends a key the type does not name breaks it."""
    import tempfile

    from grader.probes.core import watch_exercise
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the plot probe has the figure saved
    records = {}
    for kind in kinds.names():
        folder = kinds.FOLDER / kind
        if (folder / "probe.py").is_file() or (folder / "probe" / "__init__.py").is_file():
            records.update(getattr(importlib.import_module(f"grader.kinds.{kind}.probe"), "RECORDS", {}))
    assert records.keys() == kinds.probes().keys(), "every probe names the type of its record"
    probes = kinds.probes()
    ran = set()
    try:
        for name, fn, call in _calls_for_every_probe():
            record = probes[name](fn, call)
            ran.add(name)
            extra = set(record) - _declared_keys(records[name])
            assert not extra, (name, getattr(fn, "__name__", fn), extra)
            for run in record.get("runs", []) + record.get("global_runs", []):
                assert not set(run) - _declared_keys(typing.get_type_hints(records[name])["runs"].__args__[0])
    finally:
        watch_exercise(False)
    assert ran == records.keys(), "every probe is run here"


def test_the_child_runs_the_forbid_probe_last_and_warms_the_gradient_probe_only_with_backward():
    """How the child runs a probe is declared in the kind's probe module, not by name in the child."""
    import grader.child
    assert grader.child.RUN_LAST == {"forbid"}
    assert grader.child.BACKWARD == {"grad"}
