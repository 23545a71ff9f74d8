"""JUnit XML for CI pipelines: one testsuite per exercise, one testcase per check.

Every text is made `xml_safe` first: XML 1.0 cannot hold control characters or lone surrogates,
and a learner's exception message or a file name may contain them."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..scoring import SubmissionResult
from ..text import xml_safe as x


def junit_xml(result: SubmissionResult) -> str:
    suites = ET.Element("testsuites", name=x(result.submission))
    if result.details.get("error"):
        suites.set("error", x(str(result.details["error"])))
    for exercise in result.exercises:
        failures = sum(c.status == "failed" for c in exercise.checks)
        errors = sum(c.status == "error" for c in exercise.checks)
        skipped = sum(c.status == "skipped" for c in exercise.checks)
        suite = ET.SubElement(suites, "testsuite", name=x(exercise.id), tests=str(len(exercise.checks)),
                              failures=str(failures), errors=str(errors), skipped=str(skipped))
        for check in exercise.checks:
            case = ET.SubElement(suite, "testcase", classname=x(f"{result.submission}.{exercise.id}"),
                                 name=x(check.name))
            feedback = x(check.feedback)
            if check.status in ("failed", "error"):
                tag = "failure" if check.status == "failed" else "error"
                node = ET.SubElement(case, tag, message=feedback.splitlines()[0] if feedback else check.status)
                node.text = feedback
            elif check.status == "skipped":
                ET.SubElement(case, "skipped", message=feedback)
            ET.SubElement(case, "system-out").text = f"score {check.score:g} / {check.max_score:g}"
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
