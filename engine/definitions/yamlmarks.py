"""YAML reading that remembers where every key and list item was written.

PyYAML's loaders throw positions away, so we compose the node graph and convert it ourselves,
keeping a (line, col) for each path; a validation error's `loc` then maps to the exact line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml is several times faster; the pure-Python loader gives the same nodes.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Key = str | int
Loc = tuple[Key, ...]
Marks = dict[Loc, tuple[int, int]]

_TAG = "tag:yaml.org,2002:"
# Dates stay text: pydantic parses them (and reports a bad one at its key), and a field typed
# `str` such as the plan's issue date keeps exactly what the administrator wrote.
_AS_TEXT = {_TAG + "str", _TAG + "timestamp"}
_CONSTRUCTED = {_TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"}
# Guards against alias bombs ("billion laughs"): real definition files are far below this.
_MAX_NODES = 200_000
# Real definitions nest a dozen levels; the composer recurses per level and would raise
# RecursionError (a traceback, no position) a few hundred levels down.
_MAX_DEPTH = 64
_DEPTH_MESSAGE = f"lồng nhau quá sâu (quá {_MAX_DEPTH} cấp); định nghĩa không cần sâu như vậy"

_SYNTAX_HINTS = (
    (
        "mapping values are not allowed",
        "dấu ':' không được đặt ở đây (thiếu dấu cách sau ':' hoặc thụt lề sai?)",
    ),
    ("could not find expected ':'", "thiếu dấu ':' sau khóa"),
    ("did not find expected key", "thụt lề không khớp với các dòng phía trên"),
    ("expected <block end>", "thụt lề không khớp với các dòng phía trên"),
    ("did not find expected ',' or ']'", "danh sách '[...]' chưa được đóng"),
    ("expected ',' or ']'", "danh sách '[...]' chưa được đóng"),
    ("did not find expected ',' or '}'", "bảng '{...}' chưa được đóng"),
    ("expected ',' or '}'", "bảng '{...}' chưa được đóng"),
    ("found unexpected end of stream", "chuỗi trong dấu ngoặc chưa được đóng"),
    ("found undefined alias", "bí danh (*alias) chưa được khai báo bằng '&' ở phía trên"),
    ("but found another document", "tệp chỉ được chứa một tài liệu YAML (bỏ dòng '---' thừa)"),
    ("did not find expected '-' indicator", "thụt lề của danh sách không khớp"),
    ("found character that cannot start any token", "có ký tự không được phép ở đầu giá trị"),
    ("exceeded maximum nesting depth", "lồng nhau quá sâu; định nghĩa không cần sâu như vậy"),
)


@dataclass(frozen=True)
class YamlError:
    line: int
    col: int
    message: str


@dataclass
class YamlDocument:
    """Plain Python value of one file (None when empty), where each key/item sits, and errors."""

    value: Any
    marks: Marks = field(default_factory=dict)
    errors: list[YamlError] = field(default_factory=list)


def read_yaml(data: bytes) -> YamlDocument:
    """Decode and parse one YAML file; never raises for bad input."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return YamlDocument(None, errors=[_encoding_error(data, exc.start)])
    try:
        root = yaml.compose(text, Loader=_Loader)
    except RecursionError:
        return YamlDocument(None, errors=[_too_deep(text)])
    except yaml.MarkedYAMLError as exc:
        return YamlDocument(None, errors=[_syntax_error(text, exc)])
    except yaml.YAMLError as exc:  # e.g. ReaderError for control characters
        position = getattr(exc, "position", None)
        line, col = _text_position(text, position) if position is not None else (1, 1)
        return YamlDocument(None, errors=[YamlError(line, col, f"lỗi đọc YAML: {exc}")])
    if root is None:
        return YamlDocument(None)
    converter = _Converter()
    converter.marks[()] = _mark(root)
    value = converter.convert(root, ())
    return YamlDocument(value, converter.marks, converter.errors)


def _too_deep(text: str) -> YamlError:
    """Where nesting first goes past _MAX_DEPTH, found with the parser's event stream (which,
    unlike composing, does not recurse)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    mark = event.start_mark
                    return YamlError(mark.line + 1, mark.column + 1, _DEPTH_MESSAGE)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return YamlError(1, 1, _DEPTH_MESSAGE)


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Converter:
    def __init__(self) -> None:
        self.marks: Marks = {}
        self.errors: list[YamlError] = []
        self.constructor = SafeConstructor()
        self.active: set[int] = set()
        self.count = 0
        self.depth = 0

    def error(self, node: Node, message: str) -> None:
        self.errors.append(YamlError(*_mark(node), message))

    def convert(self, node: Node, path: Loc) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            if self.count == _MAX_NODES + 1:
                self.error(node, "tệp quá lớn sau khi mở rộng các bí danh (*alias)")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if id(node) in self.active:
            self.error(node, "bí danh (*alias) tự tham chiếu đến chính nó")
            return None
        if self.depth >= _MAX_DEPTH:
            self.error(node, _DEPTH_MESSAGE)
            return None
        self.active.add(id(node))
        self.depth += 1
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            return self.sequence(node, path)  # type: ignore[arg-type]
        finally:
            self.depth -= 1
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag in _AS_TEXT:
            return node.value
        if node.tag in _CONSTRUCTED:
            return self.constructor.construct_object(node)
        self.error(node, f"thẻ YAML '{node.tag}' không được hỗ trợ; hãy bỏ thẻ này")
        return node.value

    def sequence(self, node: SequenceNode, path: Loc) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            self.marks[(*path, index)] = _mark(item)
            items.append(self.convert(item, (*path, index)))
        return items

    def mapping(self, node: MappingNode, path: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        seen: dict[str, int] = {}
        explicit: list[tuple[ScalarNode, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.extend(
                    value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                )
            elif not isinstance(key_node, ScalarNode):
                self.error(
                    key_node, "khóa phải là một giá trị đơn (chữ), không phải danh sách hay bảng"
                )
            else:
                explicit.append((key_node, value_node))
        # In a merge (`<<: *base`) the first source wins and explicit keys beat all sources.
        for source in reversed(merges):
            if isinstance(source, MappingNode):
                result.update(self.convert(source, path))
            else:
                self.error(source, "'<<' chỉ gộp được một bảng khóa (mapping)")
        for key_node, value_node in explicit:
            # The raw text, not the resolved value: YAML 1.1 would turn the key `on` into True.
            key = key_node.value
            line, col = _mark(key_node)
            if key in seen:
                self.errors.append(
                    YamlError(line, col, f"khóa '{key}' bị lặp (đã khai báo ở dòng {seen[key]})")
                )
                continue
            seen[key] = line
            self.marks[(*path, key)] = (line, col)
            result[key] = self.convert(value_node, (*path, key))
        return result


def _encoding_error(data: bytes, offset: int) -> YamlError:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return YamlError(
        line,
        col,
        f"tệp không phải mã UTF-8 (byte 0x{data[offset]:02X} ở vị trí {offset});"
        " hãy lưu lại tệp với mã hóa UTF-8",
    )


def _text_position(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _syntax_error(text: str, exc: yaml.MarkedYAMLError) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or exc.context or "lỗi không xác định"
    at = mark.index if mark else -1
    if (0 <= at < len(text) and text[at] == "\t") or "'\\t'" in problem:
        message = "ký tự tab không được dùng để thụt lề trong YAML; hãy dùng dấu cách"
    else:
        hint = next((vi for en, vi in _SYNTAX_HINTS if en in problem), None)
        message = hint or f"chi tiết: {problem}"
    return YamlError(line, col, f"lỗi cú pháp YAML: {message}")
