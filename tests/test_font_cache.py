"""matplotlib's font list is built once and kept in the grader's private cache (grader/sandbox/fonts.py):
the process that warms up for fork servers starts from the kept list instead of scanning the system's
fonts, and an unusable kept list is rebuilt by matplotlib and replaced."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import fonts, templates



def _warm_up_like_a_server(config_dir) -> None:
    """What a server's warm-up does to the font list: matplotlib imported with MPLCONFIGDIR = config_dir."""
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], check=True,
                   env={"MPLCONFIGDIR": str(config_dir), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})


@pytest.mark.integration
def test_the_kept_font_list_is_used_and_a_broken_one_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHGRADE_CACHE_DIR", str(tmp_path / "cache"))
    first, second = tmp_path / "first" / ".mpl", tmp_path / "second" / ".mpl"
    first.parent.mkdir(), second.parent.mkdir()  # a server's home: it exists, its .mpl not yet
    import matplotlib.font_manager
    folder = fonts._folder(sys.executable)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    kept = folder / f"fontlist-v{matplotlib.font_manager.FontManager.__version__}.json"
    kept.write_bytes(b"\x00 not a font list")

    with fonts.kept_for(sys.executable, first):
        assert (first / kept.name).read_bytes() == b"\x00 not a font list"
        _warm_up_like_a_server(first)
    font_list = json.loads(kept.read_text())  # the broken list, rebuilt by matplotlib and kept
    assert font_list["__class__"] == "FontManager" and font_list["ttflist"]

    font_list["kept_by_the_test"] = True  # a list matplotlib accepts, unlike any it would build itself
    kept.write_text(json.dumps(font_list))
    with fonts.kept_for(sys.executable, second):
        _warm_up_like_a_server(second)
    used = json.loads((second / kept.name).read_text())
    assert used.get("kept_by_the_test") is True, "matplotlib rebuilt the font list instead of using the kept one"
    assert json.loads(kept.read_text()).get("kept_by_the_test") is True


def test_a_template_starts_from_the_kept_font_list_and_keeps_the_one_it_built(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHGRADE_CACHE_DIR", str(tmp_path / "cache"))
    seen = []

    class Warmed:  # a template that only does to MPLCONFIGDIR what matplotlib's import does
        def __init__(self, argv, env, home):
            config = Path(env["MPLCONFIGDIR"])
            seen.append(sorted(p.read_text() for p in config.glob(fonts.PATTERN)))
            if not seen[-1]:
                config.mkdir(exist_ok=True)
                (config / "fontlist-v1.json").write_text("built")

    monkeypatch.setattr(templates, "Template", Warmed)
    templates._start(sys.executable, (), {})
    templates._start(sys.executable, (), {})
    assert seen == [[], ["built"]]
