"""torchgrade in nbgrader: build an nbgrader course directory from course.yaml, and autograde
submitted notebooks with the isolated grader straight into nbgrader's gradebook.

Needs the `nbgrader` extra (`pip install 'torchgrade[nbgrader]'`) for everything but `build`.
"""
