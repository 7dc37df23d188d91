"""Rebuild tests/kernel/shapes.ipynb and containers.ipynb: write their cells, execute them
with nbclient through the Baleine kernel, and store the outputs (coalesced, as the course
notebooks are). containers.ipynb runs busybox (the stand-in scripts/base_images.py caches).

    python tests/kernel/regenerate_shapes.py   # the kernelspec `baleine` must be installed
"""

from pathlib import Path

import os
import tempfile

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent
NOTEBOOK = HERE / "shapes.ipynb"
CONTAINERS = HERE / "containers.ipynb"

CELLS = [
    ("markdown", "# Command shapes of the course\n\nEach cell is a shape the French Docker "
                 "course uses; nbval checks the outputs against the Baleine kernel."),
    ("code", "docker --version\ndocker version --format '{{.Client.Version}}'"),
    ("code", 'work=$(mktemp -d)\nmkdir -p "$work/sample-python/helloworld"\n'
             '( cd "$work/sample-python/helloworld" && basename "$PWD" )\nbasename "$PWD"'),
    ("code", "docker image ls | head -1 | tr -s ' '"),
    ("code", "alias here='echo ${PWD##*/}'\nhere\nalias dk=docker\ndk version --format '{{.Client.Version}}' | wc -l"),
    ("code", 'cat > "$work/Dockerfile" <<EOF\nFROM alpine\nRUN echo "built in $(date +%Y)" > /date.txt\n'
             'EOF\nwc -l < "$work/Dockerfile"\ngrep -c FROM "$work/Dockerfile"'),
    ("code", 'echo "Nous sommes le $(date +%d/%m/%Y)"'),
    ("code", "ls /nonexistent-folder"),
    ("code", 'rm -rf "$work"\necho rangé'),
]
TAGS = {7: ["raises-exception"]}  # a failing command is an error that nbval compares

# The course's container shapes: `alias sqlite='docker run -i -v ${PWD}:/workdir --rm sqlite'`
# with busybox, a heredoc as the container's stdin, a volume, a failing container.
CONTAINER_CELLS = [
    ("markdown", "# Containers in the course's shapes\n\nRuns `busybox` (an offline stand-in)."),
    ("code", 'docker image inspect busybox:latest >/dev/null 2>&1 ||\n'
             '  docker import "${XDG_CACHE_HOME:-$HOME/.cache}/baleine/base/busybox.tar" busybox:latest >/dev/null\n'
             'echo prêt'),
    ("code", "docker run --rm busybox echo bonjour"),
    ("code", 'start=$PWD\nwork=$(mktemp -d) && cd "$work"\n'
             "alias bb='docker run -i -v ${PWD}:/workdir --rm busybox'\n"
             "echo salut > message.txt\nbb cat /workdir/message.txt"),
    ("code", "bb sh <<'EOF'\ncd /workdir\necho \"écrit dans le conteneur\" > sortie.txt\nls\nEOF\n"
             "cat sortie.txt"),
    ("code", "( cd \"$work\" && docker run --rm -v \"$PWD\":/w busybox ls /w ) | sort | tr '\\n' ' '"),
    ("code", "docker run --rm busybox sh -c 'echo avant; exit 3'"),
    ("code", 'cd "$start" && rm -rf "$work"\necho rangé'),
]
CONTAINER_TAGS = {6: ["raises-exception"]}


def build(cells=CELLS, tags=TAGS, prefix="shape") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "baleine", "display_name": "Baleine (docker)", "language": "bash"}
    nb.metadata["language_info"] = {"name": "bash"}
    for i, (kind, source) in enumerate(cells):
        cell = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell)(source)
        cell.id = f"{prefix}-{i}"
        if i in tags:
            cell.metadata["tags"] = tags[i]
        nb.cells.append(cell)
    return nb


def build_containers() -> nbformat.NotebookNode:
    return build(CONTAINER_CELLS, CONTAINER_TAGS, "container")


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    client = NotebookClient(nb, kernel_name="baleine", timeout=120, coalesce_streams=True,
                            resources={"metadata": {"path": str(HERE)}})
    return client.execute()


if __name__ == "__main__":
    nbformat.write(execute(build()), NOTEBOOK)
    print(f"wrote {NOTEBOOK}")
    with tempfile.TemporaryDirectory() as root:  # a throw-away engine root
        os.environ["BALEINE_ROOT"] = root
        nbformat.write(execute(build_containers()), CONTAINERS)
    print(f"wrote {CONTAINERS}")
