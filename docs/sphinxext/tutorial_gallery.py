"""How sphinx-gallery runs the tutorials for the site.

Each tutorial is a script with ``--quick`` and ``--out FOLDER`` options that writes its figures
as PNG files and closes them. The gallery runs it with ``--quick --out docs/_build/tutorial_figures/
NAME`` (:func:`quick_argv`), and after every code block :func:`written_figures` puts the PNG files
that block wrote on the page, under the code that drew them.

Two tutorials (06 and 09) train on the JSB chorales, which minisnu does not download unless
asked: :func:`setup` stops the build before any tutorial runs, with one line saying how to get them,
when they cannot be found.
"""

import re
import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

#: The tutorials that train on the JSB chorales.
JSB_TUTORIALS = ("06_bach_chorales.py", "09_hardware_in_the_loop.py")

#: The figures each tutorial has written so far, by script: a block shows only its own.
_shown: dict[str, set] = {}


def _figure_folder(gallery_conf, src_file) -> Path:
    return Path(gallery_conf["src_dir"]) / "_build" / "tutorial_figures" / Path(src_file).stem


def quick_argv(gallery_conf, script_vars):
    """The command-line arguments of a tutorial run by the gallery: quick mode, figures into a
    fresh folder of the build (the folder is the build's own, so it is emptied first).

    sphinx-gallery runs a script without ``__file__``; the tutorials are scripts that find their
    folder through it, as scripts do, so it is set here, to the script's own path.
    """
    script_vars["example_globals"]["__file__"] = str(script_vars["src_file"])
    folder = _figure_folder(gallery_conf, script_vars["src_file"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _shown[str(script_vars["src_file"])] = set()
    return ["--quick", "--out", str(folder)]


def written_figures(block, block_vars, gallery_conf):
    """An image scraper: the PNG files the tutorial wrote during this block, in the order written,
    one below the other."""
    src_file = str(block_vars["src_file"])
    folder = _figure_folder(gallery_conf, src_file)
    shown = _shown.setdefault(src_file, set())
    new = [p for p in folder.glob("*.png") if p.name not in shown] if folder.is_dir() else []
    new.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    images = []
    for path, image_path in zip(new, block_vars["image_path_iterator"]):
        shutil.copyfile(path, image_path)
        shown.add(path.name)
        images.append(image_path)
    # one image per row, at full width: the tutorials' figures have axes to read
    return "".join(figure_rst([image], gallery_conf["src_dir"]) for image in images)


def _check_chorales(app, config):
    """Stop before any tutorial runs when the JSB chorales of tutorials 06 and 09 are missing
    (and they are to be executed): one line, not Sphinx's report of an exception."""
    from minisnu.core.errors import MinisnuError
    from minisnu.data import locate_jsb

    gallery = config.sphinx_gallery_conf
    paths = [str(Path(app.srcdir, gallery["examples_dirs"], name).resolve()) for name in JSB_TUTORIALS]
    runs = [re.search(gallery["filename_pattern"], path)
            and not re.search(gallery["ignore_pattern"], Path(path).name) for path in paths]
    if not any(runs):
        return
    try:
        locate_jsb(None)
    except MinisnuError:
        raise SystemExit(
            "minisnu docs: the tutorials 06 and 09 train on the JSB chorales, which were not found: "
            "run `minisnu download jsb` once (or set MINISNU_DATA to the folder that holds them)"
        ) from None


def setup(app):
    app.connect("config-inited", _check_chorales)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
