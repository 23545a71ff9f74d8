"""Right work that reaches the machine in ordinary ways gets its points inside the sandbox."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, reference_with, scores

SYSTEM_FONTS = [p for p in Path("/usr/share/fonts").rglob("*.ttf")] if Path("/usr/share/fonts").is_dir() else []


def test_a_module_asking_who_runs_it_imports(grade_files):
    """The child's uid of its own has no name: getpass.getuser() reads USER and LOGNAME first."""
    source = "import getpass\n_WHO = getpass.getuser()\n" + (REPO / "solutions" / "activations.py").read_text()
    result = grade_files({"activations.py": source}, exercises=["relu"], name="who")
    assert scores(result) == scores(grade_files(reference_with(), exercises=["relu"], name="honest"))


@pytest.mark.skipif(not SYSTEM_FONTS, reason="this machine has no system fonts for matplotlib to pick")
def test_a_plot_in_a_system_font_is_saved(grade_files):
    """matplotlib lists the system's fonts beside its own: a font name or style may pick one."""
    from matplotlib import font_manager
    bundled = {f.name for f in font_manager.fontManager.ttflist if "mpl-data" in f.fname}
    system = sorted({f.name for f in font_manager.fontManager.ttflist
                     if f.fname.startswith("/usr/share/fonts") and f.name not in bundled})
    if not system:
        pytest.skip("matplotlib lists none of this machine's system fonts")
    plots = (REPO / "solutions" / "plots.py").read_text().replace(
        "import matplotlib.pyplot as plt\n", f"import matplotlib.pyplot as plt\nplt.rcParams['font.family'] = 'sans-serif'\n"
                                          f"plt.rcParams['font.sans-serif'] = [{system[0]!r}]\n", 1)
    assert plots != (REPO / "solutions" / "plots.py").read_text()
    exercises = ["plot_activation", "plot_softmax"]
    result = grade_files({"plots.py": plots}, exercises=exercises, name="font")
    assert scores(result) == scores(grade_files(reference_with(), exercises=exercises, name="honest"))
