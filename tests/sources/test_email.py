from datetime import datetime, timezone
from pathlib import Path

import pytest

from jobs.privacy.pseudonym import Pseudonymiser
from jobs.sources.email import parse_email

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "email"
ROW_KEYS = {"record_id", "file_ref", "message_ref", "thread_ref", "sent_at", "sender", "to", "cc", "bcc", "n_recipients"}


@pytest.fixture
def pseudo():
    return Pseudonymiser(key=b"test-key")


INBOX = """\
From ann@example.org Mon Mar  4 09:00:00 2024
From: Ann Example <ann@example.org>
To: Bob <bob@example.org>, carol@partner.com
Cc: "Dave, D." <dave@example.org>, undisclosed-recipients:;
Bcc: erin@example.org
Subject: Budget secret subject
Date: Mon, 04 Mar 2024 10:00:00 +0100
Message-ID: <m1@example.org>

Body text that must never be read.
>From the body, an escaped line.

From bob@example.org Mon Mar  4 10:00:00 2024
From: bob@example.org
To: ann@example.org
Subject: Re: Budget
Date: Mon, 4 Mar 2024 09:30:00 -0000
Message-ID: <m2@example.org>
In-Reply-To: <m1@example.org>
References: <m1@example.org>

Reply body.

From carol@partner.com Mon Mar  4 11:00:00 2024
From: carol@partner.com
To: ann@example.org
Subject: this one has no Date

No date here.
"""

# No .mbox suffix: recognised by its first line. Holds a second copy of <m1@example.org>.
OLD_MAIL = """\
From ann@example.org Mon Mar  4 09:00:01 2024
From: Ann Example <ann@example.org>
To: Bob <bob@example.org>,
 carol@partner.com
Cc: "Dave, D." <dave@example.org>
Date: Mon, 04 Mar 2024 10:00:00 +0100
Message-ID:   <m1@example.org>

copy
From nobody Tue Mar  5 07:00:00 2024
From: Nobody <nobody>
To: ann@example.org
Date: Tue, 05 Mar 2024 08:00:00 +0100

sender without a usable address
"""

NOTE_EML = (
    "From: =?utf-8?q?Z=C3=B6e?= <zoe@example.org>\r\n"
    "To: ann@example.org\r\n"
    "Subject: note\r\n"
    "Date: Tue, 05 Mar 2024 08:00:00 GMT\r\n"
    "\r\n"
    "body\r\n"
)

# The same message without Message-ID, found again elsewhere with another folding of To.
NOTE_COPY_EML = (
    "From: =?utf-8?q?Z=C3=B6e?= <zoe@example.org>\n"
    "Subject: note\n"
    "To:\n ann@example.org\n"
    "Date: Tue, 05 Mar 2024 08:00:00 GMT\n"
    "\n"
    "body\n"
)

MAILDIR_GMAIL = """\
From: frank@example.org
To: ann@example.org
Date: Tue, 05 Mar 2024 12:00:00 +0000
Message-ID: <g1@mail.gmail.com>
X-GM-THRID: 1234567890123456789

hello
"""

MAILDIR_NO_ZONE = """\
From: frank@example.org
To: ann@example.org
Date: Tue, 05 Mar 2024 13:00:00
Message-ID: <g2@mail.gmail.com>

no zone
"""


def _mail_folder(root: Path) -> Path:
    (root / "inbox.mbox").write_text(INBOX)
    (root / "archive").mkdir()
    (root / "archive" / "old-mail").write_text(OLD_MAIL)
    (root / "note.eml").write_bytes(NOTE_EML.encode())
    (root / "copies").mkdir()
    (root / "copies" / "note-copy.eml").write_text(NOTE_COPY_EML)
    (root / "README.txt").write_text("Notes: neither an mbox nor an .eml, so not read\n")
    maildir = root / "Maildir"
    for part in ("cur", "new", "tmp"):
        (maildir / part).mkdir(parents=True)
    (maildir / "new" / "1709640000.M1P1.host").write_text(MAILDIR_GMAIL)
    (maildir / "cur" / "1709643600.M2P2.host:2,S").write_text(MAILDIR_NO_ZONE)
    return root


def test_counts_and_accounting(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    # inbox 3 + old-mail 2 + note 1 + note-copy 1 + maildir 2; README is not mail.
    assert out.read == 9
    assert len(out.rows) == 6
    assert sorted(r.reason for r in out.rejections) == [
        "missing or unparseable Date",
        "missing or unparseable Date",
        "no usable sender address",
    ]
    assert all(set(row) == ROW_KEYS for row in out.rows)


def test_first_message_values(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    m1 = [r for r in out.rows if r["file_ref"] == pseudo.ref("file", "inbox.mbox")][0]
    assert m1["record_id"] == pseudo.ref("email", "<m1@example.org>")
    assert m1["message_ref"] == pseudo.ref("message-id", "<m1@example.org>")
    assert m1["sent_at"] == datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)
    assert m1["sender"] == pseudo.person("ann@example.org")
    assert m1["to"] == [pseudo.person("bob@example.org"), pseudo.person("carol@partner.com")]
    assert m1["cc"] == [pseudo.person("dave@example.org")]  # the empty group adds nobody
    assert m1["bcc"] == [pseudo.person("erin@example.org")]
    assert m1["n_recipients"] == 3  # distinct To + Cc; Bcc forms no ties


def test_reply_threads_with_its_root_and_minus_zero_zone_is_utc(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    by_id = {r["message_ref"]: r for r in out.rows}
    root = by_id[pseudo.ref("message-id", "<m1@example.org>")]
    reply = by_id[pseudo.ref("message-id", "<m2@example.org>")]
    assert reply["sent_at"] == datetime(2024, 3, 4, 9, 30, tzinfo=timezone.utc)
    assert reply["thread_ref"] == pseudo.ref("thread", "<m1@example.org>")
    assert root["thread_ref"] == reply["thread_ref"]


def test_duplicate_message_id_in_two_files_gives_one_record_id(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    copies = [r for r in out.rows if r["record_id"] == pseudo.ref("email", "<m1@example.org>")]
    assert len(copies) == 2
    assert {c["file_ref"] for c in copies} == {pseudo.ref("file", "inbox.mbox"), pseudo.ref("file", "archive/old-mail")}
    # The copy in old-mail is the one a recipient kept (no Bcc header); Bcc is not counted.
    by_file = {c["file_ref"]: c["n_recipients"] for c in copies}
    assert by_file == {pseudo.ref("file", "inbox.mbox"): 3, pseudo.ref("file", "archive/old-mail"): 3}


def test_missing_message_id_still_dedups_across_mailboxes(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    notes = [r for r in out.rows if r["sender"] == pseudo.person("zoe@example.org")]
    assert len(notes) == 2
    assert notes[0]["record_id"] == notes[1]["record_id"]
    assert notes[0]["message_ref"] is None and notes[0]["thread_ref"] is None
    assert notes[0]["sent_at"] == datetime(2024, 3, 5, 8, 0, tzinfo=timezone.utc)


def test_maildir_gmail_thread_and_zone_less_date(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    gmail = [r for r in out.rows if r["message_ref"] == pseudo.ref("message-id", "<g1@mail.gmail.com>")]
    assert len(gmail) == 1
    assert gmail[0]["thread_ref"] == pseudo.ref("thread", "1234567890123456789")
    assert gmail[0]["file_ref"] == pseudo.ref("file", "Maildir/1709640000.M1P1.host")
    no_zone = pseudo.ref("email-pos", "Maildir/1709643600.M2P2.host", 0)
    assert [r.reason for r in out.rejections if r.record_ref == no_zone] == ["missing or unparseable Date"]


def test_only_reads_the_named_units(tmp_path, pseudo):
    from jobs.sources.email import landed_units

    folder = _mail_folder(tmp_path)
    (folder / "Maildir" / "tmp" / "1709650000.M3P3.host").write_text(MAILDIR_GMAIL)  # being delivered
    units = [rel for rel, _ in landed_units(folder)]
    # The README is no unit; the maildir's tmp/ is not read; a maildir message is named by key.
    assert sorted(units) == sorted([
        "Maildir/1709640000.M1P1.host", "Maildir/1709643600.M2P2.host", "archive/old-mail",
        "copies/note-copy.eml", "inbox.mbox", "note.eml",
    ])
    out = parse_email(folder, pseudo, only={"inbox.mbox", "Maildir/1709643600.M2P2.host"})
    assert out.read == 3 + 1
    assert {r.file_ref for r in out.rejections} | {r["file_ref"] for r in out.rows} == {
        pseudo.ref("file", "inbox.mbox"), pseudo.ref("file", "Maildir/1709643600.M2P2.host")
    }
    assert parse_email(folder, pseudo, only=set()).read == 0


def test_rejection_refs_point_at_file_and_position(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    refs = {r.record_ref: r for r in out.rejections}
    no_date = refs[pseudo.ref("email-pos", "inbox.mbox", 2)]
    assert no_date.reason == "missing or unparseable Date"
    assert no_date.file_ref == pseudo.ref("file", "inbox.mbox")
    assert refs[pseudo.ref("email-pos", "archive/old-mail", 1)].reason == "no usable sender address"


def test_external_recipients_are_domains_and_still_counted(tmp_path):
    pseudo = Pseudonymiser(key=b"test-key", internal_domains=frozenset({"example.org"}))
    out = parse_email(_mail_folder(tmp_path), pseudo)
    m1 = [r for r in out.rows if r["file_ref"] == pseudo.ref("file", "inbox.mbox")][0]
    assert m1["to"][1].startswith("x_") and m1["to"][0].startswith("p_")
    assert m1["n_recipients"] == 3


def test_no_raw_content_leaves_the_parser(tmp_path, pseudo):
    out = parse_email(_mail_folder(tmp_path), pseudo)
    texts = [str(v) for row in out.rows for v in row.values()]
    texts += [r.reason for r in out.rejections] + [r.record_ref for r in out.rejections]
    for text in texts:
        for needle in ("@", "example.org", "partner.com", "Ann", "Budget", "secret", "Body", "Zöe", "m1"):
            assert needle not in text


# --------------------------------------------------------------------------- real data

real = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data absent")


@real
def test_gmail_takeout_140_messages(pseudo):
    out = parse_email(DATA / "gmail-takeout-mbox", pseudo)
    # SOURCE.md: 140 messages, one recipient each, 7 distinct senders, 2016-06-22 .. 2020-08-13.
    assert out.read == 140 and len(out.rows) == 140 and out.rejections == []
    assert {r["n_recipients"] for r in out.rows} == {1}
    assert len({r["sender"] for r in out.rows}) == 7
    assert len({r["record_id"] for r in out.rows}) == 140
    # Checked in the file: the earliest Date is 18:39:19 +0000 on 2016-06-22, the latest 14:36:03 +0000 on 2020-08-13.
    assert min(r["sent_at"] for r in out.rows) == datetime(2016, 6, 22, 18, 39, 19, tzinfo=timezone.utc)
    assert max(r["sent_at"] for r in out.rows) == datetime(2020, 8, 13, 14, 36, 3, tzinfo=timezone.utc)
    assert all(r["thread_ref"] for r in out.rows)  # every message has X-GM-THRID


@real
def test_mailparser_eml_quirks(pseudo):
    out = parse_email(DATA / "mailparser-eml", pseudo)
    assert out.read == 10 and len(out.rows) == 10
    # mail_test_9 has 21 recipients; _12, _14 and _18 have no Message-ID.
    assert max(r["n_recipients"] for r in out.rows) == 21
    assert sum(r["message_ref"] is None for r in out.rows) == 3
    # mail_test_19: From "alice@example.com <bob@example.com>": the address is bob's.
    t19 = [r for r in out.rows if r["record_id"] == pseudo.ref("email", "<test-email-as-name@example.com>")][0]
    assert t19["sender"] == pseudo.person("bob@example.com")
    assert t19["n_recipients"] == 3
    # mail_test_17: the whole From is one RFC 2047 encoded word holding a bare address.
    t17 = [r for r in out.rows if r["sent_at"] == datetime(2022, 10, 10, 20, 11, 32, tzinfo=timezone.utc)][0]
    assert t17["sender"] == pseudo.person("notificaccion-clientes@bbva.mx")


@real
def test_content_length_mbox(tmp_path, pseudo):
    # Linked alone: its folder also holds MimeKit's summary files, which look like mbox too.
    (tmp_path / "cl.mbox").symlink_to(DATA / "mimekit-mbox" / "mbox" / "content-length.mbox.txt")
    out = parse_email(tmp_path, pseudo)
    assert out.read == 29
    # Message 7 is from "develop!nextmime@ebony": no usable domain, so no sender.
    assert [(r.record_ref, r.reason) for r in out.rejections] == [
        (pseudo.ref("email-pos", "cl.mbox", 6), "no usable sender address")
    ]


@real
def test_whole_email_folder_never_crashes_and_leaks_nothing(pseudo):
    out = parse_email(DATA, pseudo)
    assert out.read == len(out.rows) + len(out.rejections) > 140
    for row in out.rows:
        assert row["sent_at"].tzinfo is timezone.utc
        for value in row.values():
            assert "@" not in str(value)
    for rejection in out.rejections:
        assert "@" not in rejection.reason
