"""Chat metadata from Slack workspace exports (folders or .zip files, the official layout).

An export is a folder (or a folder inside a .zip, read in place without extracting) holding
``users.json`` and the conversation lists ``channels.json`` (public channels),
``groups.json`` (private channels), ``dms.json`` (direct messages) and ``mpims.json`` (group
DMs), with one subfolder per conversation holding ``<YYYY-MM-DD>.json`` day files. Channel,
private-channel and group-DM folders are named after the conversation's ``name``; DM folders
after its id: both are looked up.

The message text is read only to find ``<@U…>`` mentions and is never stored. People leave as
pseudonyms of the e-mail address in their ``users.json`` profile (no address: None). Their
real and display names leave only as keyed refs (``ParseOutcome.name_refs``,
``jobs.privacy.names``).

Rejected: a day file that is not valid JSON (one rejection for the file), a zip member that
cannot be read (bad CRC, corrupt compressed data, truncated, encrypted or compressed with an
unsupported method: one rejection for that member, the rest of the export loads), a day file
of a conversation that no list names, a message without a parseable ``ts``. When
``users.json`` itself cannot be read, the export is rejected as a whole (one rejection)
rather than loaded with every author unknown.

Not joined (counted in ``ParseOutcome.unjoined``, the messages are still loaded, without a
sender): users of ``users.json`` whose profile has no usable e-mail (bots and Slackbot are not
people and are not counted) as ``"slack users without e-mail"``, and the messages they wrote
as ``"messages by users without e-mail"``.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from jobs.privacy.names import name_refs
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.sources.base import ParseOutcome, Rejection, files_under

CONVERSATION_LISTS = (
    ("channels.json", "channel"),
    ("groups.json", "private_channel"),
    ("dms.json", "dm"),
    ("mpims.json", "group_dm"),
)
_KINDS_WITH_MEMBERS = ("dm", "group_dm")
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# ParseOutcome.unjoined reasons (exports and the Web API alike).
NO_EMAIL_USERS = "slack users without e-mail"
NO_EMAIL_MESSAGES = "messages by users without e-mail"


def parse_slack(folder: Path, pseudo: Pseudonymiser, only: set[str] | None = None) -> ParseOutcome:
    """Every message of every Slack export (folder or .zip) below ``folder``. ``only``: the
    relative paths of the landing units to read (``landed_units``), None for all."""
    folder = Path(folder)
    outcome = ParseOutcome()
    for export in _folder_exports(folder):
        if only is None or export.unit in only:
            outcome.extend(_parse_export(export, pseudo))
    for path in files_under(folder, ".zip"):
        rel = path.relative_to(folder).as_posix()
        if only is not None and rel not in only:
            continue
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            outcome.rejections.append(
                Rejection(pseudo.ref("slack-pos", rel, "file"), f"unreadable zip: {type(exc).__name__}", pseudo.ref("file", rel))
            )
            continue
        with archive:
            for export in _zip_exports(archive, rel):
                outcome.extend(_parse_export(export, pseudo))
    return outcome


def landed_units(folder: Path) -> list[tuple[str, list[Path], list[str]]]:
    """(relative path, files, record file names) of every unit this parser reads below
    ``folder``: a folder export (its path; its .json files, read together) or a .zip (the
    file). The record file names are the relative paths the rows' and rejections'
    ``file_ref`` are made of (``<export>/<conversation>/<day>.json``, ``<zip>/<member>``)."""
    folder = Path(folder)
    units: list[tuple[str, list[Path], list[str]]] = []
    for export in _folder_exports(folder):
        units.append((export.unit, [export.root / name for name in export.names],
                      [export.display(name) for name in export.names]))
    for path in files_under(folder, ".zip"):
        rel = path.relative_to(folder).as_posix()
        names = [rel]
        try:
            with zipfile.ZipFile(path) as archive:
                for export in _zip_exports(archive, rel):
                    names.extend(export.display(name) for name in export.names)
        except (zipfile.BadZipFile, OSError):
            pass  # rejected whole when parsed: its file_ref is the zip's
        units.append((rel, [path], names))
    return units


# ---------------------------------------------------------------------------- discovery


@dataclass
class _Export:
    """A Slack export seen as relative file names, wherever its bytes live."""

    names: list[str]  # posix paths relative to the export root
    read: Callable[[str], bytes]
    display: Callable[[str], str]  # the path relative to the parsed folder, for file_ref
    unit: str  # the landing unit: the export folder, or the zip, relative to the parsed folder
    root: Path | None = None  # the export folder (None inside a zip)


def _is_export(names: set[str]) -> bool:
    return "users.json" in names and any(name in names for name, _ in CONVERSATION_LISTS)


def _folder_exports(folder: Path) -> Iterator[_Export]:
    if not folder.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        if not _is_export(set(filenames)):
            continue
        root = Path(dirpath)
        names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.json") if p.is_file())
        yield _Export(
            names=names,
            read=lambda name, root=root: (root / name).read_bytes(),
            display=lambda name, root=root: (root / name).relative_to(folder).as_posix(),
            unit=root.relative_to(folder).as_posix(),
            root=root,
        )
        dirnames[:] = []  # the conversation folders below an export hold no other export


def _zip_exports(archive: zipfile.ZipFile, zip_rel: str) -> Iterator[_Export]:
    members = [info.filename for info in archive.infolist() if not info.is_dir()]
    by_dir: dict[str, set[str]] = {}
    for member in members:
        parent = PurePosixPath(member).parent.as_posix()
        by_dir.setdefault("" if parent == "." else parent + "/", set()).add(PurePosixPath(member).name)
    for prefix in sorted(d for d, files in by_dir.items() if _is_export(files)):
        names = sorted(m[len(prefix) :] for m in members if m.startswith(prefix) and m.endswith(".json"))
        yield _Export(
            names=names,
            read=lambda name, prefix=prefix: archive.read(prefix + name),
            display=lambda name, prefix=prefix: f"{zip_rel}/{prefix}{name}",
            unit=zip_rel,
        )


# ------------------------------------------------------------------------------ parsing


@dataclass
class Conversation:
    channel_id: str
    kind: str
    members: list[str] = field(default_factory=list)


def _parse_export(export: _Export, pseudo: Pseudonymiser) -> ParseOutcome:
    outcome = ParseOutcome()

    def reject(name: str, position: object, reason: str) -> None:
        shown = export.display(name)
        outcome.rejections.append(Rejection(pseudo.ref("slack-pos", shown, position), reason, pseudo.ref("file", shown)))

    users_doc, error = _load_json(export, "users.json")
    if error or not isinstance(users_doc, list):
        reject("users.json", "file", error or "invalid JSON: expected a list of users")
        return outcome
    people = slack_people(users_doc, pseudo)
    outcome.name_refs |= slack_name_refs(users_doc, pseudo)
    # People without an address: their messages load without a sender, and are counted.
    unaddressed = unaddressed_users(users_doc, people)
    by_unaddressed = 0

    conversations: dict[str, Conversation] = {}
    for list_name, kind in CONVERSATION_LISTS:
        if list_name not in export.names:
            continue
        doc, error = _load_json(export, list_name)
        if error or not isinstance(doc, list):
            reject(list_name, "file", error or "invalid JSON: expected a list of conversations")
            continue
        for entry in doc:
            if not isinstance(entry, dict) or not entry.get("id"):
                continue
            members = []
            if kind in _KINDS_WITH_MEMBERS:
                members = [p for p in (people.get(m) for m in entry.get("members") or []) if p]
            conversation = Conversation(str(entry["id"]), kind, members)
            for key in (entry.get("name"), entry.get("id")):
                if key:
                    conversations.setdefault(str(key), conversation)

    for name in export.names:
        parts = name.split("/")
        if len(parts) != 2 or not _DAY_FILE.match(parts[1]):
            continue
        conversation = conversations.get(parts[0])
        if conversation is None:
            reject(name, "file", "conversation not listed in export metadata")
            continue
        doc, error = _load_json(export, name)
        if error or not isinstance(doc, list):
            reject(name, "file", error or "invalid JSON: expected a list of messages")
            continue
        file_ref = pseudo.ref("file", export.display(name))
        for index, message in enumerate(doc):
            row = message_row(message, conversation, people, file_ref, pseudo) if isinstance(message, dict) else None
            if isinstance(row, str) or row is None:
                reject(name, index, row or "message is not a JSON object")
            else:
                outcome.rows.append(row)
                author = message_author(message)
                if isinstance(author, str) and author in unaddressed:
                    by_unaddressed += 1
    if unaddressed:
        outcome.unjoined[NO_EMAIL_USERS] = len(unaddressed)
    if by_unaddressed:
        outcome.unjoined[NO_EMAIL_MESSAGES] = by_unaddressed
    return outcome


def bot_ids(users: list) -> set[str]:
    """Ids of bots, apps and Slackbot: accounts that are not people."""
    return {
        str(user["id"]) for user in users
        if isinstance(user, dict) and user.get("id")
        and (user.get("is_bot") or user.get("is_app_user") or user.get("id") == "USLACKBOT")
    }


def _load_json(export: _Export, name: str):
    """(document, None) or (None, short reason). Reasons name the error class and position,
    never the content."""
    try:
        raw = export.read(name)
    except (OSError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        # BadZipFile: bad CRC or a broken local header; EOFError: a member cut short.
        return None, f"unreadable file: {type(exc).__name__}"
    except zlib.error:
        return None, "unreadable file: corrupt compressed data"
    except NotImplementedError:
        return None, "unreadable file: unsupported compression"
    except RuntimeError:
        return None, "unreadable file: encrypted"  # zipfile: "File ... is encrypted, password required"
    try:
        return json.loads(raw.decode("utf-8-sig")), None
    except UnicodeDecodeError as exc:
        return None, f"invalid JSON: UnicodeDecodeError at byte {exc.start}"
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: JSONDecodeError at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "invalid JSON: RecursionError"


def slack_people(users: list, pseudo: Pseudonymiser) -> dict[str, str | None]:
    """Slack user id -> pseudonym of the profile e-mail (None when the profile has none)."""
    out: dict[str, str | None] = {}
    for user in users:
        if not isinstance(user, dict) or not user.get("id"):
            continue
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
        email = profile.get("email")
        out[str(user["id"])] = pseudo.person(email) if isinstance(email, str) else None
    return out


def slack_name_refs(users: list, pseudo: Pseudonymiser) -> set[str]:
    """Refs of the people's names in a users list (export or users.list; bots are not people).
    The names themselves go no further than this function."""
    bots = bot_ids(users)
    refs: set[str] = set()
    for user in users:
        if not isinstance(user, dict) or not user.get("id") or str(user["id"]) in bots:
            continue
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
        refs |= name_refs(
            pseudo, user.get("real_name"), profile.get("real_name"), profile.get("real_name_normalized"),
            profile.get("display_name"), profile.get("display_name_normalized"),
            " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if isinstance(p, str)),
        )
    return refs


def unaddressed_users(users: list, people: dict[str, str | None]) -> set[str]:
    """Ids of the people (not bots) whose profile has no e-mail: their messages load without
    a sender and are counted as unjoined, by export and Web API alike."""
    return {user_id for user_id, person in people.items() if person is None} - bot_ids(users)


def message_row(message: dict, conversation: Conversation, people: dict, file_ref: str | None,
                pseudo: Pseudonymiser) -> dict | str:
    """The bronze row of one message (an export's or the Web API's: same shape), or the reason
    it is rejected."""
    parsed = canonical_ts(message.get("ts"))
    if parsed is None:
        return "missing or unparseable ts"
    ts, sent_at = parsed
    channel_id = conversation.channel_id

    author = message_author(message)

    thread_ref, is_reply, parent_author = None, False, None
    raw_thread = message.get("thread_ts")
    if raw_thread not in (None, ""):
        thread_parsed = canonical_ts(raw_thread)
        thread_ts = thread_parsed[0] if thread_parsed else str(raw_thread).strip()
        thread_ref = pseudo.ref("thread", channel_id, thread_ts)
        is_reply = thread_ts != ts
        if is_reply:
            parent_author = _person(people, message.get("parent_user_id"))

    subtype = message.get("subtype")
    return {
        "record_id": pseudo.ref("slack", channel_id, ts),
        "file_ref": file_ref,
        "conversation_ref": pseudo.ref("conversation", channel_id),
        "channel_kind": conversation.kind,
        "sent_at": sent_at,
        "sender": _person(people, author),
        "subtype": str(subtype) if subtype else None,
        "members": list(conversation.members),
        "mentions": _mentions(message, people),
        "thread_ref": thread_ref,
        "is_thread_reply": is_reply,
        "parent_author": parent_author,
        "reactors": _reactors(message, people),
    }


def message_author(message: dict):
    """The Slack user id of the message's author (None for bots and system messages)."""
    author = message.get("user")
    comment = message.get("comment")
    if not author and message.get("subtype") == "file_comment" and isinstance(comment, dict):
        # Old exports put the author of a file comment only inside "comment".
        author = comment.get("user")
    return author


def canonical_ts(raw) -> tuple[str, datetime] | None:
    """(canonical "seconds.micros" string, aware UTC instant). Decimal keeps the six digits
    exact, so the same message gets the same record_id whichever export it comes from."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    seconds = int(value)
    micros = int((value - seconds) * 1_000_000)
    try:
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=micros)
    except OverflowError:
        return None
    return f"{seconds}.{micros:06d}", moment


def _person(people: dict, user_id) -> str | None:
    return people.get(user_id) if isinstance(user_id, str) else None


def _mentions(message: dict, people: dict) -> list[str]:
    ids: list[str] = []
    text = message.get("text")
    if isinstance(text, str):
        ids.extend(_MENTION.findall(text))
    _block_users(message.get("blocks"), ids)
    out: list[str] = []
    # The same mention usually appears both in the text and in the rich-text blocks.
    for user_id in ids:
        person = _person(people, user_id)
        if person and person not in out:
            out.append(person)
    return out


def _block_users(node, out: list[str], depth: int = 0) -> None:
    if depth > 50:
        return
    if isinstance(node, list):
        for item in node:
            _block_users(item, out, depth + 1)
    elif isinstance(node, dict):
        if node.get("type") == "user" and isinstance(node.get("user_id"), str):
            out.append(node["user_id"])
        for key in ("elements", "blocks"):
            if key in node:
                _block_users(node[key], out, depth + 1)


def _reactors(message: dict, people: dict) -> list[str]:
    out = []
    reactions = message.get("reactions")
    for reaction in reactions if isinstance(reactions, list) else []:
        users = reaction.get("users") if isinstance(reaction, dict) else None
        for user_id in users if isinstance(users, list) else []:
            person = _person(people, user_id)
            if person:
                out.append(person)
    return out
