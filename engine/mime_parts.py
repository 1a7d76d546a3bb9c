"""A mail's MIME tree without the standard parser's line-by-line walk over the body.

`email.message_from_bytes` feeds every line of the body through a generator and a boundary
check; for a reply carrying a 100 KB PDF that is ~1,800 base64 lines and most of the intake's
cost. Here only the header blocks go through the standard parser; bodies are cut at their
boundary lines with one regular-expression scan and set as the parts' payloads, exactly as the
standard parser would set them (same headers, same payload strings, preamble and epilogue).

Anything outside the plain shape (bare CR line ends, a header block the parser finds faulty,
message/* parts, a multipart without boundary or closing line) is parsed by the standard
parser instead, so the result never differs from it.
"""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from email.parser import Parser

# The end of the header block: a line end followed by an empty line.
_HEADER_END = re.compile(r"\n(?:\r\n|\n)")
_BARE_CR = re.compile(rb"\r(?!\n)")
_HEADERS = Parser()
_IDENTITY = {"7bit", "8bit", "binary"}


def message_from(raw: bytes) -> Message:
    """The same tree as email.message_from_bytes(raw) (compat32)."""
    if _BARE_CR.search(raw):
        return message_from_bytes(raw)
    # As the standard parser does: bytes stay recoverable through surrogate escapes.
    message = _parse(raw.decode("ascii", "surrogateescape"), nested=False)
    return message if message is not None else message_from_bytes(raw)


def _parse(text: str, *, nested: bool) -> Message | None:
    end = _HEADER_END.search(text)
    if end is None or end.start() == 0:
        return None
    message = _HEADERS.parsestr(text[: end.start() + 1], headersonly=True)
    if message.defects or message.get_payload():
        return None
    body = text[end.end() :]
    kind = message.get_content_maintype()
    if kind == "message":
        return None
    if kind != "multipart":
        # In a multipart, the line end before the next boundary belongs to the boundary.
        message.set_payload(_chop(body) if nested else body)
        return message
    return _multipart(message, body, nested=nested)


def _multipart(message: Message, body: str, *, nested: bool) -> Message | None:
    boundary = message.get_boundary()
    if not boundary:
        return None
    if str(message.get("content-transfer-encoding", "8bit")).lower() not in _IDENTITY:
        return None  # the standard parser records a defect here
    cuts = _boundary_lines(body, "--" + boundary)
    closing = next((i for i, (_, _, last) in enumerate(cuts) if last), None)
    if closing is None or closing == 0:
        return None
    preamble = body[: cuts[0][0]]
    if preamble:
        # The line end before a boundary belongs to the boundary (RFC 2046).
        message.preamble = _chop(preamble)
    parts = []
    for before, after in zip(cuts[:closing], cuts[1 : closing + 1], strict=True):
        if before[1] == after[0]:
            continue  # repeated boundary lines make no empty part
        part = _parse(body[before[1] : after[0]], nested=True)
        if part is None:
            return None
        parts.append(part)
    if not parts:
        return None
    message.set_payload(parts)
    # What follows the closing line is the epilogue; inside another multipart, without the
    # line end of the outer boundary, and None when nothing follows (as the standard parser).
    epilogue = body[cuts[closing][1] :]
    if nested:
        epilogue = _chop(epilogue) if epilogue else None
    message.epilogue = epilogue
    return message


def _boundary_lines(body: str, separator: str) -> list[tuple[int, int, bool]]:
    """(start, end, closing) of each boundary line: the separator at the start of a line, "--"
    on the closing one, spaces or tabs, then the line end (the standard parser's rule). Looked
    for as a plain string: a regular expression per boundary would be compiled for every mail,
    and a multiline `^` one tries every position of a 100 KB body."""
    found = []
    at = body.find(separator)
    while at >= 0:
        if at == 0 or body[at - 1] == "\n":
            after = at + len(separator)
            for closing in (True, False):
                if closing and not body.startswith("--", after):
                    continue
                end = _line_end(body, after + 2 if closing else after)
                if end is not None:
                    found.append((at, end, closing))
                    break
        at = body.find(separator, at + len(separator))
    return found


def _line_end(body: str, at: int) -> int | None:
    """Past the spaces or tabs from `at` and the line end after them; None if text follows."""
    while at < len(body) and body[at] in " \t":
        at += 1
    if at == len(body):
        return at
    if body.startswith("\r\n", at):
        return at + 2
    return at + 1 if body[at] == "\n" else None


def _chop(text: str) -> str:
    """Without its last line end (that one belongs to the boundary line that follows)."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text
