import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jobs.privacy.pseudonym import Pseudonymiser
from jobs.sources.chat import parse_slack

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "chat"
ROW_KEYS = {
    "record_id", "file_ref", "conversation_ref", "channel_kind", "sent_at", "sender", "subtype", "members",
    "mentions", "thread_ref", "is_thread_reply", "parent_author", "reactors",
}


@pytest.fixture
def pseudo():
    return Pseudonymiser(key=b"test-key")


USERS = [
    {"id": "U1", "name": "ann", "real_name": "Ann Example", "profile": {"email": "ann@example.org", "real_name": "Ann Example"}},
    {"id": "U2", "name": "bob", "profile": {"email": "Bob@Example.org"}},
    {"id": "U3", "name": "carol", "profile": {"email": "carol@example.org"}},
    {"id": "U4", "name": "ghost", "profile": {}},  # email hidden
    {"id": "B1", "name": "deploybot", "is_bot": True, "profile": {"bot_id": "BB1"}},
]
CHANNELS = [{"id": "C1", "name": "general", "members": ["U1", "U2", "U3"]}]
DMS = [{"id": "D1", "members": ["U1", "U2"]}]
MPIMS = [{"id": "G9", "name": "mpdm-ann--bob--carol-1", "members": ["U1", "U2", "U3", "U4"]}]

GENERAL_DAY = [
    {   # 0: thread parent with a duplicated mention and a rich-text mention
        "type": "message", "user": "U1", "ts": "1709546400.000100", "thread_ts": "1709546400.000100",
        "text": "Secret plan: <@U2> and again <@U2|bob>, also <@U9> who left",
        "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "user", "user_id": "U2"}, {"type": "text", "text": " hi "}, {"type": "user", "user_id": "U3"}]}]}],
        "reactions": [{"name": "+1", "users": ["U2", "U3"], "count": 2}, {"name": "tada", "users": ["U2", "U4"], "count": 2}],
    },
    {   # 1: reply in the thread
        "type": "message", "user": "U3", "ts": "1709546460.000200", "thread_ts": "1709546400.000100",
        "parent_user_id": "U1", "text": "reply text",
    },
    {   # 2: bot message without user
        "type": "message", "subtype": "bot_message", "bot_id": "BB1", "username": "deploybot",
        "ts": "1709546500.000300", "text": "deployed",
    },
    {"type": "message", "user": "U2", "ts": "not-a-ts", "text": "broken ts"},  # 3
    {   # 4: join notice
        "type": "message", "subtype": "channel_join", "user": "U4", "ts": "1709550000.000000",
        "text": "<@U4|ghost> has joined the channel",
    },
]
DM_DAY = [{"type": "message", "user": "U2", "ts": "1709632800.000001", "text": "private words"}]
MPIM_DAY = [{"type": "message", "user": "U3", "ts": "1709636400.5", "text": "group words"}]


def _write_export(root: Path) -> Path:
    root.mkdir(parents=True)
    for name, doc in (("users.json", USERS), ("channels.json", CHANNELS), ("dms.json", DMS), ("mpims.json", MPIMS)):
        (root / name).write_text(json.dumps(doc))
    for folder, day, doc in (
        ("general", "2024-03-04", GENERAL_DAY),
        ("D1", "2024-03-05", DM_DAY),
        ("mpdm-ann--bob--carol-1", "2024-03-05", MPIM_DAY),
    ):
        (root / folder).mkdir()
        (root / folder / f"{day}.json").write_text(json.dumps(doc, indent=2))
    # A day file cut short in the middle of a message.
    (root / "general" / "2024-03-06.json").write_text('[\n  {"type": "message", "user": "U1", "ts": "17097')
    (root / "general" / "notes.txt").write_text("ignored")
    return root


def _zip_export(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return target


def test_folder_export(tmp_path, pseudo):
    out = parse_slack(_write_export(tmp_path / "export"), pseudo)
    # general: 5 messages, one with a bad ts; DM 1; group DM 1; the truncated day file 1.
    assert len(out.rows) == 6
    assert all(set(r) == ROW_KEYS for r in out.rows)
    reasons = {r.record_ref: r.reason for r in out.rejections}
    assert reasons[pseudo.ref("slack-pos", "general/2024-03-04.json", 3)] == "missing or unparseable ts"
    truncated = reasons[pseudo.ref("slack-pos", "general/2024-03-06.json", "file")]
    assert truncated == "invalid JSON: JSONDecodeError at line 2 column 43"  # where the cut string starts
    assert len(out.rejections) == 2


def _rows_by_ts(out):
    return {r["sent_at"]: r for r in out.rows}


def test_channel_message_fields(tmp_path, pseudo):
    out = parse_slack(_write_export(tmp_path / "export"), pseudo)
    rows = _rows_by_ts(out)
    parent = rows[datetime(2024, 3, 4, 10, 0, 0, 100, tzinfo=timezone.utc)]
    assert parent["record_id"] == pseudo.ref("slack", "C1", "1709546400.000100")
    assert parent["conversation_ref"] == pseudo.ref("conversation", "C1")
    assert parent["channel_kind"] == "channel"
    assert parent["sender"] == pseudo.person("ann@example.org")
    assert parent["members"] == []
    # U2 three times (text twice, blocks once) counts once; U9 is unknown; U3 from the blocks.
    assert parent["mentions"] == [pseudo.person("bob@example.org"), pseudo.person("carol@example.org")]
    # One entry per (reaction, user); U4 has no address and is dropped.
    assert parent["reactors"] == [pseudo.person("bob@example.org"), pseudo.person("carol@example.org"), pseudo.person("bob@example.org")]
    assert parent["thread_ref"] == pseudo.ref("thread", "C1", "1709546400.000100")
    assert parent["is_thread_reply"] is False and parent["parent_author"] is None
    assert parent["file_ref"] == pseudo.ref("file", "general/2024-03-04.json")


def test_thread_reply_bot_and_join(tmp_path, pseudo):
    rows = _rows_by_ts(parse_slack(_write_export(tmp_path / "export"), pseudo))
    reply = rows[datetime(2024, 3, 4, 10, 1, 0, 200, tzinfo=timezone.utc)]
    assert reply["is_thread_reply"] is True
    assert reply["thread_ref"] == pseudo.ref("thread", "C1", "1709546400.000100")
    assert reply["parent_author"] == pseudo.person("ann@example.org")
    assert reply["sender"] == pseudo.person("carol@example.org")

    bot = rows[datetime(2024, 3, 4, 10, 1, 40, 300, tzinfo=timezone.utc)]
    assert bot["sender"] is None and bot["subtype"] == "bot_message"

    join = rows[datetime(2024, 3, 4, 11, 0, tzinfo=timezone.utc)]
    assert join["subtype"] == "channel_join"
    assert join["sender"] is None and join["mentions"] == []  # U4 has no email


def test_dm_and_group_dm(tmp_path, pseudo):
    rows = _rows_by_ts(parse_slack(_write_export(tmp_path / "export"), pseudo))
    dm = rows[datetime(2024, 3, 5, 10, 0, 0, 1, tzinfo=timezone.utc)]
    assert dm["channel_kind"] == "dm"
    assert dm["conversation_ref"] == pseudo.ref("conversation", "D1")
    assert dm["members"] == [pseudo.person("ann@example.org"), pseudo.person("bob@example.org")]
    group = rows[datetime(2024, 3, 5, 11, 0, 0, 500000, tzinfo=timezone.utc)]
    assert group["channel_kind"] == "group_dm"
    assert group["record_id"] == pseudo.ref("slack", "G9", "1709636400.500000")
    assert group["members"] == [pseudo.person(e) for e in ("ann@example.org", "bob@example.org", "carol@example.org")]


def test_zip_gives_the_same_records(tmp_path, pseudo):
    folder_out = parse_slack(_write_export(tmp_path / "export"), pseudo)
    drop = tmp_path / "drop"
    drop.mkdir()
    zip_out = parse_slack(_zip_export(tmp_path / "export", drop / "slack.zip").parent, pseudo)
    assert sorted(r["record_id"] for r in zip_out.rows) == sorted(r["record_id"] for r in folder_out.rows)
    assert len(zip_out.rejections) == 2
    assert {r["file_ref"] for r in zip_out.rows} >= {pseudo.ref("file", "slack.zip/general/2024-03-04.json")}
    # Nothing was extracted next to the zip.
    assert sorted(p.name for p in drop.iterdir()) == ["slack.zip"]


def test_corrupt_zip_and_unlisted_conversation(tmp_path, pseudo):
    export = _write_export(tmp_path / "export")
    (export / "secret-channel").mkdir()
    (export / "secret-channel" / "2024-03-07.json").write_text("[]")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    out = parse_slack(tmp_path, pseudo)
    reasons = {r.record_ref: r.reason for r in out.rejections}
    assert reasons[pseudo.ref("slack-pos", "broken.zip", "file")] == "unreadable zip: BadZipFile"
    assert reasons[pseudo.ref("slack-pos", "export/secret-channel/2024-03-07.json", "file")] == (
        "conversation not listed in export metadata"
    )


def test_no_raw_content_leaves_the_parser(tmp_path, pseudo):
    out = parse_slack(_write_export(tmp_path / "export"), pseudo)
    texts = [str(v) for row in out.rows for v in row.values()] + [r.reason for r in out.rejections]
    for text in texts:
        for needle in ("@", "example.org", "Secret", "Ann", "general", "deploybot", "U1", "C1", "words"):
            assert needle not in text


# --------------------------------------------------------------------------- real data

real = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data absent")
EXPORT = DATA / "slack-export-houstondatavis"


@real
def test_houstondatavis_export(pseudo):
    out = parse_slack(DATA, pseudo)
    # SOURCE.md: 1,382 messages in 16 public channels, 2015-06-06 .. 2016-07-27, no threads or DMs.
    assert len(out.rows) == 1382 and out.rejections == []
    assert len({r["record_id"] for r in out.rows}) == 1382
    assert len({r["conversation_ref"] for r in out.rows}) == 16
    assert {r["channel_kind"] for r in out.rows} == {"channel"}
    assert not any(r["is_thread_reply"] or r["thread_ref"] for r in out.rows)
    subtypes = {}
    for r in out.rows:
        subtypes[r["subtype"]] = subtypes.get(r["subtype"], 0) + 1
    assert (subtypes[None], subtypes["channel_join"], subtypes["file_share"], subtypes["channel_purpose"]) == (964, 320, 61, 13)
    assert sum(1 for r in out.rows if r["reactors"]) == 89
    assert sum(1 for r in out.rows if r["mentions"]) == 554
    assert min(r["sent_at"] for r in out.rows).date().isoformat() == "2015-06-06"
    assert max(r["sent_at"] for r in out.rows).date().isoformat() == "2016-07-27"
    # The six file_comment messages carry their author only in "comment.user".
    assert all(r["sender"] for r in out.rows if r["subtype"] == "file_comment")


@real
def test_houstondatavis_zipped_and_truncated(tmp_path, pseudo):
    # Zipped in memory-safe fashion, with one day file cut short: only that file is lost.
    target = tmp_path / "export.zip"
    victim = "general/2016-07-27.json"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(EXPORT.rglob("*.json")):
            name = path.relative_to(EXPORT).as_posix()
            data = path.read_bytes()
            archive.writestr("houstondatavis/" + name, data[: len(data) // 2] if name == victim else data)
    out = parse_slack(tmp_path, pseudo)
    # general/2016-07-27.json holds one message (checked in the file).
    assert len(out.rows) == 1381
    assert [r.reason.split(":")[0] for r in out.rejections] == ["invalid JSON"]
    for row in out.rows:
        for value in row.values():
            assert "@" not in str(value)


# --------------------------------------------------------------------------- robustness


def _corrupt_member(archive_path: Path, member: str, how) -> None:
    """Rewrite the stored bytes of one member in place (the zip's directory stays valid)."""
    with zipfile.ZipFile(archive_path) as archive:
        info = archive.getinfo(member)
    data = bytearray(archive_path.read_bytes())
    offset = info.header_offset
    assert data[offset : offset + 4] == b"PK\x03\x04"
    name_len = int.from_bytes(data[offset + 26 : offset + 28], "little")
    extra_len = int.from_bytes(data[offset + 28 : offset + 30], "little")
    start = offset + 30 + name_len + extra_len
    how(data, start, info.compress_size)
    archive_path.write_bytes(bytes(data))


def test_corrupt_member_of_a_zip_is_rejected_and_the_rest_loads(tmp_path, pseudo):
    export = _write_export(tmp_path / "export")
    for name in ("d", "s"):
        (tmp_path / name).mkdir()
    # Deflated: flipping the first bytes of the compressed data gives an invalid deflate
    # block (zlib.error). Stored: flipping one byte of the data breaks its CRC (BadZipFile).
    deflated, stored = tmp_path / "d" / "deflated.zip", tmp_path / "s" / "stored.zip"
    for target, compression in ((deflated, zipfile.ZIP_DEFLATED), (stored, zipfile.ZIP_STORED)):
        with zipfile.ZipFile(target, "w", compression=compression) as archive:
            for path in sorted(export.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(export).as_posix())

    def flip_head(data, start, size):
        for i in range(start, start + 4):
            data[i] ^= 0xFF

    def flip_middle(data, start, size):
        data[start + size // 2] ^= 0x01

    victim = "general/2024-03-04.json"
    _corrupt_member(deflated, victim, flip_head)
    _corrupt_member(stored, victim, flip_middle)

    for target, reason in ((deflated, "unreadable file: corrupt compressed data"), (stored, "unreadable file: BadZipFile")):
        out = parse_slack(target.parent, pseudo)
        reasons = {r.record_ref: r.reason for r in out.rejections}
        shown = f"{target.name}/{victim}"
        assert reasons[pseudo.ref("slack-pos", shown, "file")] == reason
        # The DM and the group DM still load; the other rejection is the truncated day file.
        assert len(out.rows) == 2 and len(out.rejections) == 2
        assert {r["channel_kind"] for r in out.rows} == {"dm", "group_dm"}


def test_users_without_email_are_counted_not_dropped(tmp_path, pseudo):
    no_email = [{**u, "profile": {k: v for k, v in u["profile"].items() if k != "email"}} for u in USERS]
    no_email.append({"id": "USLACKBOT", "name": "slackbot", "profile": {"real_name": "Slackbot"}})
    root = _write_export(tmp_path / "export")
    (root / "users.json").write_text(json.dumps(no_email))
    out = parse_slack(root, pseudo)
    # U1..U4 have no address (the bot and Slackbot are not people): 4 users. Their messages:
    # general 0 (U1), 1 (U3), 4 (U4); the DM (U2); the group DM (U3). The bot's and the
    # rejected one (bad ts) are not counted.
    assert out.unjoined == {"slack users without e-mail": 4, "messages by users without e-mail": 5}
    assert len(out.rows) == 6 and all(r["sender"] is None for r in out.rows)

    with_email = parse_slack(_write_export(tmp_path / "export2"), pseudo)
    # Only U4 ("ghost") hides its address; it wrote the join notice.
    assert with_email.unjoined == {"slack users without e-mail": 1, "messages by users without e-mail": 1}


def test_only_reads_the_named_exports(tmp_path, pseudo):
    _write_export(tmp_path / "a")
    _write_export(tmp_path / "b")
    _zip_export(tmp_path / "a", tmp_path / "c.zip")
    assert len(parse_slack(tmp_path, pseudo).rows) == 18
    out = parse_slack(tmp_path, pseudo, only={"b"})
    assert len(out.rows) == 6
    assert {r["file_ref"] for r in out.rows} == {
        pseudo.ref("file", n) for n in ("b/general/2024-03-04.json", "b/D1/2024-03-05.json", "b/mpdm-ann--bob--carol-1/2024-03-05.json")
    }
    assert len(parse_slack(tmp_path, pseudo, only={"c.zip"}).rows) == 6
