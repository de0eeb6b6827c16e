"""The Slack Web API puller against the emulator (tests/emulator/slack.py): paging, retries,
auth errors, identity, threads, incremental passes and the leak scan."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

import pytest

import tests.emulator.slack as slack_emulator  # noqa: F401 - registers the "slack" handler
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.pull.base import PullContext
from jobs.pull.http import ApiClient, ApiError, AuthError
from jobs.pull.slack import DEFAULT_BASE_URL, KINDS, SlackError, call, pull_chat
from tests.emulator.org import W14, W15, ChatMessage, _person, leak_markers, make_org
from tests.emulator.server import TOKEN, Emulator

PSEUDO = Pseudonymiser(b"slack-test-key", frozenset({"example.org"}))
WINDOW = (W14, W15 + timedelta(weeks=1))  # 2026-03-30 .. 2026-04-13
WINDOW_OLDEST = "1774828799.999999"  # window start minus 1 us: Slack's oldest is exclusive
WINDOW_LATEST = "1776038400.000000"
PARENT = "1774861200.000100"  # ann's thread parent in C0000001, two replies


@pytest.fixture
def org():
    return make_org()


@pytest.fixture
def emu(org):
    with Emulator(org, page_size=2) as emulator:
        yield emulator


def context(emu, state=None, token=TOKEN, waits=None, window=WINDOW) -> PullContext:
    client = ApiClient("slack", emu.base("slack"), token=token,
                       sleep=waits.append if waits is not None else (lambda s: None))
    return PullContext(client=client, pseudo=PSEUDO, state={} if state is None else state, window=window)


def me(org, key):
    return PSEUDO.person(org.person(key).address)


def by_id(rows):
    return {row["record_id"]: row for row in rows}


def rid(channel, ts):
    return PSEUDO.ref("slack", channel, ts)


def calls(emu, since=0):
    return Counter(r.path.strip("/") for r in emu.log[since:])


def test_module_contract():
    assert DEFAULT_BASE_URL == "https://slack.com/api"
    assert KINDS == {"chat": pull_chat}


def test_first_pass_follows_every_page(emu):
    ctx = context(emu)
    out = pull_chat(ctx)
    # By hand from org.py, 2 items a page: users 7 people + Slackbot + a bot = 9 -> 5 pages;
    # 4 conversations -> 2; members only for the DM (2 -> 1 page) and the group DM (3 -> 2);
    # history C0000001 has 3 top-level messages (parent, join, gus) -> 2 pages, the other
    # three conversations 1 page each; the thread's replies answer is parent + 2 -> 2 pages.
    assert calls(emu) == {"users.list": 5, "conversations.list": 2, "conversations.members": 3,
                          "conversations.history": 5, "conversations.replies": 2}
    assert ctx.client.sent == 17
    assert {r.query["channel"] for r in emu.requests("slack", "conversations.members")} == {"D0000001", "M0000001"}
    assert {r.query["types"] for r in emu.requests("slack", "conversations.list")} == {"public_channel,private_channel,mpim,im"}
    for request in emu.requests("slack", "conversations.history"):
        assert (request.query["oldest"], request.query["latest"]) == (WINDOW_OLDEST, WINDOW_LATEST)

    expected = {rid("C0000001", ts) for ts in (PARENT, "1774861260.000200", "1774861320.000300",
                                               "1774861380.000400", "1774864800.000500")}
    expected |= {rid("G0000001", "1774947600.000100"), rid("D0000001", "1775034000.000100"),
                 rid("D0000001", "1775034060.000200"), rid("M0000001", "1775466000.000100")}
    assert set(by_id(out.rows)) == expected and len(out.rows) == 9
    assert out.rejections == [] and out.resyncs == 0
    kinds = {row["conversation_ref"]: row["channel_kind"] for row in out.rows}
    assert kinds == {PSEUDO.ref("conversation", "C0000001"): "channel",
                     PSEUDO.ref("conversation", "G0000001"): "private_channel",
                     PSEUDO.ref("conversation", "D0000001"): "dm",
                     PSEUDO.ref("conversation", "M0000001"): "group_dm"}
    assert all(row["file_ref"] is None for row in out.rows)

    conv_c = PSEUDO.ref("conversation", "C0000001")
    thread_key = f"thread:{conv_c}:{PSEUDO.ref('thread', 'C0000001', PARENT)}"
    assert ctx.state == {
        f"slack:{conv_c}": "1774864800.000500",
        f"slack:{PSEUDO.ref('conversation', 'G0000001')}": "1774947600.000100",
        f"slack:{PSEUDO.ref('conversation', 'D0000001')}": "1775034060.000200",
        f"slack:{PSEUDO.ref('conversation', 'M0000001')}": "1775466000.000100",
        thread_key: f"{PARENT};1774861320.000300",
    }


def test_rate_limits_wait_retry_after_and_503_is_retried(emu, org):
    clean = pull_chat(context(emu))
    with Emulator(make_org(), page_size=2) as faulty:
        faulty.faults.rate_limit_every = 4
        faulty.faults.retry_after = "3"
        faulty.faults.unavailable_once = {"conversations.replies", "users.list"}
        waits: list[float] = []
        ctx = context(faulty, waits=waits)
        out = pull_chat(ctx)
    assert set(by_id(out.rows)) == set(by_id(clean.rows))
    assert ctx.client.requests["retry 429"] >= 4
    assert waits.count(3.0) == ctx.client.requests["retry 429"]
    assert ctx.client.requests["retry 503"] == 2
    assert len(waits) == ctx.client.requests["retry 429"] + 2
    assert ctx.client.sent == 17 + ctx.client.requests["retry 429"] + 2


def test_invalid_auth_is_an_auth_error(emu):
    emu.faults.reject_token = True
    with pytest.raises(AuthError) as raised:
        pull_chat(context(emu))
    assert "invalid_auth" in str(raised.value) and TOKEN not in str(raised.value)
    emu.faults.reject_token = False
    with pytest.raises(AuthError, match="invalid_auth") as raised:
        pull_chat(context(emu, token="xoxb-wrong-secret"))
    assert "xoxb-wrong-secret" not in str(raised.value)


def test_identity_from_profile_email(emu, org):
    # A guest whose Slack profile is at the partner's domain, posting in the channel.
    guest = _person(8, "gil", "Gilberto", "Guestwick", "Partner", None, W14.date(),
                    slack_email="Gilberto.Guestwick@Vendor-Firm.example")
    org.people.append(guest)
    org.channels[0].members.append("gil")
    org.post("C0000001", ChatMessage("1774900000.000100", "gil", "Text-Marker-Guest hi <@U00000003>"))
    rows = by_id(pull_chat(context(emu)).rows)
    # Catriona's Slack profile e-mail is upper case: same pseudonym as her address.
    assert org.person("cat").slack_email == "CATRIONA.VELLUMSHADE@example.org"
    assert rows[rid("C0000001", "1774861320.000300")]["sender"] == PSEUDO.person("catriona.vellumshade@example.org")
    assert rows[rid("C0000001", PARENT)]["sender"] == me(org, "ann")
    guest_row = rows[rid("C0000001", "1774900000.000100")]
    assert guest_row["sender"] == PSEUDO.person("paloma.partner@vendor-firm.example")
    assert guest_row["sender"].startswith("x_")
    assert guest_row["mentions"] == [me(org, "cat")]


def test_user_without_email_is_counted_with_her_message(emu, org):
    out = pull_chat(context(emu))
    gus_row = by_id(out.rows)[rid("C0000001", "1774864800.000500")]
    assert gus_row["sender"] is None
    # Slackbot and the app's bot have no e-mail either: they are not counted.
    assert out.unjoined == {"slack users without e-mail": 1, "messages by users without e-mail": 1}


def test_dm_members_both_present(emu, org):
    out = pull_chat(context(emu))
    # The IM entry names only dan (the token is ann's): members come from conversations.members.
    dm_rows = [r for r in out.rows if r["channel_kind"] == "dm"]
    assert len(dm_rows) == 2
    for row in dm_rows:
        assert sorted(row["members"]) == sorted([me(org, "ann"), me(org, "dan")])
    group = next(r for r in out.rows if r["channel_kind"] == "group_dm")
    assert sorted(group["members"]) == sorted(me(org, k) for k in ("bob", "eve", "fay"))
    assert all(r["members"] == [] for r in out.rows if r["channel_kind"] in ("channel", "private_channel"))


def test_im_entry_names_one_member():
    org = make_org()
    with Emulator(org) as emu:
        entry = slack_emulator.conversation_json(emu, org.channels[2])
    assert entry["is_im"] and entry["user"] == "U00000004" and "name" not in entry


def test_mentions_from_text_and_blocks_and_here_is_no_person(emu, org):
    hidden = "1774947600.000100"  # eve's private message mentions fay
    emu.state["slack.hide_text_mentions"] = {hidden}
    rows = by_id(pull_chat(context(emu)).rows)
    # "<@U00000002> and <!here>": bob once (text and blocks), <!here> is nobody.
    assert rows[rid("C0000001", PARENT)]["mentions"] == [me(org, "bob")]
    assert rows[rid("C0000001", "1774861320.000300")]["mentions"] == [me(org, "dan")]
    # The text lost its markup: the mention comes from the rich-text blocks only.
    served = slack_emulator.message_json(emu, org.channels[1], org.channels[1].messages[0])
    assert "<@" not in served["text"] and "U00000006" in repr(served["blocks"])
    assert rows[rid("G0000001", hidden)]["mentions"] == [me(org, "fay")]


def test_replies_have_parent_author_and_reactions(emu, org):
    rows = by_id(pull_chat(context(emu)).rows)
    parent = rows[rid("C0000001", PARENT)]
    assert parent["is_thread_reply"] is False and parent["parent_author"] is None
    assert sorted(parent["reactors"]) == sorted([me(org, "bob"), me(org, "cat")])
    for ts in ("1774861260.000200", "1774861320.000300"):
        reply = rows[rid("C0000001", ts)]
        assert reply["is_thread_reply"] is True
        assert reply["parent_author"] == me(org, "ann")
        assert reply["thread_ref"] == parent["thread_ref"] == PSEUDO.ref("thread", "C0000001", PARENT)
    assert rows[rid("C0000001", "1774861260.000200")]["reactors"] == [me(org, "ann")]
    # A system subtype still gives a row (silver drops it), as for exports.
    join = rows[rid("C0000001", "1774861380.000400")]
    assert join["subtype"] == "channel_join" and join["sender"] == me(org, "dan")


def test_second_pass_returns_only_what_is_new(emu, org):
    state: dict[str, str] = {}
    first = pull_chat(context(emu, state))
    assert len(first.rows) == 9
    cursors = dict(state)

    new_message = org.post("C0000001", ChatMessage("1775100000.000100", "bob", "Text-Marker-Late <@U00000001>"))
    new_reply = org.post("C0000001", ChatMessage("1775100060.000200", "dan", "Text-Marker-Late-Reply",
                                                 thread_ts=PARENT))
    since = len(emu.log)
    ctx = context(emu, state)
    second = pull_chat(ctx)

    assert set(by_id(second.rows)) == {rid("C0000001", new_message.ts), rid("C0000001", new_reply.ts)}
    reply = by_id(second.rows)[rid("C0000001", new_reply.ts)]
    assert reply["is_thread_reply"] and reply["parent_author"] == me(org, "ann")
    assert by_id(second.rows)[rid("C0000001", new_message.ts)]["mentions"] == [me(org, "ann")]
    # users 5 + list 2 + members 3 + one history page per conversation 4 + one poll of the thread.
    assert calls(emu, since) == {"users.list": 5, "conversations.list": 2, "conversations.members": 3,
                                 "conversations.history": 4, "conversations.replies": 1}
    assert ctx.client.sent == 15
    for request in emu.log[since:]:
        if request.path == "/conversations.history":
            cursor = cursors[f"slack:{PSEUDO.ref('conversation', request.query['channel'])}"]
            assert request.query["oldest"] == cursor and "latest" not in request.query
    poll = next(r for r in emu.log[since:] if r.path == "/conversations.replies")
    assert (poll.query["ts"], poll.query["oldest"]) == (PARENT, "1774861320.000300")

    conv_c = PSEUDO.ref("conversation", "C0000001")
    assert state[f"slack:{conv_c}"] == new_message.ts
    assert state[f"thread:{conv_c}:{PSEUDO.ref('thread', 'C0000001', PARENT)}"] == f"{PARENT};{new_reply.ts}"

    # Nothing changed: a third pass reads nothing.
    assert pull_chat(context(emu, state)).rows == []


def test_broadcast_reply_is_read_once(emu, org):
    state: dict[str, str] = {}
    pull_chat(context(emu, state))
    org.post("C0000001", ChatMessage("1775200000.000100", "cat", "Text-Marker-Broadcast",
                                     thread_ts=PARENT, subtype="thread_broadcast"))
    out = pull_chat(context(emu, state))
    assert [r["record_id"] for r in out.rows] == [rid("C0000001", "1775200000.000100")]
    assert out.rows[0]["is_thread_reply"] and out.rows[0]["subtype"] == "thread_broadcast"


def test_thread_polling_stops_after_14_days(emu):
    state: dict[str, str] = {}
    pull_chat(context(emu, state))
    assert any(k.startswith("thread:") for k in state)
    since = len(emu.log)
    later = (WINDOW[0] + timedelta(days=30), WINDOW[1] + timedelta(days=30))
    pull_chat(context(emu, state, window=later))
    assert "conversations.replies" not in calls(emu, since)
    assert not any(k.startswith("thread:") for k in state)


def test_unreadable_conversation_is_rejected_alone(emu):
    emu.state["slack.not_in_channel"] = {"G0000001"}
    ctx = context(emu)
    out = pull_chat(ctx)
    conv_g = PSEUDO.ref("conversation", "G0000001")
    assert [(r.record_ref, r.reason) for r in out.rejections] == [
        (PSEUDO.ref("slack-api", conv_g, "conversation"), "conversation not readable: not_in_channel")]
    assert len(out.rows) == 8 and f"slack:{conv_g}" not in ctx.state


def test_unreadable_cursor_resyncs_the_window(emu):
    state: dict[str, str] = {}
    first = pull_chat(context(emu, state))
    conv_d = PSEUDO.ref("conversation", "D0000001")
    state[f"slack:{conv_d}"] = "not-a-ts"
    since = len(emu.log)
    out = pull_chat(context(emu, state))
    assert out.resyncs == 1
    request = next(r for r in emu.log[since:] if r.path == "/conversations.history" and r.query["channel"] == "D0000001")
    assert (request.query["oldest"], request.query["latest"]) == (WINDOW_OLDEST, WINDOW_LATEST)
    # Same record_ids as the first pass: bronze merges them.
    assert set(by_id(out.rows)) == {rid for rid, row in by_id(first.rows).items() if row["channel_kind"] == "dm"}
    assert state[f"slack:{conv_d}"] == "1775034060.000200"


def test_nothing_leaks(emu, org, caplog):
    caplog.set_level(logging.DEBUG)
    emu.state["slack.not_in_channel"] = {"M0000001"}
    state: dict[str, str] = {}
    first = pull_chat(context(emu, state))
    org.post("C0000001", ChatMessage("1775100000.000100", "gus", "Text-Marker-Late <@U00000001> <!channel>"))
    org.post("C0000001", ChatMessage("1775100060.000200", "dan", "Text-Marker-Late-Reply", thread_ts=PARENT))
    second = pull_chat(context(emu, state))
    assert first.rows and second.rows and first.rejections
    markers = leak_markers(org) + ["Text-Marker-Late", "Bot-Marker-Deploy", "deploybot", "Slackbot",
                                   "Topic of", "Purpose of"]
    markers += [c.id for c in org.channels] + [p.slack_id for p in org.people] + [TOKEN]
    haystack = "\n".join([
        repr(first.rows), repr(second.rows), repr(first.rejections), repr(second.rejections),
        repr(sorted(state.items())), repr(first.unjoined),
        # Our loggers only: httpx itself logs every full URL (query included) at INFO.
        *(r.getMessage() for r in caplog.records if r.name.startswith("ona")),
    ]).lower()
    leaked = [m for m in markers if m.lower() in haystack]
    assert leaked == []


class _Answers:
    """A stand-in client answering one fixed body (Slack errors are HTTP 200)."""

    def __init__(self, body):
        self.body = body

    def get(self, method, params=None, allow=()):
        return 200, self.body


@pytest.mark.parametrize("code", ["invalid_auth", "not_authed", "account_inactive", "token_revoked",
                                  "token_expired", "missing_scope"])
def test_auth_error_codes(code):
    body = {"ok": False, "error": code, "needed": "channels:history", "provided": "users:read"}
    with pytest.raises(AuthError, match=code) as raised:
        call(_Answers(body), "conversations.history", {})
    assert ("needs scope channels:history" in str(raised.value)) == (code == "missing_scope")


def test_other_errors_are_api_errors():
    with pytest.raises(SlackError, match="invalid_cursor") as raised:
        call(_Answers({"ok": False, "error": "invalid_cursor"}), "users.list", {})
    assert isinstance(raised.value, ApiError) and raised.value.code == "invalid_cursor"
    with pytest.raises(ApiError, match="unknown_error"):
        call(_Answers({"ok": False, "error": "<script>Text-Marker</script>"}), "users.list", {})
    with pytest.raises(ApiError):
        call(_Answers(["not", "an", "object"]), "users.list", {})


def test_weeks_backfill_reads_the_window_even_with_a_cursor(emu):
    state: dict[str, str] = {}
    pull_chat(context(emu, state))
    saved = dict(state)
    since = len(emu.log)
    ctx = context(emu, state)
    ctx.explicit_window = True
    out = pull_chat(ctx)
    assert len(out.rows) == 9  # read again: bronze merges them on record_id
    for request in emu.log[since:]:
        if request.path == "/conversations.history":
            assert (request.query["oldest"], request.query["latest"]) == (WINDOW_OLDEST, WINDOW_LATEST)
    replies = [r for r in emu.log[since:] if r.path == "/conversations.replies"]
    assert replies and all("oldest" not in r.query for r in replies)  # no polling of tracked threads
    assert state == saved
