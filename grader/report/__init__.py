"""Reporters: the same SubmissionResult written for a terminal, a platform or a gradebook."""
from .files import write_atomic
from .gradebook import write_gradebook
from .gradescope import gradescope_json
from .junit import junit_xml
from .results_json import results_path, write_attachments, write_results
from .terminal import render_feedback, render_summary, render_table

__all__ = ["write_atomic", "write_gradebook", "gradescope_json", "junit_xml", "results_path", "write_attachments", "write_results",
           "render_feedback", "render_summary", "render_table"]
