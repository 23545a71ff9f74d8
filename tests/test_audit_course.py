"""The shipped course's catalogue: enough mistakes and accepted variants per exercise, the mistakes
students really make among them, and a green audit.

test_the_shipped_course_passes_its_own_audit runs `torchgrade audit` over the whole course (about a
minute). It fails while a catalogued mistake still loses no points: the catalogue records mistakes the
checks do not catch yet, and the checks are changed until every one of them is caught.
"""
from __future__ import annotations

import pytest

from grader.audit import render_audit, run_audit
from grader.pool import WorkerPool

#: module → (mistakes, accepted variants) each of its exercises must catalogue at least
REQUIRED = {"activations": (4, 2), "losses": (4, 2), "initializers": (4, 2), "plots": (2, 2), "experiments": (2, 2)}

#: The wrong verdicts found by writing submissions as students do: each has its mistake in the catalogue.
KNOWN_MISTAKES = [
    ("sigmoid", "sign_abs_flat_at_zero"),       # gradient 0 at x = 0 from |x| and sign(x)
    ("tanh", "sign_abs_flat_at_zero"),
    ("sigmoid_grad", "asks_autograd"),          # autograd where the statement forbids it
    ("sigmoid_grad", "backward_on_a_copy"),
    ("tanh_grad", "asks_autograd"),
    ("relu_grad", "asks_autograd"),
    ("leaky_relu_grad", "asks_autograd"),
    ("softmax_jacobian", "asks_autograd"),
    ("tanh_grad", "square_missing"),            # 1 − tanh(x) without the square
    ("sigmoid", "result_on_cpu"),               # the same submission, another score on a GPU
    ("relu", "result_on_cpu"),
    ("relu_grad", "through_python_list"),
    ("sigmoid", "meta_error_disguised"),
    ("sigmoid", "dtype_that_lies"),             # the child describing its own outputs
    ("sigmoid", "expit_when_unwatched"),        # a forbidden call only while nobody records
    ("kaiming_normal_", "copy_of_torch_routine"),
    ("zeros_", "multiplies_by_zero"),           # nan and inf survive mul_(0)
    ("ones_", "multiplies_by_zero"),
    ("constant_", "multiplies_by_zero"),
    ("normal_", "fresh_generator_seeded"),      # generator=None seeded with 0 on every call
    ("uniform_", "fresh_generator_seeded"),
    ("gradient_norms", "invented_numbers"),     # numbers shaped to the properties, no network
    ("plot_activation", "saved_half_drawn"),    # the PNG is not the figure returned
    ("plot_activation", "saved_before_drawing"),
    ("cross_entropy", "renamed_parameter"),     # cross_entropy(logits, targets)
]


#: Right work that failed: each is an accepted variant in the catalogue.
KNOWN_ACCEPTED = [
    ("init_tanh_layers", "course_title"),       # "Xavier (Glorot)", the course's own name for the scheme
]


def test_every_exercise_with_a_function_catalogues_enough_mistakes_and_accepted_variants(course):
    short = []
    for exercise in course.exercises:
        if exercise.module not in REQUIRED:
            continue
        mistakes, accepted = REQUIRED[exercise.module]
        if len(exercise.mistakes) < mistakes or len(exercise.accepted) < accepted:
            short.append(f"{exercise.id}: {len(exercise.mistakes)} mistakes, {len(exercise.accepted)} accepted")
    assert short == []
    assert {e.module for e in course.exercises} - set(REQUIRED) == {"answers"}  # questions have options instead


def test_the_wrong_verdicts_found_have_their_mistakes_in_the_catalogue(course):
    catalogued = {(e.id, m.id) for e in course.exercises for m in e.mistakes}
    assert [pair for pair in KNOWN_MISTAKES if pair not in catalogued] == []
    accepted = {(e.id, a.id) for e in course.exercises for a in e.accepted}
    assert [pair for pair in KNOWN_ACCEPTED if pair not in accepted] == []


@pytest.mark.slow
def test_the_shipped_course_passes_its_own_audit(course, plans, server):
    """Every catalogued mistake loses points and every accepted variant gets full marks (`torchgrade audit`)."""
    audit = run_audit(course, plans(None, True), pool=WorkerPool.of([server]))
    assert audit.ok, render_audit(audit)
