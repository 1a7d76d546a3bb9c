"""Reading YAML with positions: every key and list item keeps its line and column."""

from __future__ import annotations

from engine.definitions.yamlmarks import read_yaml

SOURCE = """\
bodies:
  - id: a
    on: 2025-03-01
    list: [x, 2, yes, null, 1.5]
  - id: b
    when: 2025-02-30
"""


def test_marks_for_keys_and_items() -> None:
    document = read_yaml(SOURCE.encode())

    assert document.errors == []
    assert document.marks[("bodies",)] == (1, 1)
    assert document.marks[("bodies", 0)] == (2, 5)
    assert document.marks[("bodies", 0, "on")] == (3, 5)
    assert document.marks[("bodies", 0, "list", 3)] == (4, 23)
    assert document.marks[("bodies", 1, "when")] == (6, 5)


def test_values_keep_what_was_written() -> None:
    first, second = read_yaml(SOURCE.encode()).value["bodies"]

    # YAML 1.1 would make the key `on` the boolean True; it must stay the text "on".
    assert "on" in first
    # Dates stay text so pydantic parses (and reports) them at their own key.
    assert first["on"] == "2025-03-01" and second["when"] == "2025-02-30"
    assert first["list"] == ["x", 2, True, None, 1.5]


def test_duplicate_key_is_reported_at_the_second_occurrence() -> None:
    document = read_yaml(b"a: 1\nb:\n  c: 1\n  c: 2\n")

    assert [(e.line, e.col) for e in document.errors] == [(4, 3)]
    assert document.errors[0].message == "khóa 'c' bị lặp (đã khai báo ở dòng 3)"
    assert document.value == {"a": 1, "b": {"c": 1}}


def test_syntax_errors_become_located_messages() -> None:
    tab = read_yaml(b"a:\n  b: 1\n\tc: 2\n").errors
    colon = read_yaml(b"a: b: c\n").errors
    unclosed = read_yaml(b"a: [1, 2\nb: 3\n").errors

    assert [(e.line, e.col) for e in tab] == [(3, 1)] and "tab" in tab[0].message
    assert [(e.line, e.col) for e in colon] == [(1, 5)] and "dấu ':'" in colon[0].message
    assert unclosed[0].line == 2 and "'[...]' chưa được đóng" in unclosed[0].message


def test_encoding_error_names_line_and_byte() -> None:
    document = read_yaml("a: đúng\nb: ".encode() + b"Nguy\xean\n")

    assert document.value is None
    [error] = document.errors
    assert (error.line, error.col) == (2, 8)
    assert "byte 0xEA" in error.message and "UTF-8" in error.message


def test_byte_order_mark_and_empty_documents() -> None:
    assert read_yaml("\ufeffa: 1\n".encode()).value == {"a": 1}
    empty = read_yaml(b"# only a comment\n")
    assert empty.value is None and empty.errors == []


def test_aliases_are_expanded_with_marks_at_the_anchor() -> None:
    document = read_yaml(b"base: &b {x: 1}\nuse: *b\n")

    assert document.value == {"base": {"x": 1}, "use": {"x": 1}}
    assert document.marks[("use", "x")] == (1, 11)


def test_self_referencing_alias_and_unknown_tags_are_errors_not_crashes() -> None:
    looped = read_yaml(b"a: &x\n  - *x\n")
    tagged = read_yaml(b"a: !python/name:os.system x\n")

    assert looped.errors and "tự tham chiếu" in looped.errors[0].message
    assert tagged.errors[0].line == 1 and "không được hỗ trợ" in tagged.errors[0].message
    assert tagged.value == {"a": "x"}
