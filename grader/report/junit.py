"""JUnit XML for CI pipelines: one testsuite per exercise, one testcase per check."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..scoring import SubmissionResult


def junit_xml(result: SubmissionResult) -> str:
    suites = ET.Element("testsuites", name=result.submission)
    for exercise in result.exercises:
        failures = sum(c.status == "failed" for c in exercise.checks)
        errors = sum(c.status == "error" for c in exercise.checks)
        skipped = sum(c.status == "skipped" for c in exercise.checks)
        suite = ET.SubElement(suites, "testsuite", name=exercise.id, tests=str(len(exercise.checks)),
                              failures=str(failures), errors=str(errors), skipped=str(skipped))
        for check in exercise.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{result.submission}.{exercise.id}", name=check.name)
            if check.status in ("failed", "error"):
                tag = "failure" if check.status == "failed" else "error"
                node = ET.SubElement(case, tag, message=check.feedback.splitlines()[0] if check.feedback else check.status)
                node.text = check.feedback
            elif check.status == "skipped":
                ET.SubElement(case, "skipped", message=check.feedback)
            ET.SubElement(case, "system-out").text = f"score {check.score:g} / {check.max_score:g}"
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
