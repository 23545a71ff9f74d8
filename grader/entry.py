"""Where the grader enters the learner's process: the child's target, and what a fork server imports
before it forks (the child side, and torch with it).

Torch-free and importing nothing, so that every front end (the command line, the pytest plugin,
nbgrader's kernel) can start its fork server before it imports torch itself: on two cores the two
imports then overlap."""

CHILD_TARGET = "grader.child:main"
PRELOAD = ("grader.child",)

#: The file in a child's out folder that names the call running now (`<exercise id>\t<call key>`, padded
#: with spaces to RUNNING_WIDTH bytes), so that a stop can say which case it happened in.
RUNNING_FILE = "running"
RUNNING_WIDTH = 512
