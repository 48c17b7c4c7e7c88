"""Reading a text-bearing file's bytes and decoding them, shared by the text, HTML, Markdown and Word parsers.

Hospital exports come in UTF-8, UTF-16 with a byte-order mark, or the Chinese national encoding (GB18030 and its
GBK/GB2312 subsets); a file is decoded without being told which, and an unreadable or empty file is a FileError.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from indexers.files.parsed import FileError

_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
def read_bytes(path: Path) -> bytes:
    """The file's bytes; FileError when it cannot be read or is empty."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(f"cannot read the file: {exc.strerror or exc}") from exc
    if not data:
        raise FileError("empty file")
    return data


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``data`` names, if there is one."""
    return next((encoding for bom, encoding in _BOMS if data.startswith(bom)), None)


def decode_text(data: bytes) -> str:
    """Text bytes as str: by their byte-order mark, else UTF-8, else GB18030 when the bytes are valid GB18030
    (which covers GBK and GB2312), else UTF-8 with U+FFFD for the bytes it cannot read."""
    encoding = bom_encoding(data)
    if encoding:
        return data.decode(encoding, errors="replace")
    for candidate in ("utf-8", "gb18030"):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")
