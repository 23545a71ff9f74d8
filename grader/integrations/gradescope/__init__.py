"""torchgrade on Gradescope: `torchgrade gradescope build` writes the autograder zip, and its
`run_autograder` calls `python -m grader.integrations.gradescope.run` to grade one submission.

Gradescope's layout: the zip unpacked in /autograder/source, the student's files in
/autograder/submission, the results in /autograder/results/results.json. The root is
/autograder unless TORCHGRADE_GRADESCOPE_ROOT names another (to try the autograder locally).
"""
ROOT_VARIABLE = "TORCHGRADE_GRADESCOPE_ROOT"
DEFAULT_ROOT = "/autograder"
