"""What a fresh child side costs to start, and what it must not change.

The stand-in for torch._dynamo (grader/probes/lazy_dynamo.py) keeps torch's compiler unloaded while
the probes run, about 1 s per fresh process. The stand-in changes sys.modules for good, so each snippet
runs in an interpreter of its own: a fork of one that has imported torch and nothing else, as a fresh
`python -c "import torch; ..."` would be at its second line (the import paid once per module).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


#: Reads one JSON request a line ({"code", "out", "err"}), runs the code in a fork of itself with stdout and
#: stderr in the named files, and answers the fork's exit status.
FORKING_RUNNER = """
import json, os, sys, traceback
import torch
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        for fd, path in ((1, request["out"]), (2, request["err"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        status = 0
        try:
            exec(compile(request["code"], "<snippet>", "exec"), {"__name__": "__main__"})
        except BaseException:
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    print(json.dumps(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])), flush=True)
"""


@pytest.fixture(scope="module")
def python_with_torch():
    runner = subprocess.Popen([sys.executable, "-c", FORKING_RUNNER], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True,
                              env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO)})
    yield runner
    runner.stdin.close()
    runner.wait(timeout=60)


@pytest.fixture
def run_python(python_with_torch, tmp_path):
    """Runs code in an interpreter of its own that has imported torch and nothing else; its stdout."""
    def run(code: str) -> str:
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        request = {"code": textwrap.dedent(code), "out": str(out), "err": str(err)}
        python_with_torch.stdin.write(json.dumps(request) + "\n")
        python_with_torch.stdin.flush()
        status = python_with_torch.stdout.readline()
        assert status.strip() == "0", (status, err.read_text()[-3000:] if err.exists() else "")
        return out.read_text()
    return run


def test_warm_child_runs_every_probe_without_loading_the_compiler(run_python):
    out = run_python("""
        import sys, torch
        import grader.child as child
        child.warm()  # every probe once, the simulated GPU and the op recorder included
        print(type(sys.modules["torch._dynamo"]).__name__, "torch._dynamo.eval_frame" in sys.modules)
        print(torch.sigmoid(torch.ones(3, device="meta")).device)
        from grader.probes.core import RecordOps
        with RecordOps() as recorder:
            torch.tanh(torch.ones(2))
        print(sorted(recorder.ops))
    """).split("\n")
    assert out[0] == "_Deferred False"  # still the stand-in: nothing of the real package was imported
    assert out[1] == "meta"
    assert out[2] == "['ones', 'tanh']"


def test_a_learner_can_still_compile_and_import_dynamo_modules(run_python):
    out = run_python("""
        import sys, torch
        import grader.child as child
        child.warm()
        import torch._dynamo.config as config
        real = sys.modules["torch._dynamo"]
        print(type(real).__name__, config is real.config, torch._dynamo is real)
        compiled = torch.compile(lambda x: x * 2 + 1, backend="eager")
        print(compiled(torch.ones(2)).tolist())
    """).split("\n")
    assert out[0] == "module True True"  # the real package, and one copy of its submodules
    assert out[1] == "[3.0, 3.0]"


def test_functions_disabled_before_dynamo_loads_defer_to_the_real_disable_after(run_python):
    out = run_python("""
        import sys, torch
        from grader.probes.lazy_dynamo import defer_dynamo
        defer_dynamo()
        calls = []
        def f(x):
            calls.append("f")
            return x + 1
        disabled = torch._disable_dynamo(f, recursive=True)
        print(disabled(1), type(sys.modules["torch._dynamo"]).__name__)
        import torch._dynamo.config  # something that needs the real package loads it
        real = sys.modules["torch._dynamo"]
        real_disable = real.disable
        import functools
        @functools.wraps(real_disable)  # its signature: the stand-in asks which options the real one takes
        def recording_disable(fn, recursive=True, **options):
            calls.append("real disable")
            return real_disable(fn, recursive, **options)
        real.disable = recording_disable
        print(disabled(2), calls)
    """).split("\n")
    assert out[0] == "2 _Deferred"
    assert out[1] == "3 ['f', 'real disable', 'f']"


def test_an_older_torchs_requests_are_recognised_and_its_disable_gets_only_what_it_knows(run_python):
    """torch 2.4: `_disable_dynamo` calls `torch._dynamo.disable(fn, recursive)`, no `wrapping=False`, and the
    real `disable` takes no `reason` or `wrapping` (a TypeError there failed every optimizer step in a
    learner's code). Both imitated here, on whatever torch is installed."""
    out = run_python("""
        import sys, torch
        from grader.probes.lazy_dynamo import defer_dynamo
        defer_dynamo()
        old_disable_dynamo = {"__name__": "torch._compile"}  # what torch 2.4's torch/_compile.py calls from
        exec("def ask(fn):\\n    import torch._dynamo\\n    return torch._dynamo.disable(fn, True)", old_disable_dynamo)
        disabled = old_disable_dynamo["ask"](lambda x: x + 1)
        print(disabled(1), type(sys.modules["torch._dynamo"]).__name__)  # answered without loading dynamo
        import torch._dynamo.config
        real = sys.modules["torch._dynamo"]
        seen = []
        def disable_of_torch_2_4(fn=None, recursive=True):
            seen.append(recursive)
            return fn
        real.disable = disable_of_torch_2_4
        print(disabled(2), seen, torch._dynamo.disable(len) is len)
    """).split("\n")
    assert out[0] == "2 _Deferred"
    assert out[1] == "3 [True, True] True"  # the deferred call, then a learner's own disable: no TypeError


def test_the_stand_in_is_not_installed_over_a_loaded_dynamo(run_python):
    out = run_python("""
        import sys, torch, torch._dynamo
        from grader.probes.lazy_dynamo import defer_dynamo
        defer_dynamo()
        print(type(sys.modules["torch._dynamo"]).__name__)
    """)
    assert out.strip() == "module"


def test_children_collect_garbage_though_the_server_imports_without(server, tmp_path):
    from grader.sandbox import Job
    outcome = server.run(Job("grader.sandbox.selftest:run_source",
                             {"source": "import gc\nprint('collector on:', gc.isenabled())"}, workdir=str(tmp_path)))
    assert outcome.ok, outcome.stderr
    assert "collector on: True" in outcome.stdout


def test_an_optimizer_step_does_not_load_the_compiler(run_python):
    out = run_python("""
        import sys, torch
        import grader.child as child
        child.warm()
        model = torch.nn.Linear(3, 3)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model(torch.ones(2, 3)).sum().backward()
        optimizer.step()  # calls torch._dynamo.graph_break(), a no-op outside compilation
        print(type(sys.modules["torch._dynamo"]).__name__, "torch._dynamo.eval_frame" in sys.modules)
    """)
    assert out.split("\n")[0] == "_Deferred False"


def test_what_a_learner_asks_of_dynamo_directly_is_answered_by_the_real_package(run_python):
    out = run_python("""
        import torch
        import grader.child as child
        child.warm()
        kept = torch.compiler.disable(torch.nn.Linear(2, 2))  # the real disable wraps a module as a module
        print(isinstance(kept, torch.nn.Module), kept(torch.ones(1, 2)).shape)
        class Thing:
            pass
        print(torch._dynamo.disable(Thing) is not None, "optimize" in dir(torch._dynamo))
    """).split("\n")
    assert out[0] == "True torch.Size([1, 2])"
    assert out[1] == "True True"


@pytest.mark.torch_internals  # how torch._dynamo loads and reads its config
def test_threads_calling_disabled_functions_while_dynamo_loads_wait_for_it(run_python):
    out = run_python("""
        import sys, threading, time, torch
        from grader.probes.lazy_dynamo import defer_dynamo
        defer_dynamo()
        errors, stop = [], []
        def hammer():
            while not stop:
                try:
                    torch._disable_dynamo(lambda x: x)(1)  # torch's own request, as each torch words it
                except Exception as exc:
                    errors.append(repr(exc))
                    return
        thread = threading.Thread(target=hammer)
        thread.start()
        time.sleep(0.01)
        import torch._dynamo.config  # loads the real package while the other thread calls through it
        time.sleep(0.05)
        stop.append(True)
        thread.join()
        print(errors)
    """)
    assert out.strip() == "[]"


COUNT_BACKWARD_PASSES = """
    import torch
    from torch.autograd.variable import Variable
    import grader.child as child

    class CountingEngine:
        passes = 0
        def __init__(self, engine):
            self.engine = engine
        def run_backward(self, *args, **kwargs):
            CountingEngine.passes += 1
            return self.engine.run_backward(*args, **kwargs)
        def __getattr__(self, name):
            return getattr(self.engine, name)

    Variable._execution_engine = CountingEngine(Variable._execution_engine)
    child.backward_would_start_a_gpu = lambda: GPU
    child.warm()
    print(CountingEngine.passes)
"""


def test_the_fork_server_leaves_backward_passes_to_its_children_where_a_gpu_is_present(run_python):
    # On an H200 the warm-up's backward pass started the CUDA driver and autograd's GPU thread in the
    # fork server; every child then failed its gradient checks ("Unable to handle autograd's threading
    # in combination with fork-based multiprocessing") and could not start CUDA.
    with_gpu = run_python(COUNT_BACKWARD_PASSES.replace("GPU", "True"))
    without_gpu = run_python(COUNT_BACKWARD_PASSES.replace("GPU", "False"))
    assert int(with_gpu) == 0
    assert int(without_gpu) > 0  # the counter sees the warm-up's passes where they are safe


def test_a_gpu_is_recognised_by_its_device_files_only_in_a_torch_built_for_it(monkeypatch):
    import torch

    import grader.child as child
    monkeypatch.setattr(child, "GPU_DEVICE_FILES", ("/dev/null",))  # a device file that exists
    monkeypatch.setattr(torch.cuda, "_is_compiled", lambda: True)
    assert child.backward_would_start_a_gpu()
    monkeypatch.setattr(torch.cuda, "_is_compiled", lambda: False)
    assert child.backward_would_start_a_gpu() is (torch.xpu._is_compiled())
    monkeypatch.setattr(torch.cuda, "_is_compiled", lambda: True)
    monkeypatch.setattr(child, "GPU_DEVICE_FILES", ("/dev/no-such-gpu",))
    assert not child.backward_would_start_a_gpu()


def test_a_gpu_job_starts_cuda_and_autograd_before_the_learners_code_runs(tmp_path, monkeypatch):
    # A learner's bounded fork bomb at import left no room for the threads CUDA and autograd start at
    # the first backward pass; on an H200 the child died there. Started first, they are already there.
    import grader.child as child
    from grader import wire
    order: list[str] = []
    monkeypatch.setattr(child, "start_gpu", lambda: order.append("gpu"))
    def learner_import(module, where):
        order.append(f"import {module}")
        return None, {"status": "missing_module"}
    monkeypatch.setattr(child, "_import", learner_import)
    tasks = tmp_path / "tasks"
    wire.dump({"relu": {"module": "activations_for_order"}}, tasks)

    class Steps:
        def start(self, name): order.append(f"start {name}")
        def done(self, name): pass

    import tempfile
    monkeypatch.chdir(tmp_path)  # the child's folders are its job's own
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    for cuda in (True, False):
        order.clear()
        child.main({"submission_dir": str(tmp_path), "out_dir": str(tmp_path / f"out{cuda}"), "tasks_file": str(tasks),
                    "exercises": ["relu"], "cuda": cuda}, Steps())
        expected = ["start import:activations_for_order", "import activations_for_order", "start relu"]
        assert order == (["start start:cuda", "gpu"] + expected if cuda else expected)


@pytest.mark.torch_internals  # how torch._dynamo loads and reads its config
def test_a_learners_dynamo_config_is_the_one_dynamo_reads(run_python):
    """`import torch._dynamo.config` through the stand-in gives the module dynamo itself uses, not a second
    copy run from source again (a setting there would be lost: compile errors would not fall back)."""
    out = run_python("""
        import sys, torch
        import grader.child
        import torch._dynamo.config
        torch._dynamo.config.suppress_errors = True
        from torch._dynamo import convert_frame
        print(torch._dynamo.config is sys.modules["torch._dynamo.config"] is convert_frame.config)
        def failing_backend(graph, inputs):
            raise RuntimeError("this backend always fails")
        print(torch.compile(lambda x: x * 2, backend=failing_backend)(torch.ones(2)).tolist())
    """).split("\n")
    assert out[0] == "True"
    assert out[1] == "[2.0, 2.0]"  # the error suppressed, as the learner asked: run eagerly


def test_the_real_disable_gets_the_stand_ins_defaults_only_where_it_knows_them():
    import types

    from grader.probes.lazy_dynamo import _real_disable

    def disable_of_torch_2_4(fn=None, recursive=True):
        return fn

    def disable_taking_anything(fn=None, recursive=True, **options):
        return options

    old, new = types.SimpleNamespace(disable=disable_of_torch_2_4), types.SimpleNamespace(disable=disable_taking_anything)
    assert _real_disable(old, len, True, {"reason": None, "wrapping": True}) is len
    with pytest.raises(TypeError):  # a learner's own option: their torch 2.4 refuses it, and so does this
        _real_disable(old, len, True, {"reason": "why", "wrapping": True})
    assert _real_disable(new, len, True, {"reason": None, "wrapping": False}) == {"reason": None, "wrapping": False}


def test_the_switch_leaves_torch_to_load_its_compiler_as_it_always_does(run_python):
    out = run_python("""
        import os, sys
        os.environ["TORCHGRADE_NO_LAZY_DYNAMO"] = "1"
        import torch
        from grader.probes.lazy_dynamo import defer_dynamo
        print(defer_dynamo(), "torch._dynamo" in sys.modules)
        torch._disable_dynamo(lambda x: x, recursive=True)(1)  # torch asks for dynamo at the first call
        print(type(sys.modules["torch._dynamo"]).__name__)
    """).split("\n")
    assert out[0] == "False False"   # not installed …
    assert out[1] == "module"        # … so torch's first request loads the real compiler


def test_verdicts_are_the_same_with_and_without_the_compiler_stand_in(course, server, tmp_path, monkeypatch):
    """The device probe's dispatch modes, the initialisers and an optimizer's steps all ask dynamo for
    something: graded by a server with torch's own behaviour, a submission gets the same results."""
    from grader.entry import PRELOAD
    from grader.plan import build_plan
    from grader.run import grade_submission
    from grader.sandbox import ForkServer
    plan = build_plan(course, hidden=True, exercises=["sigmoid", "kaiming_uniform_", "gradient_norms"],
                      workdir=tmp_path / "plan")
    monkeypatch.setenv("TORCHGRADE_NO_LAZY_DYNAMO", "1")
    with ForkServer(PRELOAD) as eager:
        monkeypatch.delenv("TORCHGRADE_NO_LAZY_DYNAMO")
        for name in ("alice", "bob"):
            results = []
            for graded_by in (server, eager):
                scratch = tmp_path / f"{name}-{len(results)}"
                scratch.mkdir()
                result = grade_submission(plan, REPO / "examples" / name, graded_by, scratch)
                results.append([(e.id, e.score, [(c.name, c.status, c.score, c.feedback) for c in e.checks])
                                for e in result.exercises])
            assert results[0] == results[1], name
            assert any(score for _, score, _ in results[0])
