"""Every parse of Python source in the grader runs one thread at a time (grader/python_source.py)."""
from __future__ import annotations

import ast
import threading
import time

from grader import python_source


def test_threads_parsing_at_once_parse_one_after_another(monkeypatch):
    inside, most = [0], [0]
    real = ast.parse

    def slow_parse(source, filename="<unknown>"):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.01)  # long enough for the other threads to arrive
        inside[0] -= 1
        return real(source, filename=filename)

    monkeypatch.setattr(python_source.ast, "parse", slow_parse)
    threads = [threading.Thread(target=python_source.parse, args=(f"x = {n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def test_the_grader_parses_python_nowhere_else():
    from pathlib import Path
    package = Path(python_source.__file__).parent
    elsewhere = [str(path.relative_to(package)) for path in package.rglob("*.py")
                 if path.name != "python_source.py" and "ast.parse(" in path.read_text()]
    assert elsewhere == []
