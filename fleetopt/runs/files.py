"""Atomic file output: write to a temporary file in the same folder, then rename."""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import signal
import sys
import tempfile
import threading
import time
import tokenize
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}

# What reading a damaged or foreign .npz (np.load, then its __meta__ JSON) raises: a cut-short or
# garbage archive, a bad CRC, a damaged compressed stream (zlib, LZMA), an encrypted or unknown zip
# member (RuntimeError, NotImplementedError), a damaged .npy header (ValueError, SyntaxError,
# TokenError), a missing member (KeyError), metadata that is not a JSON object (TypeError). Not
# MemoryError or KeyboardInterrupt: those are not a damaged file and must not read as one.
DAMAGED_NPZ_ERRORS = (
    OSError, EOFError, ValueError, KeyError, TypeError, RuntimeError, SyntaxError,
    zipfile.BadZipFile, zlib.error, lzma.LZMAError, tokenize.TokenError,
)  # fmt: skip


@contextmanager
def signals_deferred(say: bool = False):
    """Hold Ctrl-C and SIGTERM until the block ends, so that a stop requested while finished work
    is being saved takes effect after the save, never half-way through it (where it would surface
    as an unrelated error from the file being written). A no-op outside the main thread.

    The signals are caught by a handler of Python's, not masked: a signal sent to the process
    reaches any of its threads that does not mask it (HiGHS's, BLAS's), and Python then raises in
    the main thread whatever its mask. The first one caught is raised again once the block ends,
    to the handler that was there before; with ``say`` the first is also said at once on stderr (a
    run's record waits up to a minute for a busy registry, and a block that fails reports its own
    error instead; a chunk's save takes milliseconds and says nothing).
    A signal whose handler was not set from Python (by a library in C) is left alone: it could not
    be put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, object] = {}

    def hold(signum, _frame) -> None:
        caught.append(signum)  # first: the stop is held whatever the line below meets
        if say and len(caught) == 1:  # said at once: a record can wait a minute on a busy registry
            try:
                sys.stderr.write(f"{signal.Signals(signum).name} received: fleetopt stops once the "
                                 "finished work being saved is saved\n")  # fmt: skip
                sys.stderr.flush()
            except (OSError, ValueError, RuntimeError):  # stderr gone (a pipe's reader killed too)
                pass

    try:
        for signum in _STOP_SIGNALS:
            if signal.getsignal(signum) is not None:
                previous[signum] = signal.signal(signum, hold)
        yield
    finally:
        _restore(list(previous.items()))
    if caught:
        signal.raise_signal(caught[0])


def _restore(handlers: list) -> None:
    """Put back each (signal, handler), every one even when a signal the first lets through raises
    in between (a second Ctrl-C would leave the other signal held for good)."""
    if not handlers:
        return
    try:
        signal.signal(*handlers[0])
    finally:
        _restore(handlers[1:])


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, hex (read in blocks: a plan file may be gigabytes). A file
    hashed before in this process and unchanged since (its device, inode, size and modification and
    change times) is not read again: one command checks a plans file in several places."""
    with open(path, "rb") as fp:
        stat = os.fstat(fp.fileno())
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        known = _HASHED.get(key)
        if known is not None:
            return known
        digest = hashlib.file_digest(fp, "sha256").hexdigest()
    # a file written within the last seconds could change again within its clock's tick, unseen by
    # its times (as git's "racily clean" index entries): hashed anew each time
    if time.time() - max(stat.st_mtime_ns, stat.st_ctime_ns) / 1e9 > 2.0:
        with _HASHED_LOCK:
            if len(_HASHED) >= 64:
                _HASHED.pop(next(iter(_HASHED)))
            _HASHED[key] = digest
    return digest


_HASHED: dict[tuple, str] = {}
_HASHED_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask (read by setting it, then setting it back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def written_through(path: Path) -> bool:
    """Whether ``path`` is a device or a pipe (/dev/null, /dev/stdout, a FIFO), which a file the user
    names is written to directly, not replaced (:func:`write_bytes_atomic`)."""
    return path.exists() and not path.is_file() and not path.is_dir()


def write_bytes_atomic(path: str | Path, data: bytes, user_file: bool = False) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.
    ``user_file``: a file the user named (``--out`` of report, compare, schema), which is written as
    a shell redirection writes it: a device or a pipe (/dev/null, /dev/stdout) through (a rename put
    a plain file in its place), and a link's target, the link kept. A run folder's own files are
    always replaced by name: a link planted there never redirects a write."""
    path = Path(path)
    if user_file and written_through(path):
        with open(path, "wb") as handle:
            handle.write(data)
        return
    if user_file and path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp creates 0600: as a plain open() would
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is not None:
            raise
        # a write or fsync that failed (a full disk, a file-size limit) names no file: the one meant
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """fsync ``folder``, so that a file just renamed into it (a chunk, summary.json) is still there
    after a power loss: the file's own fsync does not keep its name. Skipped where the platform
    refuses it (Windows opens no folder; some file systems cannot sync one): the write is done."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(text: str | bytes) -> object:
    """The value of a JSON text fleetopt reads back (a run's files, a plan file's metadata, the
    registry's figures): ValueError for any text that is not JSON, including one nested too deeply
    for Python's parser (which raises RecursionError), so every reader handles one error."""
    try:
        return json.loads(text)
    except RecursionError:  # arrays nested thousands deep: fleetopt never writes them
        raise ValueError("nested too deeply to read") from None


def json_kind(value: object) -> str:
    """JSON's name for the kind of a value :func:`read_json` gave (Python's, 'dict' or 'NoneType',
    is not what the file says)."""
    kinds = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def utf8_text(text: str) -> str:
    """``text`` writable as UTF-8: a path whose bytes were not UTF-8 (a folder named in Latin-1,
    which Python keeps as surrogates) written with its bytes escaped, 'caf\\xe9'."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_text_atomic(path: str | Path, text: str, user_file: bool = False) -> None:
    """``text`` written whole, in UTF-8 (:func:`utf8_text`: a name in other bytes escaped)."""
    write_bytes_atomic(path, utf8_text(text).encode("utf-8"), user_file)


def unwritable_ancestor(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents that exists, where it is not a folder this user can
    make files in (a run folder, an output file or the registry made below it would fail), as an
    absolute path (a relative one's nearest may be ".": a read-only current folder); None where it is one."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    return None if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK) else existing.absolute()
