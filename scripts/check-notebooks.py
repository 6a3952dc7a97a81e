#!/usr/bin/python3
"""Checks executed notebooks: every code cell ran without error, every cell
tagged "figure" shows at least one image, and each notebook shows at least
the number of images listed in MIN_IMAGES.

GoNB reports a cell whose program panics or exits with a non-zero status as
a success, with the panic and an "exit status N" line on stderr, so nbconvert
does not fail on it; this check does.

Usage: scripts/check-notebooks.py NOTEBOOK.ipynb...

An image is an image/png output, or a text/html output holding an <img>.
Notebooks missing from MIN_IMAGES fail, so a new notebook gets a minimum.
Uses only the standard library.
"""

import json
import os
import re
import sys

# Images each notebook shows at least, counted over all its outputs.
MIN_IMAGES = {
    "01-quickstart.ipynb": 4,
    "02-inside-ddrm.ipynb": 7,
    "03-ldm-and-hybrid.ipynb": 2,
    "04-reproduce-the-study.ipynb": 2,
    "05-samplers-side-by-side.ipynb": 5,
}

# Committed notebooks stay small enough for code hosts to render.
MAX_BYTES = 1_500_000

# What GoNB writes to stderr when a cell's program fails: Go's panic header,
# and the exit status or signal of the program (see jpyexec in GoNB).
FAILED = re.compile(r"^(panic: |fatal error: |exit status \d+$|signal: )", re.M)


def text(v):
    return "".join(v) if isinstance(v, list) else v


def images(output):
    """Returns the number of images in one cell output."""
    data = output.get("data", {})
    n = 1 if "image/png" in data else 0
    return n + text(data.get("text/html", "")).count("<img ")


def check(path):
    """Returns the problems found in the notebook at path."""
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    problems = []
    total = 0
    for i, cell in enumerate(nb["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        where = f"{name}: cell {i}"
        if not text(cell["source"]).strip():
            continue
        if cell.get("execution_count") is None:
            problems.append(f"{where} was not executed")
        n = 0
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                problems.append(f"{where} failed: {out.get('ename')}: {out.get('evalue')}")
            elif out["output_type"] == "stream" and out["name"] == "stderr":
                m = FAILED.search(text(out["text"]))
                if m:
                    line = text(out["text"])[m.start():].splitlines()[0]
                    problems.append(f"{where} failed: {line}")
            n += images(out)
        total += n
        if "figure" in cell.get("metadata", {}).get("tags", []) and n == 0:
            problems.append(f"{where} is tagged figure but shows no image")
    want = MIN_IMAGES.get(name)
    if want is None:
        problems.append(f"{name}: no minimum image count; add it to MIN_IMAGES in {sys.argv[0]}")
    elif total < want:
        problems.append(f"{name}: shows {total} images, want at least {want}")
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        problems.append(f"{name}: {size} bytes, over the {MAX_BYTES} limit; show smaller images")
    print(f"{name}: {total} images, {size // 1000} kB")
    return problems


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print("FAIL", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
