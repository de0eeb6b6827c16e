"""Email metadata from mbox files, maildir folders and .eml files.

Only header blocks are ever read: the body of a message is skipped while scanning (it is
never parsed nor kept in memory), and of the headers only From/Sender, To/Cc/Bcc, Date,
Message-ID, References, In-Reply-To and X-GM-THRID are looked at. Addresses leave this
module as pseudonyms; identifiers (message ids, thread ids, paths) as keyed references.

What is read below ``folder`` (recursively, in a stable order):

* mbox: files named ``*.mbox`` or whose first line starts with ``From `` (a leading UTF-8
  BOM is ignored). Messages are split on every line starting with ``From `` (the rule of
  Python's ``mailbox.mbox``; ``Content-Length`` is not trusted). Non-blank text before the
  first separator is read as one more message rather than dropped silently. The split is
  done here rather than by ``mailbox.mbox``, which opens the landed file read-write, loads
  whole bodies and loses the first message of a file that starts with a BOM.
* maildir: a folder with ``cur``, ``new`` and ``tmp`` subfolders; the messages of ``cur`` and
  ``new`` are listed by key as ``mailbox.Maildir`` does (``tmp`` holds deliveries under way and is
  not read; Maildir++ subfolders such as ``.Sent`` are found by the recursive walk).
* ``*.eml``: one message per file.

Dates: a Date without any zone is rejected (its instant is unknown), except ``-0000``, which
RFC 5322 defines as UTC.

Threads: ``thread_ref`` is ``ref("thread", X-GM-THRID)`` when Gmail gives one, else
``ref("thread", <root id>)`` where the root id is the first id of References, else the
In-Reply-To id, else the message's own Message-ID. Using the same ``"thread"`` namespace for
the message's own id is what makes a thread root and its replies share one ``thread_ref``.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import IO, Iterator

from jobs.privacy.pseudonym import Pseudonymiser, canonical_address
from jobs.sources.base import ParseOutcome, Rejection, to_utc

_BOM = b"\xef\xbb\xbf"
_MAILDIR_PARTS = ("cur", "new", "tmp")
_ANGLE_ID = re.compile(r"<[^<>\s]+>")
# "-0000" means "UTC, but the local zone is unknown" (RFC 5322 3.3); parsedate_to_datetime
# returns a naive datetime for it, the same as for a date with no zone at all.
_MINUS_ZERO_ZONE = re.compile(r"(?<![\d:])-0000(?!\d)")

# An unquoted display name holding "@" ("ann@x.org <bob@x.org>"): quoted, it parses as a name.
_UNQUOTED_AT_NAME = re.compile(r'(^|,)(\s*)([^",<>()]*@[^",<>()]*?)(\s*<)')
_FOLD = re.compile(r"\r?\n(?=[ \t])")

_PARSER = BytesParser(policy=default_policy)


def parse_email(folder: Path, pseudo: Pseudonymiser, only: set[str] | None = None) -> ParseOutcome:
    """Parse every mbox, maildir and .eml below ``folder`` (see the module docstring).

    ``only``: the relative paths of the landing units to read (``landed_units``), None for all.
    """
    folder = Path(folder)
    outcome = ParseOutcome()
    for source_rel, index, header_bytes in _header_blocks(folder, only):
        outcome.extend(_parse_one(header_bytes, source_rel, index, pseudo))
    return outcome


def landed_units(folder: Path) -> list[tuple[str, list[Path]]]:
    """(relative path, [file]) of every unit this parser reads below ``folder``, in parsing
    order: an mbox file, an .eml file, one maildir message. The relative path is the one the
    rows' ``file_ref`` is made of; a maildir message is named ``<maildir>/<key>`` (its key, the
    file name before ``:2,flags``, survives the new/ -> cur/ move and flag changes)."""
    return [(rel, [path]) for kind, rel, path in _discover(Path(folder)) if kind is not None]


# ---------------------------------------------------------------------------- discovery


def _header_blocks(folder: Path, only: set[str] | None = None) -> Iterator[tuple[str, int, bytes]]:
    """(relative path, position in that file, header bytes) of every message, in order."""
    for kind, rel, path in _discover(folder):
        if kind is None or (only is not None and rel not in only):
            continue
        if kind == "mbox":
            for index, block in enumerate(_mbox_blocks(path)):
                yield rel, index, block
            continue
        try:
            fh = path.open("rb")
        except OSError:
            continue  # a maildir message delivered or expunged while we were listing
        with fh:
            yield rel, 0, _read_header_block(fh)


def _discover(folder: Path) -> Iterator[tuple[str | None, str, Path]]:
    """(kind, relative path, file) of every message file below ``folder``: kind "mbox",
    "eml" or "maildir" (one message), or None for a file that is none of these (it is
    listed so that the landing manifest can count it; a maildir's tmp/ is not listed)."""
    if not folder.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        here = Path(dirpath)
        if _is_maildir(here):
            base = here.relative_to(folder).as_posix()
            for key, path in _maildir_messages(here):
                yield "maildir", (key if base == "." else f"{base}/{key}"), path
            # cur/new/tmp hold the maildir's own messages: not separate .eml/mbox files.
            dirnames[:] = [d for d in dirnames if d not in _MAILDIR_PARTS]
        for name in sorted(filenames):
            path = here / name
            if path.is_file():
                yield _file_kind(path), path.relative_to(folder).as_posix(), path


def _is_maildir(path: Path) -> bool:
    return all((path / part).is_dir() for part in _MAILDIR_PARTS)


def _file_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".mbox"):
        return "mbox"
    try:
        with path.open("rb") as fh:
            first = fh.readline(256)
    except OSError:
        return None
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    if first.startswith(b"From "):
        return "mbox"
    if name.endswith(".eml"):
        return "eml"
    return None


def _maildir_messages(maildir_path: Path) -> list[tuple[str, Path]]:
    """(key, file) of the messages of a maildir, sorted by key: the files of new/ and cur/,
    keyed by their name before the ``:`` info, as ``mailbox.Maildir`` lists them."""
    found: dict[str, Path] = {}
    for part in ("cur", "new"):
        try:
            entries = sorted(os.listdir(maildir_path / part))
        except OSError:
            continue
        for entry in entries:
            path = maildir_path / part / entry
            if not path.is_dir():
                found[entry.split(":")[0]] = path
    return sorted(found.items())


def _read_header_block(fh: IO[bytes]) -> bytes:
    lines = []
    for line in fh:
        if not lines and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if line in (b"\n", b"\r\n", b"\r"):
            break
        lines.append(line)
    return b"".join(lines)


def _mbox_blocks(path: Path) -> Iterator[bytes]:
    """Header blocks of the messages of an mbox file; bodies are skipped line by line."""
    current: list[bytes] | None = None  # header lines of the message being read
    in_headers = False
    preamble: list[bytes] = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh):
            if number == 0 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if line.startswith(b"From "):
                if current is not None:
                    yield b"".join(current)
                elif any(p.strip() for p in preamble):
                    yield _header_part(preamble)
                current, in_headers = [], True
                continue
            if current is None:
                if len(preamble) < 10_000:  # a header block is never that long
                    preamble.append(line)
                continue
            if in_headers:
                if line.strip(b"\r\n") == b"":
                    in_headers = False
                else:
                    current.append(line)
    if current is not None:
        yield b"".join(current)
    elif any(p.strip() for p in preamble):
        yield _header_part(preamble)


def _header_part(lines: list[bytes]) -> bytes:
    out = []
    for line in lines:
        if line.strip(b"\r\n") == b"":
            if out:
                break
            continue
        out.append(line)
    return b"".join(out)


# ------------------------------------------------------------------------------ parsing


def _parse_one(header_bytes: bytes, rel: str, index: int, pseudo: Pseudonymiser) -> ParseOutcome:
    file_ref = pseudo.ref("file", rel)
    record_ref = pseudo.ref("email-pos", rel, index)
    try:
        msg = _PARSER.parsebytes(header_bytes, headersonly=True)
        headers = _raw_headers(msg)
    except Exception as exc:  # noqa: BLE001 - any parser failure is one rejected record
        return ParseOutcome(rejections=[Rejection(record_ref, f"unparseable message: {type(exc).__name__}", file_ref)])
    return message_from_headers(headers, record_ref, pseudo, file_ref)


def message_from_headers(headers: dict[str, list[str]], record_ref: str, pseudo: Pseudonymiser,
                         file_ref: str | None = None, thread_key: str | None = None) -> ParseOutcome:
    """The bronze row of one message from its header values (lower-case names -> values as
    written), or its rejection. Files and APIs (Graph, Gmail) share this, so that one
    Message-ID is one ``record_id`` wherever the message was read. ``thread_key`` is an API's
    own thread id (Graph conversationId, Gmail threadId) when the headers give none."""

    def reject(reason: str) -> ParseOutcome:
        return ParseOutcome(rejections=[Rejection(record_ref, reason, file_ref)])

    sent_at = _sent_at(headers.get("date", []))
    if sent_at is None:
        return reject("missing or unparseable Date")

    sender = _first_person(headers.get("from", []), pseudo) or _first_person(headers.get("sender", []), pseudo)
    if sender is None:
        return reject("no usable sender address")

    recipients = {}
    for field in ("to", "cc", "bcc"):
        people = (pseudo.person(addr) for addr in _addresses(headers.get(field, [])))
        recipients[field] = [p for p in people if p is not None]

    message_id = _first_id(headers.get("message-id", []))
    message_ref = pseudo.ref("message-id", message_id) if message_id else None
    if message_id:
        record_id = pseudo.ref("email", message_id)
    else:
        # No Message-ID: the same message copied into two mailboxes still has the same Date,
        # From, To and Cc, so this key lets ingest drop the second copy.
        record_id = pseudo.ref("email-nomid", *(_normalise(headers.get(h, [])) for h in ("date", "from", "to", "cc")))
    return ParseOutcome(
        rows=[
            {
                "record_id": record_id,
                "file_ref": file_ref,
                "message_ref": message_ref,
                "thread_ref": _thread_ref(headers, message_id, pseudo, thread_key),
                "sent_at": sent_at,
                "sender": sender,
                "to": recipients["to"],
                "cc": recipients["cc"],
                "bcc": recipients["bcc"],
                "n_recipients": _distinct_recipients(headers),
            }
        ]
    )


def _distinct_recipients(headers: dict[str, list[str]]) -> int:
    """Distinct To/Cc mailboxes other than the sender's, external ones included: the
    denominator of the 1/n tie weight (Bcc forms no ties; see docs/metrics.md)."""
    def canonical(field: str) -> set[str]:
        return {a for a in map(canonical_address, _addresses(headers.get(field, []))) if a}

    return len((canonical("to") | canonical("cc")) - canonical("from") - canonical("sender"))


def _raw_headers(msg: EmailMessage) -> dict[str, list[str]]:
    """Header values as written (unfolded, 8-bit bytes read as UTF-8), by lower-case name.

    The default policy's decoded address headers are not used: decoding first and splitting
    after breaks on encoded display names holding commas, and its parser reads
    ``alice@x.org <bob@x.org>`` as alice when the mailbox is bob.
    """
    out: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        if not isinstance(value, str):
            value = str(value)
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        out.setdefault(name.strip().lower(), []).append(_FOLD.sub("", value).strip())
    return out


def _sent_at(values: list[str]) -> datetime | None:
    if not values or not values[0].strip():
        return None
    raw = values[0]
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if moment.tzinfo is None:
        if not _MINUS_ZERO_ZONE.search(raw):
            return None  # no zone at all: the instant is unknown
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return to_utc(moment)
    except (ValueError, OverflowError):
        return None


def _addresses(values: list[str]) -> list[str]:
    """The addr-specs of address headers, in order."""
    values = [_UNQUOTED_AT_NAME.sub(r'\1\2"\3"\4', v) for v in values if v]
    if not values:
        return []
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001 - getaddresses is not total on odd input
        return []
    out = []
    for _, addr in pairs:
        if "=?" in addr:
            # Some senders encode the whole mailbox as one RFC 2047 word.
            try:
                addr = str(make_header(decode_header(addr)))
            except Exception:  # noqa: BLE001
                continue
        if addr:
            out.append(addr)
    return out


def _first_person(values: list[str], pseudo: Pseudonymiser) -> str | None:
    for addr in _addresses(values):
        person = pseudo.person(addr)
        if person is not None:
            return person
    return None


def _first_id(values: list[str]) -> str | None:
    """The first ``<id>`` of a header (comments and junk around it dropped), else the
    stripped value; None when empty."""
    for value in values:
        match = _ANGLE_ID.search(value)
        if match:
            return match.group(0)
        stripped = value.strip()
        if stripped:
            return stripped.split()[0]
    return None


def _thread_ref(headers: dict[str, list[str]], message_id: str | None, pseudo: Pseudonymiser,
                thread_key: str | None = None) -> str | None:
    gm_thread = [v for v in headers.get("x-gm-thrid", []) if v] or ([thread_key] if thread_key else [])
    if gm_thread:
        return pseudo.ref("thread", gm_thread[0])
    root = _first_id(headers.get("references", [])) or _first_id(headers.get("in-reply-to", [])) or message_id
    return pseudo.ref("thread", root) if root else None


def _normalise(values: list[str]) -> str:
    # Folding differs between copies of one message; the words do not.
    return " ".join(" ".join(values).split())
