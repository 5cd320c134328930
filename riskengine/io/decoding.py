"""Text decoding without loss.

A file is UTF-8 (with or without a byte-order mark), UTF-16/32 with a byte-order mark, the
encoding the caller names, or a single-byte Western or Central European code page that
charset-normalizer detects with confidence; anything else is refused with the line that could
not be decoded. A NUL character is refused (the sign of UTF-16 without a byte-order mark).
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from riskengine.errors import InputFileError, UserInputError

#: Encodings accepted from detection, in the order used to name a match that several share.
DETECTABLE_ENCODINGS = ("cp1252", "iso8859-1", "iso8859-15", "cp1250", "iso8859-2")

BYTE_ORDER_MARKS = (
    # UTF-32 first: its little-endian mark starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# A UTF-8 lead byte and a continuation byte: every non-ASCII UTF-8 character starts so.
_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
DETECTION_SAMPLE_BYTES = 1 << 20


def decode_text(data: bytes, label: str, encoding: str | None) -> tuple[str, str, bool]:
    """The text of ``data``, the codec used and whether it was detected."""
    if encoding is not None:
        codec = codec_name(encoding)
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        text = decode_strictly(data, codec, label)
        return text.removeprefix("\ufeff"), codec, False
    for mark, codec in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            text = decode_strictly(data[len(mark) :], codec, label)
            return text, "utf-8-sig" if codec == "utf-8" else codec, False
    try:
        return refuse_nul(data.decode("utf-8"), label), "utf-8", False
    except UnicodeDecodeError as error:
        not_utf8 = error
    detected, guess = detect_single_byte_encoding(data, not_utf8.start)
    line = line_of(data, not_utf8.start, "utf-8")
    if detected is None:
        raise undetectable_error(label, line, data[not_utf8.start], guess) from not_utf8
    mixed_line = first_utf8_line(data)
    if mixed_line is not None:
        raise InputFileError(
            f"{label}: line {line} is not valid UTF-8 but line {mixed_line} is, so the file mixes "
            "encodings and cannot be read without changing characters; save it as UTF-8, or "
            "pass --encoding to read all of it in one encoding"
        ) from not_utf8
    return decode_strictly(data, detected, label), detected, True


def undetectable_error(label: str, line: int, byte: int, guess: str | None) -> InputFileError:
    return InputFileError(
        f"{label}: line {line} is not valid UTF-8 (byte {byte:#04x}) and its encoding could not "
        f"be detected with confidence (best guess: {guess or 'none'}); pass --encoding, e.g. "
        "cp1252 (Western Europe), cp1250 (Central Europe) or utf-16"
    )


def codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as error:
        raise UserInputError(
            f"unknown encoding {encoding!r}; use a name such as utf-8, cp1252, cp1250 or utf-16"
        ) from error


def decode_strictly(data: bytes, codec: str, label: str, lines_before: int = 0) -> str:
    """``data`` decoded, or an error naming the line (``lines_before`` lines precede it)."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        line = lines_before + line_of(data, error.start, codec)
        raise InputFileError(
            f"{label}: line {line} is not valid {codec} (byte {data[error.start]:#04x}); pass the "
            "right --encoding or save the file as UTF-8"
        ) from error
    return refuse_nul(text, label, lines_before)


def refuse_nul(text: str, label: str, lines_before: int = 0) -> str:
    position = text.find("\x00")
    if position >= 0:
        line = lines_before + text.count("\n", 0, position) + 1
        raise InputFileError(
            f"{label}: line {line} contains a NUL character; if the file is UTF-16 without a "
            "byte-order mark pass --encoding utf-16-le (or utf-16-be)"
        )
    return text


def line_of(data: bytes, position: int, codec: str) -> int:
    # Everything before the first bad byte decodes, so counting newlines there is exact.
    return data[:position].decode(codec, errors="ignore").count("\n") + 1


def detect_single_byte_encoding(data: bytes, first_bad: int) -> tuple[str | None, str | None]:
    """The accepted codec charset-normalizer is sure of, and its best guess for messages."""
    if len(data) > 2 * DETECTION_SAMPLE_BYTES:
        # Detection is slow on large files; the head plus the first undecodable stretch suffice.
        start = data.rfind(b"\n", 0, first_bad) + 1
        sample = data[:DETECTION_SAMPLE_BYTES] + data[start : start + DETECTION_SAMPLE_BYTES]
    else:
        sample = data
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return None, None
    # could_be_from_charset lists codecs giving exactly the same text, so any of them is safe.
    same_text = {codec_name(name) for name in (best.encoding, *best.could_be_from_charset)}
    for codec in DETECTABLE_ENCODINGS:
        if codec in same_text:
            return codec, best.encoding
    return None, best.encoding


def first_utf8_line(data: bytes) -> int | None:
    """The first line that is valid UTF-8 and not plain ASCII, if any."""
    checked_until = -1
    for match in _UTF8_PAIR.finditer(data):
        # Only lines holding such a pair can be non-ASCII UTF-8; a cp1252 file rarely has
        # one, so this stays fast on large files.
        if match.start() < checked_until:
            continue
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        checked_until = len(data) if end < 0 else end
        try:
            data[start:checked_until].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return data.count(b"\n", 0, start) + 1
    return None
