"""The steps a grading child announces, in order: what the sandbox lets start, each once."""
from __future__ import annotations


def scheduled_steps(exercises: list[str], module_of: dict[str, str], cuda: bool) -> list[str]:
    """The steps grader.child.main announces, in order: CUDA's start, then each module's import before
    its first exercise, and each exercise. The grader hands them to the sandbox, which accepts no other."""
    schedule = ["start:cuda"] if cuda else []
    imported: set[str] = set()
    for exercise_id in exercises:
        module = module_of[exercise_id]
        if module not in imported:
            imported.add(module)
            schedule.append(f"import:{module}")
        schedule.append(exercise_id)
    return schedule
