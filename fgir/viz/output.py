"""Turn a :class:`~fgir.viz.dot.Picture` into a file: .dot, .svg, .png or a self-contained .html.

SVG and PNG are laid out by Graphviz's ``dot`` program through the ``graphviz``
package (``pip install graphviz (fgir's viz extra)``, ``apt-get install graphviz``); .dot needs
neither.  Files are written atomically: a reader never sees half a picture.

Example:
    >>> import fgir
    >>> from fgir.viz.dot import draw
    >>> write_picture(draw(fgir.compile("examples/resnet20_cifar.yaml")), "r20.svg")
    PosixPath('r20.svg')
    >>> open("r20.svg").read().count("<svg")
    1
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fgir.atomic import write_atomic
from fgir.diagnostics import Diagnostic, Loc, SpecIOError
from fgir.viz.dot import Picture

FORMATS = (".dot", ".html", ".png", ".svg")
GRAPHVIZ = Loc("<graphviz>")


def check_renderer(suffix: str) -> None:
    """Raise :class:`SpecIOError` (exit 2) now if writing ``suffix`` will need missing software."""
    suffix = suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unknown picture format '{suffix}'; use one of {', '.join(FORMATS)}")
    if suffix == ".dot":
        return
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise SpecIOError(Diagnostic(GRAPHVIZ, "", f"writing {suffix} needs the graphviz Python "
                                     "package", hint="pip install graphviz (fgir's viz extra), or write .dot"
                                     )) from None
    if shutil.which("dot") is None:
        raise SpecIOError(Diagnostic(GRAPHVIZ, "", f"writing {suffix} needs Graphviz's 'dot' "
                                     "program, which is not on PATH",
                                     hint="apt-get install graphviz (or brew install graphviz), "
                                          "or write .dot"))


def layout(dot: str, fmt: str) -> bytes:
    """Run ``dot -T<fmt>`` on DOT text and return what it prints."""
    check_renderer("." + fmt)
    import graphviz

    try:
        return graphviz.pipe("dot", fmt, dot.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        raise SpecIOError(Diagnostic(GRAPHVIZ, "", "Graphviz's 'dot' program could not be run",
                                     hint="apt-get install graphviz, or write .dot")) from None


def picture_bytes(picture: Picture, suffix: str, title: str = "fgir") -> bytes:
    """The file contents for ``suffix`` (``.dot``, ``.svg``, ``.png``, ``.html``)."""
    suffix = suffix.lower()
    if suffix == ".dot":
        return picture.dot.encode("utf-8")
    if suffix == ".html":
        return to_html(layout(picture.dot, "svg").decode("utf-8"), picture, title).encode("utf-8")
    if suffix in (".svg", ".png"):
        return layout(picture.dot, suffix[1:])
    check_renderer(suffix)   # raises for an unknown suffix
    raise AssertionError(suffix)


def write_picture(picture: Picture, path: str | Path, title: str = "fgir") -> Path:
    """Write ``picture`` to ``path`` in the format its suffix names; return the path."""
    path = Path(path)
    data = picture_bytes(picture, path.suffix, title)
    write_atomic(path, lambda tmp: tmp.write_bytes(data))
    return path


# -- html -------------------------------------------------------------------------------------
_STYLE = """
body{margin:0;font:13px Helvetica,Arial,sans-serif;color:#222;background:#fff}
#graph{padding:8px}#graph svg{max-width:none;height:auto}
#panel{position:fixed;top:8px;right:8px;width:340px;max-height:90vh;overflow:auto;background:#fffffff0;
border:1px solid #9aa8b8;border-radius:6px;padding:8px 10px;box-shadow:0 2px 8px #0002;white-space:pre-wrap;
font:12px Menlo,Consolas,monospace}
#panel b{font:bold 13px Helvetica,Arial,sans-serif}#panel .err{color:#c01c28}
g.node,g.cluster{cursor:default}g.node:hover polygon,g.node:hover path,g.node:hover ellipse{stroke-width:2.5}
"""

# shows the hovered node's details in a fixed panel; the SVG's own tooltips work without it
_SCRIPT = """
(function(){
var info=JSON.parse(document.getElementById('fgir-info').textContent);
var panel=document.getElementById('panel');
function show(key){var d=info[key];if(!d)return;panel.textContent='';
var b=document.createElement('b');b.textContent=d.title;panel.appendChild(b);
panel.appendChild(document.createTextNode('\\n'+d.lines.join('\\n')));
d.errors.forEach(function(e){var s=document.createElement('div');s.className='err';
s.textContent='error: '+e;panel.appendChild(s);});}
document.querySelectorAll('g.node, g.cluster').forEach(function(g){
var t=g.querySelector('title');if(!t)return;var key=t.textContent;
g.addEventListener('mouseenter',function(){show(key);});});
})();
"""


def to_html(svg: str, picture: Picture, title: str) -> str:
    """One self-contained page: the inline SVG, and a panel showing the hovered node's details."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    # "</" inside a <script> would end it early; JSON allows "<\\/"
    data = json.dumps(picture.details, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    esc = title.replace("&", "&amp;").replace("<", "&lt;")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{esc}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            "<div id=\"panel\">Hover over a node or block to see its scope, source location "
            "and attributes.</div>\n"
            f"<div id=\"graph\">\n{svg}</div>\n"
            f"<script type=\"application/json\" id=\"fgir-info\">{data}</script>\n"
            f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")
