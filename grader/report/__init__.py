"""Reporters: the same SubmissionResult written for a terminal, a platform or a gradebook."""
from .files import write_atomic
from .gradebook import write_gradebook
from .gradescope import gradescope_json
from .junit import junit_xml
from .results_json import results_path, write_attachments, write_results
from .html import render_page, write_page
from .pictures import not_a_file, pointing_at
from .class_report import render_class_brief
from .terminal import render_feedback, render_lines, render_table

__all__ = ["write_atomic", "write_gradebook", "gradescope_json", "junit_xml", "results_path", "write_attachments", "write_results",
           "render_feedback", "render_table", "render_page", "write_page", "not_a_file", "pointing_at",
           "render_class_brief", "render_lines"]
