"""Turn any supported score file into ABC text.

MusicXML (``.xml``, ``.mxl``, ``.musicxml``) goes through abctoolkit's ``xml2abc`` run in-process;
kern (``.krn``) and MIDI (``.mid``, ``.midi``) are parsed by music21 and written to MusicXML first.
ABC files are read as UTF-8 text.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace

from ..errors import CorpusError

ABC_SUFFIXES = (".abc",)
MUSICXML_SUFFIXES = (".xml", ".mxl", ".musicxml")
KERN_SUFFIXES = (".krn",)
MIDI_SUFFIXES = (".mid", ".midi")
SCORE_SUFFIXES = ABC_SUFFIXES + MUSICXML_SUFFIXES + KERN_SUFFIXES + MIDI_SUFFIXES
MAX_FILE_BYTES = 20 * 1024 * 1024  # larger files are skipped: no symbolic score needs this much

# xml2abc's command-line defaults, as the options object its classes read.
_XML2ABC_OPTIONS = dict(u=False, m=0, c=0, d=0, n=0, b=0, o="", v=0, x=False, p=[], j=False, t=False, s=False,
                        v1=False, ped=True, stm=False, i=False)


def unreadable_file_error(path: Path, error: OSError) -> CorpusError:
    """The error for a file the system will not give us, naming the file and what to do."""
    if isinstance(error, FileNotFoundError):
        what = "a broken link (its target is missing)" if path.is_symlink() else "does not exist"
    elif isinstance(error, PermissionError):
        what = "could not be read (permission denied); fix its permissions or move it out of the corpus"
    elif isinstance(error, IsADirectoryError):
        what = "is a folder, not a score file"
    elif error.errno == errno.ELOOP:
        what = "a symbolic link loop (the link leads back to itself); remove or fix the link"
    else:
        what = f"could not be read ({error.strerror or error}); check the file"
    return CorpusError(f"{path}: {what}.")


def file_size(path: str | os.PathLike) -> int:
    """The size of a score file in bytes, refusing empty files and files over :data:`MAX_FILE_BYTES`.

    Raises:
        CorpusError: missing, a broken or looping link, not a regular file, unreadable, empty or too large.

    Example:
        >>> file_size("tune.abc")  # doctest: +SKIP
        412
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError as error:
        raise unreadable_file_error(path, error) from error
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device would block or never end: only regular files are read.
        raise CorpusError(f"{path}: not a regular file (a folder, pipe or device); only score files are read.")
    if info.st_size == 0:
        raise CorpusError(f"{path}: the file is empty.")
    if info.st_size > MAX_FILE_BYTES:
        raise CorpusError(f"{path}: {info.st_size:,} bytes is over the {MAX_FILE_BYTES:,}-byte limit per file; split "
                          "the file, or raise musicsearch.data.formats.MAX_FILE_BYTES to read it.")
    return info.st_size


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a score file, after the checks of :func:`file_size`.

    Raises:
        CorpusError: see :func:`file_size`, or the file cannot be read.
    """
    path = Path(path)
    file_size(path)
    try:
        return path.read_bytes()
    except OSError as error:
        raise unreadable_file_error(path, error) from error


def read_text(path: str | os.PathLike) -> str:
    """Read a text score file as UTF-8, with errors that name the file and what to do.

    Raises:
        CorpusError: missing, unreadable, empty, binary, not UTF-8, or larger than :data:`MAX_FILE_BYTES`.

    Example:
        >>> read_text("tune.abc").startswith("X:")  # doctest: +SKIP
        True
    """
    path = Path(path)
    data = read_bytes(path)
    if b"\x00" in data[:4096]:
        raise CorpusError(f"{path}: binary data, not a text score file; remove it or fix its extension.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "re-save the file as UTF-8.") from error


def musicxml_to_abc(data: bytes, name: str = "score.xml") -> str:
    """Convert MusicXML bytes (plain or compressed ``.mxl``) to ABC with abctoolkit's ``xml2abc``.

    Raises:
        CorpusError: the XML does not parse or yields no music.
    """
    from abctoolkit import xml2abc

    if data[:2] == b"PK":  # .mxl: a zip holding the MusicXML file
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [n for n in archive.namelist() if not n.startswith("META") and n.lower().endswith((".xml", ".musicxml"))]
                if not members:
                    raise CorpusError(f"{name}: the .mxl archive holds no MusicXML file.")
                data = archive.read(members[0])
        except zipfile.BadZipFile as error:
            raise CorpusError(f"{name}: not a valid .mxl archive ({error}).") from error
    options = SimpleNamespace(**_XML2ABC_OPTIONS)
    output = io.StringIO()
    # xml2abc keeps its output object in a module global and reports progress on stderr.
    xml2abc.abcOut = xml2abc.ABCoutput(Path(name).stem + ".abc", "", 0, options)
    xml2abc.abcOut.outfile = output
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            xml2abc.Parser(options).parse(io.BytesIO(data))
    except CorpusError:
        raise
    except Exception as error:  # xml2abc raises bare exceptions of many kinds on bad XML
        raise CorpusError(f"{name}: MusicXML could not be converted ({type(error).__name__}: {error}).") from error
    text = output.getvalue().strip()
    if "K:" not in text:
        raise CorpusError(f"{name}: the MusicXML converted to no ABC music.")
    return text


def _music21_to_abc(path: Path) -> str:
    import music21

    try:
        score = music21.converter.parse(str(path))
    except Exception as error:
        raise CorpusError(f"{path}: music21 could not parse it ({type(error).__name__}: {error}).") from error
    if not score.flatten().notes:
        raise CorpusError(f"{path}: the score has no notes.")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "score.musicxml"
        try:
            score.write("musicxml", fp=str(target))
        except Exception as error:
            raise CorpusError(f"{path}: could not be written as MusicXML ({error}).") from error
        return musicxml_to_abc(target.read_bytes(), name=str(path))


def to_abc(path: str | os.PathLike) -> str:
    """ABC text of any supported score file (a multi-tune ``.abc`` comes back whole; split it with ``split_tunes``).

    Raises:
        CorpusError: unsupported extension, or a file that cannot be read or converted.

    Example:
        >>> to_abc("bwv66.6.mxl").startswith("X:")  # doctest: +SKIP
        True
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise CorpusError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SCORE_SUFFIXES)}.")
    if suffix in ABC_SUFFIXES:
        return read_text(path)
    if suffix in MUSICXML_SUFFIXES:
        return musicxml_to_abc(read_bytes(path), name=str(path))
    file_size(path)
    return _music21_to_abc(path)
