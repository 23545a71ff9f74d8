"""Generate a realistic class of submissions for the benchmarks: correct, partly wrong, a few hostile.

    python benchmarks/make_submissions.py OUT [--count 200] [--seed 2026]

Built from whatever the course contains: for each module of course.yaml, the reference solution
and the example submissions (examples/<name>/<module>.py). A partly wrong submission is the
solution with some functions (or a whole module) taken from an example's attempt, or left out;
the hostile ones hang, end the process with os._exit, or print 100 MB. Deterministic for a seed.
Writes OUT/<name>/<module>.py and OUT/manifest.json ({name: profile}).
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

#: (profile, what is injected, into which function of activations.py)
HOSTILE = [
    ("hang", "while True:\n    pass", "sigmoid"),
    ("hang", "while True:\n    pass", "softmax"),
    ("exit", "import os\nos._exit(3)", "relu"),
    ("exit", "import os\nos._exit(0)", "tanh"),
    ("print", "print('spam ' * 20_000_000)", "neuron"),
    ("print", "for _ in range(200):\n    print('x' * 100_000)", "leaky_relu"),
]


def course_modules(course_file: Path) -> list[str]:
    return list(yaml.safe_load(course_file.read_text())["modules"])


def attempts(module: str, root: Path) -> list[Path]:
    """Example submissions' versions of a module (not the empty starter)."""
    return sorted(p for p in (root / "examples").glob(f"*/{module}.py") if p.parent.name != "starter")


def _defs(tree: ast.Module) -> dict[str, ast.stmt]:
    return {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _segment(source: str, node: ast.stmt) -> str:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(source.splitlines()[first - 1:node.end_lineno])


def mix(base: str, attempt: str, take: list[str]) -> str:
    """`base` with the functions named in `take` replaced by the attempt's (its imports and helpers too)."""
    tree = ast.parse(attempt)
    base_names = set(_defs(ast.parse(base)))
    pieces = [base.rstrip(), "", "", "# --- from another attempt ---"]
    pieces += [_segment(attempt, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    pieces += [_segment(attempt, n) for name, n in _defs(tree).items() if name not in base_names]
    pieces += [_segment(attempt, _defs(tree)[name]) for name in take if name in _defs(tree)]
    return "\n".join(pieces) + "\n"


def inject(source: str, function: str, code: str) -> str:
    """`code` as the first statement of `function` (at the top of the module if there is none)."""
    node = _defs(ast.parse(source)).get(function)
    lines = source.splitlines()
    if node is None:
        return code + "\n" + source
    first = node.body[0]
    indent = " " * first.col_offset
    at = first.lineno - 1
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        at = first.end_lineno  # after the docstring
    lines[at:at] = [indent + line for line in code.splitlines()]
    return "\n".join(lines) + "\n"


def partly_wrong(module: str, solution: str, rng: random.Random, root: Path) -> str | None:
    """None: the module is left out."""
    options = attempts(module, root)
    roll = rng.random()
    if roll < 0.04:
        return None
    if not options:
        return solution
    attempt_file = rng.choice(options)
    attempt = attempt_file.read_text()
    names = list(_defs(ast.parse(solution)))
    if not names or roll < 0.15:
        return attempt  # the whole module from the attempt (e.g. answers.py)
    take = [name for name in names if rng.random() < 0.3]
    return mix(solution, attempt, take)


def generate(out: Path, count: int = 200, seed: int = 2026, root: Path = REPO) -> dict[str, str]:
    rng = random.Random(seed)
    modules = course_modules(root / "course.yaml")
    solutions = {m: (root / "solutions" / f"{m}.py").read_text() for m in modules
                 if (root / "solutions" / f"{m}.py").is_file()}
    starter = {m: p.read_text() for m in modules if (p := root / "examples" / "starter" / f"{m}.py").is_file()}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    hostile_at = {round((i + 1) * count / (len(HOSTILE) + 1)): h for i, h in enumerate(HOSTILE)} if count >= 20 else {}
    starters = {round((i + 0.5) * count / 4) for i in range(4)} if count >= 20 else set()
    manifest: dict[str, str] = {}
    for index in range(count):
        name = f"student{index:03d}"
        files: dict[str, str] = {}
        if index in hostile_at:
            profile, code, function = hostile_at[index]
            files = dict(solutions)
            files["activations"] = inject(solutions["activations"], function, code)
        elif index in starters:
            profile, files = "starter", dict(starter)
        elif rng.random() < 0.4:
            profile, files = "correct", dict(solutions)
        else:
            profile = "partly wrong"
            for module, solution in solutions.items():
                text = partly_wrong(module, solution, rng, root)
                if text is not None:
                    files[module] = text
        folder = out / name
        folder.mkdir()
        for module, text in files.items():
            (folder / f"{module}.py").write_text(text)
        manifest[name] = profile
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    manifest = generate(args.out, args.count, args.seed)
    mix_ = {p: list(manifest.values()).count(p) for p in sorted(set(manifest.values()))}
    print(f"{len(manifest)} submissions in {args.out}: {mix_}")


if __name__ == "__main__":
    main()
