"""Opt-in pictures: Docker tables as HTML, and a diagram of layers shared by images.

Both are display_data whose text/plain is the same text a terminal shows, so a reader
without HTML (or nbval comparing text) loses nothing.
"""

import hashlib
import html
import json
import re
from typing import Callable

# First column title of the tables we turn into HTML (images, ps, history, volume/network ls).
_TABLE_FIRST = ("REPOSITORY", "CONTAINER ID", "IMAGE", "DRIVER", "NETWORK ID", "VOLUME NAME")
_COLUMN = re.compile(r"\S+(?: \S+)*")  # a title: words separated by single spaces


def column_starts(header: str) -> list[int] | None:
    """Column offsets of a Docker table header, or None if it is not one."""
    titles = list(_COLUMN.finditer(header))
    if len(titles) < 2 or not header.startswith(_TABLE_FIRST):
        return None
    if any(not t.group().replace(" ", "").isupper() for t in titles):
        return None
    return [t.start() for t in titles]


def split_row(row: str, starts: list[int]) -> list[str]:
    """Docker pads every column to a common width, so the header's offsets cut the rows."""
    ends = starts[1:] + [None]
    return [row[s:e].strip() for s, e in zip(starts, ends)]


def table_html(lines: list[str]) -> str:
    starts = column_starts(lines[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in split_row(lines[0], starts))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in split_row(line, starts)) + "</tr>"
        for line in lines[1:])
    return (f'<table class="baleine-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


class TableCollector:
    """Holds the lines of a Docker table and shows it as one HTML display when it ends."""

    def __init__(self, show: Callable[[dict], None]) -> None:
        self._show = show
        self._lines: list[str] = []

    def take(self, line: str) -> bool:
        """Keep `line` if it belongs to a table (True), else let it be printed (False)."""
        if self._lines:
            if line.strip():
                self._lines.append(line)
                return True
            self.close()
            return False
        if column_starts(line) is not None:
            self._lines = [line]
            return True
        return False

    def close(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            text = "\n".join(lines) + "\n"
            self._show({"text/plain": text, "text/html": table_html(lines)})


# -- layers shared between images --------------------------------------------------------

def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def layer_rows(inspected: list[dict], names: list[str] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """(image name, [(chain id, diff id)]) per image, one row per image ID, named by the
    names asked for (`names`, in the order `docker image inspect` got them) or its first tag.
    A chain id names a layer *with* the layers under it, so two images show the same box
    exactly when they share that part of the stack; the diff id is what inspect shows."""
    labels: dict[str, list[str]] = {}
    images: dict[str, dict] = {}
    for i, image in enumerate(inspected):
        key = image.get("Id", str(i))
        images.setdefault(key, image)
        name = names[i] if names and len(names) == len(inspected) else \
            (image.get("RepoTags") or [_short(key)])[0]
        if name not in labels.setdefault(key, []):
            labels[key].append(name)
    rows = []
    for key, image in images.items():
        chain, chains = "", []
        for diff_id in (image.get("RootFS") or {}).get("Layers") or []:
            chain = hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest() if chain else diff_id
            chains.append((chain, diff_id))
        rows.append((", ".join(labels[key]), chains))
    return rows


def _users(rows) -> dict[str, int]:
    """How many images use each chain id."""
    users: dict[str, int] = {}
    for _, chains in rows:
        for chain, _ in chains:
            users[chain] = users.get(chain, 0) + 1
    return users


def layers_text(rows) -> str:
    users = _users(rows)
    lines = []
    for name, chains in rows:
        marks = " ".join(f"[{_short(d)}{'*' if users[c] > 1 else ''}]" for c, d in chains)
        lines.append(f"{name}: {marks}")
    lines.append("(* = layer shared with another image)")
    return "\n".join(lines) + "\n"


def layers_svg(rows) -> str:
    """One row per image, its layers bottom-up from left to right; shared layers keep one
    colour and one place, unique layers are grey."""
    users = _users(rows)
    box_w, box_h, gap, label_w = 96, 26, 6, 170
    depth = max((len(c) for _, c in rows), default=0)
    width = label_w + depth * (box_w + gap) + 10
    height = 30 + len(rows) * (box_h + gap) + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           '<text x="4" y="16" font-weight="bold">image</text>',
           f'<text x="{label_w}" y="16" font-weight="bold">layers, base first</text>']
    for i, (name, chains) in enumerate(rows):
        y = 26 + i * (box_h + gap)
        out.append(f'<text x="4" y="{y + 17}">{html.escape(name[:24])}</text>')
        for j, (chain, diff_id) in enumerate(chains):
            x = label_w + j * (box_w + gap)
            shared = users[chain] > 1
            # a light colour from the chain id: same layer stack, same colour
            rgb = hashlib.sha256(chain.encode()).hexdigest()[:6]
            fill = ("#" + "".join(f"{int(rgb[k:k + 2], 16) // 2 + 128:02x}" for k in (0, 2, 4))
                    if shared else "#dddddd")
            label = _short(diff_id) + (f" x{users[chain]}" if shared else "")
            out.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="3" '
                       f'fill="{fill}" stroke="#555"><title>{html.escape(diff_id)}</title></rect>')
            out.append(f'<text x="{x + 4}" y="{y + 17}">{html.escape(label)}</text>')
    out.append(f'<text x="4" y="{height - 8}">coloured = shared by several images '
               f'(xN: by N images); grey = this image only</text>')
    out.append("</svg>")
    return "\n".join(out)


def layers_display(inspect_json: str, names: list[str] | None = None) -> dict:
    rows = layer_rows(json.loads(inspect_json), names)
    return {"text/plain": layers_text(rows), "image/svg+xml": layers_svg(rows)}
