"""forbid_function knows torch's routine by its bytecode too, so a renamed or moved copy is caught."""
from __future__ import annotations

import pytest

from conftest import check_of


@pytest.mark.parametrize("copy", [
    # the code object with another name, file and first line
    "types.FunctionType(init.xavier_uniform_.__code__.replace(co_name='mine', co_qualname='mine', "
    "co_filename='initializers.py', co_firstlineno=1), init.__dict__, 'mine', "
    "init.xavier_uniform_.__defaults__)",
    # the routine's own source, run again in the learner's namespace
    "_from_source()",
])
def test_a_copy_of_torchs_routine_loses_the_forbid_function_points(grade_files, copy):
    result = grade_files({"initializers.py": f"""
        import inspect, textwrap, types
        import torch.nn.init as init

        def _from_source():
            namespace = dict(init.__dict__)
            exec(compile(textwrap.dedent(inspect.getsource(init.xavier_uniform_)), init.__file__, "exec"), namespace)
            return namespace["xavier_uniform_"]

        xavier_uniform_ = {copy}
    """}, exercises=["xavier_uniform_"])
    forbid = check_of(result, "xavier_uniform_", "forbid_function")
    assert forbid.status == "failed"
    assert "torch.nn.init.xavier_uniform_" in forbid.feedback
