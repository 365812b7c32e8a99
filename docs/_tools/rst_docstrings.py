"""A griffe extension: rlladder's docstrings, written with a few reStructuredText habits, as Markdown.

The docstrings are Google style, but some use reStructuredText where Markdown has its own way:
``.. math::`` blocks, ``:func:`name``` roles, ``::`` literal blocks, bare ``>>>`` examples, a
simple ``=====`` table, and bullet items continued with two spaces. mkdocstrings renders Markdown,
so this extension rewrites each docstring once the package is loaded, before it is parsed:

* ``.. math:: TeX`` becomes a ``$$`` block (arithmatex, rendered by KaTeX);
* ``:func:`x```, ``:class:`~a.b.C``` ... become cross-references to the object's page, resolved
  the way Python would from the docstring's own scope (an unknown rlladder name stays a
  cross-reference, so the strict build fails on it); names outside rlladder become code;
* ``text::`` + an indented block becomes ``text:`` + a fenced Python block, ``>>>`` lines a
  fenced ``pycon`` block, and a simple table a Markdown table;
* an ``Args:`` entry for two names at once (``bins, bounds: ...``) becomes one entry per name;
* reST comments (``.. generated: ...``, the markers of generated tables) are left out.

The source files stay as they are; nothing of a docstring is dropped. Enable it in mkdocs.yml
under the python handler's ``options: extensions:``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import griffe

__all__ = ["RstToMarkdown", "convert", "resolver_for"]

#: ``:role:`target``` (optionally ``:py:role:``), target maybe prefixed with ``~`` (show the last part)
ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")
MATH = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")
#: ``.. anything`` that is not a directive (``.. name::``) is a comment
COMMENT = re.compile(r"^[ \t]*\.\.(?:[ \t]+(?![\w-]+::)\S.*)?$")
TABLE_BORDER = re.compile(r"^(?P<indent>[ \t]*)=+(?: +=+)+[ \t]*$")
BULLET = re.compile(r"^(?P<indent> *)[*-] \S")
SECTION = re.compile(
    r"^(?P<indent> *)(Args|Arguments|Parameters|Params|Attributes|Keyword Args|Other Parameters):$"
)
#: ``a, b: text`` in an Args section: Google style has one name per entry
SHARED_ENTRY = re.compile(r"^(?P<indent> +)(?P<names>\w+(?: *, *\w+)+)(?P<type> *\([^)]*\))?: ")

#: resolve(name) -> the full path of an rlladder object, or None
Resolver = Callable[[str], str | None]


@dataclass
class _Line:
    text: str
    protected: bool = False  # inside math or code: no roles, no bullets


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block(lines: list[str], start: int, base: int) -> int:
    """The end (exclusive) of the block after ``start`` whose lines are blank or indented > base."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end


def _dedent(lines: list[str]) -> list[str]:
    width = min((_indent(x) for x in lines if x.strip()), default=0)
    return [x[width:] for x in lines]


def _table(lines: list[str], start: int) -> tuple[list[str], int] | None:
    """A simple reST table from ``start`` (its top border) as Markdown rows, and the end line."""
    border = lines[start]
    indent = TABLE_BORDER.match(border)["indent"]
    spans = [m.span() for m in re.finditer(r"=+", border)]
    borders = [start]
    i = start + 1
    while i < len(lines) and len(borders) < 3:
        if lines[i].strip() == "":
            return None
        if TABLE_BORDER.match(lines[i]):
            borders.append(i)
        i += 1
    if len(borders) < 3:
        return None

    def rows(first: int, last: int) -> list[list[str]]:
        out: list[list[str]] = []
        for line in lines[first:last]:
            # a column runs from its border's start to the next one's (the last: to the line's end)
            starts = [a for a, _ in spans]
            ends = [*starts[1:], None]
            cells = [line[a:b].strip() for a, b in zip(starts, ends, strict=True)]
            if out and not cells[0]:  # a continuation line of the row above
                out[-1] = [f"{x} {y}".strip() for x, y in zip(out[-1], cells, strict=True)]
            else:
                out.append(cells)
        return out

    header = rows(borders[0] + 1, borders[1])
    body = rows(borders[1] + 1, borders[2])
    md = [f"{indent}| " + " | ".join(r) + " |" for r in header[:1]]
    md.append(f"{indent}|" + " --- |" * len(spans))
    md += [f"{indent}| " + " | ".join(r) + " |" for r in body]
    return md, borders[2] + 1


def _split_shared_entries(text: str) -> str:
    """``a, b: text`` in an Args or Attributes section -> ``a: text`` and ``b: text``."""
    lines = text.splitlines()
    out: list[str] = []
    section: int | None = None  # the indent of the open section's header
    i = 0
    while i < len(lines):
        line = lines[i]
        header = SECTION.match(line)
        if header:
            section = len(header["indent"])
        elif line.strip() and section is not None and _indent(line) <= section:
            section = None
        entry = SHARED_ENTRY.match(line) if section is not None else None
        if entry:
            end = _block(lines, i + 1, _indent(line))
            rest = line[entry.end() :]
            for name in re.split(r" *, *", entry["names"]):
                out.append(f"{entry['indent']}{name}{entry['type'] or ''}: {rest}")
                out += lines[i + 1 : end]
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _blocks(text: str) -> list[_Line]:
    """Pass 1: math, literal blocks, doctests and tables become Markdown (marked protected)."""
    lines = text.splitlines()
    out: list[_Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        math = MATH.match(line)
        if math:
            indent, base = math["indent"], _indent(line)
            end = _block(lines, i + 1, base)
            body = ([math["first"]] if math["first"].strip() else []) + _dedent(lines[i + 1 : end])
            out += [_Line(""), _Line(f"{indent}$$", True)]
            out += [_Line(f"{indent}{x}".rstrip(), True) for x in body]
            out += [_Line(f"{indent}$$", True), _Line("")]
            i = end
            continue
        if COMMENT.match(line):  # a reST comment (``.. generated: ...`` markers): not shown
            i = _block(lines, i + 1, _indent(line))
            while i < len(lines) and not lines[i].strip():
                i += 1
            continue
        if TABLE_BORDER.match(line):
            table = _table(lines, i)
            if table is not None:
                rows, i = table
                out += [_Line(r) for r in rows]
                continue
        if line.lstrip().startswith(">>>"):
            indent = " " * _indent(line)
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            out.append(_Line(f"{indent}```pycon", True))
            out += [_Line(x.rstrip(), True) for x in lines[i:end]]
            out.append(_Line(f"{indent}```", True))
            i = end
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            base = _indent(line)
            start = i + 1
            while start < len(lines) and not lines[start].strip():
                start += 1
            end = _block(lines, start, base) if start < len(lines) else start
            if end > start and _indent(lines[start]) > base:
                head = line.rstrip()[:-2].rstrip()  # "text::" -> "text:", a lone "::" -> nothing
                if head.strip():
                    out.append(_Line(head + ":"))
                fence = " " * base
                out += [_Line(""), _Line(f"{fence}```python", True)]
                out += [_Line(f"{fence}{x}".rstrip(), True) for x in _dedent(lines[start:end])]
                out += [_Line(f"{fence}```", True)]
                i = end
                continue
        out.append(_Line(line))
        i += 1
    return out


def _reindent_bullets(lines: list[_Line]) -> None:
    """Pass 2: a bullet item's continuation lines at two spaces move to four (Python-Markdown's)."""
    item: int | None = None  # the indent of the open bullet's marker
    for line in lines:
        if not line.text.strip():
            continue
        indent = _indent(line.text)
        bullet = None if line.protected else BULLET.match(line.text)
        if bullet:
            item = indent
            continue
        if item is not None and indent <= item:
            item = None
        if item is not None and indent >= item + 2:
            line.text = "  " + line.text


def _roles(text: str, resolve: Resolver) -> str:
    def link(m: re.Match[str]) -> str:
        short, name = m[1] == "~", m[2].strip()
        shown = name.rsplit(".", 1)[-1] if short else name
        target = resolve(name)
        if target is not None:
            return f"[`{shown}`][{target}]"
        top = name.removeprefix("rl.").split(".", 1)[0]
        if not name.startswith(("rlladder", "rl.")) and _is_external(top):
            return f"`{shown}`"
        return f"[`{shown}`][{name}]"  # unresolved: autorefs reports it, the strict build fails

    return ROLE.sub(link, text)


def _is_external(top: str) -> bool:
    try:
        return top != "rlladder" and importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def convert(text: str, resolve: Resolver) -> str:
    """One docstring, from its reST habits to Markdown (see the module docstring)."""
    lines = _blocks(_split_shared_entries(text))
    _reindent_bullets(lines)
    out = [x.text if x.protected else _roles(x.text, resolve) for x in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def _member(obj: Any, name: str) -> Any:
    try:
        member = obj.members[name]
    except (KeyError, AttributeError):
        return None
    if member.is_alias:
        try:
            return member.final_target
        except griffe.AliasResolutionError:
            return None
    return member


def _walk(obj: Any, parts: list[str]) -> Any:
    for part in parts:
        obj = _member(obj, part)
        if obj is None:
            return None
    return obj


def resolver_for(
    obj: Any, package: Any, by_name: dict[str, list[str]], objects: dict[str, Any]
) -> Resolver:
    """Resolve names as seen from ``obj``'s docstring: its own members, then each enclosing scope,
    then the package from the top; a public ``rl.X`` / ``rlladder.X`` that the package loads
    lazily resolves to the one object of that name (``by_name``: name -> paths; ``objects``:
    path -> object)."""

    def resolve(name: str) -> str | None:
        parts = name.removeprefix("rl.").split(".") if name.startswith("rl.") else name.split(".")
        if name.startswith("rl."):
            parts = ["rlladder", *parts]
        scope = obj
        while scope is not None:
            found = _walk(scope, parts)
            if found is not None:
                return found.path
            if scope.is_module and scope.name == parts[0] and len(parts) > 1:
                found = _walk(scope, parts[1:])
                if found is not None:
                    return found.path
            scope = scope.parent
        if parts[0] == package.name:
            found = _walk(package, parts[1:]) if len(parts) > 1 else package
            if found is not None:
                return found.path
            # rl.Variant.resolve: the one object named Variant, then its member resolve
            for i in range(1, len(parts)):
                candidates = by_name.get(parts[i], [])
                if len(candidates) == 1:
                    found = _walk(objects[candidates[0]], parts[i + 1 :])
                    if found is not None:
                        return found.path
        return None

    return resolve


def _objects(obj: Any) -> list[Any]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found += _objects(member)
    return found


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of a loaded package from reST habits to Markdown."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        objects = {obj.path: obj for obj in _objects(pkg)}
        by_name: dict[str, list[str]] = {}
        for obj in objects.values():
            by_name.setdefault(obj.name, []).append(obj.path)
        for obj in objects.values():
            if obj.docstring is not None:
                resolve = resolver_for(obj, pkg, by_name, objects)
                obj.docstring.value = convert(obj.docstring.value, resolve)
