"""What `kehoach validate` checks in administrators' templates (definitions/templates/): that
each compiles, and that it asks nothing of Python the sandbox it renders in would refuse.

Letters render in jinja2's ImmutableSandboxedEnvironment (notifications/render.py), which stops
'__globals__', 'mro' or 'list.append' when the template runs, usually at the worst moment: in
the middle of a tick, for one body. Looking at the template's syntax tree finds the same things
beforehand, with the file and line to fix.
"""

from __future__ import annotations

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.definitions.findings import Problem

# Attributes the sandbox refuses on any object besides those starting with '_' (frames, code
# and globals of functions, generators and tracebacks), and the mutating methods the immutable
# sandbox refuses on lists, dicts and sets.
INTERNAL = frozenset(
    {
        "func_globals",
        "func_code",
        "func_closure",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "ag_await",
        "tb_frame",
        "tb_next",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_code",
        "mro",
    }
)
MUTATING = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "popitem",
        "remove",
        "reverse",
        "sort",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)
_ENV = ImmutableSandboxedEnvironment()


def check_template(path: str, data: bytes) -> list[Problem]:
    """Problems of one template file, each at its line: not UTF-8, a syntax error, or an
    attribute the sandbox would refuse."""
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [Problem(path, 1, 1, "mẫu thư không phải văn bản UTF-8")]
    try:
        tree = _ENV.parse(source, filename=path)
    except TemplateSyntaxError as error:
        return [Problem(path, error.lineno or 1, 1, f"mẫu thư sai cú pháp Jinja: {error.message}")]
    called = {id(call.node) for call in tree.find_all(nodes.Call)}
    problems = []
    for node in tree.find_all(nodes.Filter):
        # `x|attr('__init__')` is the same reach as `x.__init__`, spelled as a filter.
        if node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const):
            name = node.args[0].value
            if isinstance(name, str) and (name.startswith("_") or name in INTERNAL):
                message = f"mẫu thư truy cập thuộc tính nội bộ '{name}' của Python"
                problems.append(Problem(path, node.lineno or 1, 1, message))
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = _attribute_name(node)
        if name is None:
            continue
        if name.startswith("_") or name in INTERNAL:
            message = (
                f"mẫu thư truy cập thuộc tính nội bộ '{name}' của Python; mẫu thư chỉ được "
                "dùng các giá trị của thư (xem notifications/contexts.py)"
            )
        elif name in MUTATING and id(node) in called:
            message = (
                f"mẫu thư gọi '{name}()' để sửa dữ liệu; mẫu thư chỉ được đọc các giá trị, "
                "không được thay đổi chúng"
            )
        else:
            continue
        problems.append(Problem(path, node.lineno or 1, 1, message))
    return problems


def _attribute_name(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        value = node.arg.value
        return value if isinstance(value, str) else None
    return None
