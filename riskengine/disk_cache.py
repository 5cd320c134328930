"""What the disk cache's users share: the digest of the code that validated what is kept, and
the rule for which kept files may be trusted.

Work that takes a noticeable part of a one-row ``riskengine score`` and gives the same answer
for the same bytes and the same code is kept under :func:`riskengine.config.cache_directory`:
the validated reference tables (:mod:`riskengine.reference.loader`) and the fact that the
shipped catalog passed its contracts (:mod:`riskengine.catalog`). Each entry is filed under a
digest of the bytes it came from and of :data:`CODE_DIGEST`, so other riskengine code or data,
another Python or other versions of the libraries validation uses, work it out anew. Nothing
here may fail a command: a cache that cannot be read or written is only slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import polars as pl

# Imported for its version, which the digest covers (validation runs through it).
import riskengine.pandera_polars  # noqa: F401
from riskengine.config import cache_directory

#: What the cache may meet and must not let out: it only ever saves time.
CACHE_ERRORS = (OSError, RuntimeError, ValueError, TypeError, KeyError, pl.exceptions.PolarsError)
#: Entries each kind of cache keeps, the most recently used.
KEPT_ENTRIES = 8
#: An entry's name: 32 hex digits of its key.
ENTRY_NAME = re.compile(r"[0-9a-f]{32}")
#: Files in a cache directory being written or thrown away, and how old such a file must be
#: (a run killed meanwhile left it) before another run deletes it.
UNFINISHED_PREFIXES = (".writing-", ".stale-")
UNFINISHED_SECONDS = 3600
# Raised when what an entry holds changes its meaning.
_FORMAT = 2


def _code_digest() -> str | None:
    """A digest of the riskengine code and data this process runs (everything in the package
    but the shipped reference tables, which the reference cache's keys cover, and the demo
    files) and of the versions of Python (its Unicode data) and of the libraries validation
    uses; None when the package's files cannot be read (an install without its sources)."""
    import confusable_homoglyphs
    import pycountry

    package = Path(__file__).resolve().parent
    skipped = (package / "reference" / "data", package / "demo")
    versions = {
        "python": sys.version,
        "unicode": unicodedata.unidata_version,
        "polars": pl.__version__,
        "pandera": getattr(sys.modules.get("pandera"), "__version__", ""),
        "pycountry": getattr(pycountry, "__version__", ""),
        "confusable_homoglyphs": getattr(confusable_homoglyphs, "__version__", ""),
    }
    digest = hashlib.sha256(f"{_FORMAT} {sorted(versions.items())!r}\n".encode())
    hashed = set()
    try:
        for path in sorted(package.rglob("*")):
            if path.suffix not in (".py", ".csv") or any(map(path.is_relative_to, skipped)):
                continue
            data = path.read_bytes()
            name = path.relative_to(package).as_posix().encode("utf-8", "surrogateescape")
            digest.update(name + f" {len(data)}\n".encode())
            digest.update(data)
            hashed.add(path)
    except OSError:
        return None
    # Code that runs from elsewhere than these files (a zip, bytecode only) is not covered.
    return digest.hexdigest() if Path(__file__).resolve() in hashed else None


#: Worked out once, as the module is imported (9 ms here): a process that validated with the
#: code it started with never files the result under code installed over it since.
CODE_DIGEST = _code_digest()


def entry_key(*parts: str | bytes) -> str | None:
    """The name of an entry for what ``parts`` say (its kind, the bytes it came from) under
    this code (:data:`CODE_DIGEST`) and pandera's switches in force; None when the code is not
    covered."""
    if CODE_DIGEST is None:
        return None
    digest = hashlib.sha256(f"{CODE_DIGEST}\n{_validation_switches()}".encode())
    for part in parts:
        data = part if isinstance(part, bytes) else part.encode("utf-8", "surrogateescape")
        digest.update(f"\n{len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()[:32]


def _validation_switches() -> str:
    """pandera's switches where the key is asked for: a load validated with its checks turned
    off or cut short (``PANDERA_VALIDATION_ENABLED``, ``PANDERA_VALIDATION_DEPTH``) is filed
    apart from one fully checked, and never stands in for it."""
    from pandera.config import get_config_context

    config = get_config_context()
    return f"enabled={config.validation_enabled} depth={config.validation_depth}"


def cache_root(kind: str) -> Path:
    """The directory of one kind of entry."""
    return cache_directory() / kind


def make_root(kind: str) -> Path:
    """:func:`cache_root`, created if need be for this user alone (a group-writable one, as
    umask 002 gives, would never be trusted)."""
    root = cache_root(kind)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def trusted(entry: Path, *, directory: bool) -> bool:
    """Whether an entry (a directory, or else a regular file) and the directory holding it are
    this user's own, no one else may write them, and the entry is no symbolic link: what is
    read back is not checked again, so an entry others could change or swap could change the
    scores. Outside POSIX, where modes say little, an entry of the right kind is trusted."""
    if os.name != "posix":
        return entry.is_dir() if directory else entry.is_file()
    for path, must_be_directory in ((entry.parent, True), (entry, directory)):
        status = path.lstat()
        is_kind = stat.S_ISDIR if must_be_directory else stat.S_ISREG
        if not is_kind(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o022:
            return False
    return True


def touch(entry: Path) -> None:
    """Mark an entry as just used (a cache the user may read but not change still serves)."""
    with contextlib.suppress(OSError):
        os.utime(entry)


def forget_old_entries(root: Path) -> None:
    """Delete all but the :data:`KEPT_ENTRIES` most recently used entries in ``root``, and what
    runs killed while writing or deleting one left behind; nothing else found there."""
    now = time.time()
    entries = []
    for path in root.iterdir():
        with contextlib.suppress(OSError):  # renamed or deleted by another process meanwhile
            if path.name.startswith(UNFINISHED_PREFIXES):
                if now - path.stat().st_mtime > UNFINISHED_SECONDS:
                    _remove(path)
            elif ENTRY_NAME.fullmatch(path.name):
                entries.append((path.stat().st_mtime, path))
    entries.sort(reverse=True)
    for _, old in entries[KEPT_ENTRIES:]:
        _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def is_marked(kind: str, key: str | None) -> bool:
    """Whether the mark ``key`` of ``kind`` (:func:`mark`) is kept and trusted."""
    if key is None:
        return False
    try:
        entry = cache_root(kind) / key
        if not entry.exists() or not trusted(entry, directory=False):
            return False
        if entry.read_text(encoding="utf-8") != key:
            return False
    except CACHE_ERRORS:  # a UnicodeDecodeError is a ValueError
        return False
    touch(entry)
    return True


T = TypeVar("T")


def checked_once(
    kind: str, files: Mapping[str, bytes], build: Callable[[bool], T], *, trust_mark: bool = True
) -> T:
    """``build(checked)``, told whether a trusted mark says that ``files`` (by name) passed
    their checks under this code, in which case it may skip them (only when ``trust_mark``);
    once it returns, which it does only if every check it ran passed, the mark is kept."""
    key = entry_key(kind, *(part for name, data in files.items() for part in (name, data)))
    checked = trust_mark and is_marked(kind, key)
    built = build(checked)
    if not checked:
        mark(kind, key)
    return built


def mark(kind: str, key: str | None) -> None:
    """Keep a mark ``key`` of ``kind``: a file naming the key, written whole, then renamed
    into place. For facts that need nothing kept but that they hold (these bytes passed
    these checks under this code)."""
    if key is None:
        return
    written: str | None = None
    try:
        root = make_root(kind)
        descriptor, written = tempfile.mkstemp(prefix=UNFINISHED_PREFIXES[0], dir=root)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(key)
        os.replace(written, root / key)
        written = None
        forget_old_entries(root)
    except CACHE_ERRORS:
        pass
    finally:
        if written is not None:
            with contextlib.suppress(OSError):
                os.unlink(written)
