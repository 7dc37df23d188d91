"""Rebuild tests/kernel/shapes.ipynb: write its cells, execute it with nbclient through the
Baleine kernel, and store the outputs (coalesced, as the course notebooks are).

    python tests/kernel/regenerate_shapes.py   # the kernelspec `baleine` must be installed
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent
NOTEBOOK = HERE / "shapes.ipynb"

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


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "baleine", "display_name": "Baleine (docker)", "language": "bash"}
    nb.metadata["language_info"] = {"name": "bash"}
    for i, (kind, source) in enumerate(CELLS):
        cell = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell)(source)
        cell.id = f"shape-{i}"
        if i in TAGS:
            cell.metadata["tags"] = TAGS[i]
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    client = NotebookClient(nb, kernel_name="baleine", timeout=120, coalesce_streams=True,
                            resources={"metadata": {"path": str(HERE)}})
    return client.execute()


if __name__ == "__main__":
    nbformat.write(execute(build()), NOTEBOOK)
    print(f"wrote {NOTEBOOK}")
