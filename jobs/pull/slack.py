"""Slack Web API puller: the chat metadata an export holds, read live (docs/pull.md).

Methods (GET ``{host}/<method>``, bearer token, cursor paging through
``response_metadata.next_cursor`` everywhere):

* ``users.list``: Slack user id -> pseudonym of ``profile.email`` (``slack_people``, shared
  with the export parser: a guest at another domain becomes that domain's ``x_`` pseudonym;
  an upper-case profile address gives the same pseudonym as the lower-case one). Users
  without an e-mail (bots excepted) and the messages they wrote are counted in
  ``outcome.unjoined``; their rows are still produced with ``sender`` None, as for exports.
  Real and display names leave only as keyed refs (``outcome.name_refs``), as for exports.
* ``conversations.list`` (public and private channels, group DMs, DMs) and, for DMs and group
  DMs only, ``conversations.members`` (an IM's ``user`` field names only one of its two
  members). Channel members are not stored, as in the export parser.
* ``conversations.history`` for the top-level messages (and ``thread_broadcast`` replies),
  ``conversations.replies`` for every parent with ``reply_count > 0``. Rows come from
  ``jobs.sources.chat.message_row``: text is read only for ``<@U...>`` mentions (``<!here>``
  and ``<!channel>`` are not people), system subtypes give rows that silver drops.

Slack answers errors as HTTP 200 ``{"ok": false, "error": code}``: the auth codes raise
``AuthError``, ``not_in_channel`` / ``channel_not_found`` reject that one conversation (the
others are still read), any other code raises ``ApiError``. Rate limits are HTTP 429 with
``Retry-After``: ``ApiClient`` waits and retries.

State (``ctx.state``; names hold keyed references only, never a channel id or name):

* ``slack:<ref of conversation>`` = the newest top-level ``ts`` returned by history. Without
  it, history is read within ``ctx.window`` (``oldest`` = window start minus 1 us, since
  Slack's bounds are exclusive, ``latest`` = window end); with it, ``oldest=<cursor>``.
  An unreadable cursor is dropped and the conversation re-read within the window (a resync).
* ``thread:<ref of conversation>:<thread ref>`` = ``<parent ts>;<newest reply ts seen>``,
  where the thread ref is the rows' ``thread_ref``. History only returns messages newer than
  the cursor, so a new reply to an older thread would be missed: every pass (except
  ``--weeks`` backfills) polls ``conversations.replies?oldest=<newest reply ts seen>`` for
  the threads whose parent is at most 14 days older than the later of the cursor and the
  window end (or the pull's now, when the window reaches ahead). Entries are dropped after
  those 14 days.

Still missed (documented limits of polling): replies to a thread whose parent is more than 14
days old; the first reply to a message that had no replies when it was read, once it is older
than the cursor (unless sent to the channel too: ``thread_broadcast``); reactions added,
messages edited or deleted after a message was read (history does not return old messages
again; re-reading them would cost one history walk per pass).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from jobs.pull.base import PullContext, PullOutcome
from jobs.pull.http import ApiClient, ApiError, AuthError
from jobs.sources.base import Rejection, to_utc
from jobs.sources.chat import (
    NO_EMAIL_MESSAGES, NO_EMAIL_USERS, Conversation, bot_ids, canonical_ts, message_author, message_row,
    slack_name_refs, slack_people, unaddressed_users,
)

log = logging.getLogger("ona.pull.slack")

DEFAULT_BASE_URL = "https://slack.com/api"
PAGE_LIMIT = 200  # Slack recommends at most 200 per page
CONVERSATION_TYPES = "public_channel,private_channel,mpim,im"
THREAD_HORIZON = timedelta(days=14)
AUTH_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope",
})
# A conversation that cannot be read is rejected on its own; the others are still pulled.
UNREADABLE_CONVERSATION = frozenset({"not_in_channel", "channel_not_found"})
_KINDS_WITH_MEMBERS = ("dm", "group_dm")
_CODE = re.compile(r"^[a-z0-9_.:,-]{1,80}$")
_UNKNOWN_MESSAGES = "messages by users not in users.list"


class SlackError(ApiError):
    """An ``ok: false`` answer that is not an auth error; ``code`` is Slack's error code."""

    def __init__(self, method: str, code: str):
        super().__init__(f"slack: {method} answered error {code}")
        self.code = code


# ---------------------------------------------------------------------------- transport


def _code(value: Any) -> str:
    """Slack's error code, or a placeholder when the server sent something unexpected."""
    return value if isinstance(value, str) and _CODE.match(value) else "unknown_error"


def call(client: ApiClient, method: str, params: dict[str, Any]) -> dict:
    """One Web API call; the decoded body when ``ok`` is true (see the module docstring)."""
    _, body = client.get(method, params)
    if not isinstance(body, dict):
        raise ApiError(f"slack: {method} did not answer a JSON object")
    if body.get("ok") is True:
        return body
    code = _code(body.get("error"))
    if code in AUTH_ERRORS:
        needed = body.get("needed")
        hint = f" (needs scope {needed})" if code == "missing_scope" and _code(needed) == needed else ""
        raise AuthError(f"slack: {method} refused the token: {code}{hint}")
    raise SlackError(method, code)


def pages(client: ApiClient, method: str, params: dict[str, Any], key: str) -> Iterator[Any]:
    """Every item under ``key`` of every page of a cursor-paged method."""
    cursor: str | None = None
    used: set[str] = set()
    while True:
        body = call(client, method, {**params, "cursor": cursor} if cursor else params)
        items = body.get(key)
        yield from items if isinstance(items, list) else []
        metadata = body.get("response_metadata")
        cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        if not cursor or not isinstance(cursor, str):
            return
        if cursor in used:  # a server handing out the same cursor again would loop forever
            raise ApiError(f"slack: {method} repeated a paging cursor")
        used.add(cursor)


# ------------------------------------------------------------------------------- pull


def pull_chat(ctx: PullContext) -> PullOutcome:
    """Every message (with replies) of every conversation the token can read, as bronze/chat
    rows; see the module docstring for cursors and limits."""
    pseudo, client = ctx.pseudo, ctx.client
    outcome = PullOutcome()

    users = [u for u in pages(client, "users.list", {"limit": PAGE_LIMIT}, "members") if isinstance(u, dict)]
    people = slack_people(users, pseudo)
    outcome.name_refs |= slack_name_refs(users, pseudo)
    bots = bot_ids(users)  # bots, apps and Slackbot are not people: never counted
    no_email = unaddressed_users(users, people)
    if no_email:
        outcome.unjoined[NO_EMAIL_USERS] = len(no_email)

    reader = _Reader(ctx, people, bots, no_email)
    conversations = pages(client, "conversations.list",
                          {"types": CONVERSATION_TYPES, "limit": PAGE_LIMIT, "exclude_archived": "false"}, "channels")
    count = 0
    for entry in conversations:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            continue
        count += 1
        outcome.extend(reader.conversation(entry))
    reader.sweep()
    log.info("slack chat: %d conversations, %d rows, %d rejections, %d requests",
             count, len(outcome.rows), len(outcome.rejections), client.sent)
    return outcome


def conversation_kind(entry: dict) -> str:
    if entry.get("is_im"):
        return "dm"
    if entry.get("is_mpim"):
        return "group_dm"
    if entry.get("is_private") or entry.get("is_group"):
        return "private_channel"
    return "channel"


def _epoch(moment: datetime) -> str:
    moment = to_utc(moment)
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    seconds = delta.days * 86400 + delta.seconds
    return f"{seconds}.{delta.microseconds:06d}"


def _number(ts: Any) -> Decimal | None:
    parsed = canonical_ts(ts)
    return Decimal(parsed[0]) if parsed else None


class _Reader:
    """Reads one conversation at a time; its state changes apply only when it succeeded."""

    def __init__(self, ctx: PullContext, people: dict, bots: set[str], no_email: set[str]):
        self.ctx, self.pseudo, self.client = ctx, ctx.pseudo, ctx.client
        self.people, self.bots, self.no_email = people, bots, no_email
        # Thread horizons count back from the end of the window, or from now when the window
        # reaches ahead (default windows include scheduled meetings).
        window_end = _number(_epoch(min(ctx.window[1], ctx.now))) if ctx.window else None
        self.window_end = window_end

    # -------------------------------------------------------------- one conversation
    def conversation(self, entry: dict) -> PullOutcome:
        channel_id = entry["id"]
        conv_ref = self.pseudo.ref("conversation", channel_id)
        cursor_key, thread_prefix = f"slack:{conv_ref}", f"thread:{conv_ref}:"
        scoped = {k: v for k, v in self.ctx.state.items() if k == cursor_key or k.startswith(thread_prefix)}
        out = PullOutcome()
        try:
            kind = conversation_kind(entry)
            members: list[str] = []
            if kind in _KINDS_WITH_MEMBERS:
                for user_id in pages(self.client, "conversations.members",
                                     {"channel": channel_id, "limit": PAGE_LIMIT}, "members"):
                    person = self.people.get(user_id) if isinstance(user_id, str) else None
                    if person and person not in members:
                        members.append(person)
            self._read(Conversation(channel_id, kind, members), conv_ref, cursor_key, thread_prefix, scoped, out)
        except SlackError as exc:
            if exc.code not in UNREADABLE_CONVERSATION:
                raise
            rejected = PullOutcome()
            rejected.rejections.append(
                Rejection(self.pseudo.ref("slack-api", conv_ref, "conversation"), f"conversation not readable: {exc.code}")
            )
            return rejected
        for key in [k for k in self.ctx.state if k == cursor_key or k.startswith(thread_prefix)]:
            del self.ctx.state[key]
        self.ctx.state.update(scoped)
        return out

    def _read(self, conv: Conversation, conv_ref: str, cursor_key: str, thread_prefix: str,
              scoped: dict[str, str], out: PullOutcome) -> None:
        ctx, channel_id = self.ctx, conv.channel_id
        cursor = scoped.get(cursor_key)
        newest = _number(cursor) if cursor is not None else None
        if cursor is not None and newest is None:
            del scoped[cursor_key]  # unreadable cursor: read the window again
            cursor = None
            out.resyncs += 1
        windowed = cursor is None or ctx.explicit_window
        params: dict[str, Any] = {"channel": channel_id, "limit": PAGE_LIMIT}
        if windowed and ctx.window:
            params["oldest"] = _epoch(ctx.window[0] - timedelta(microseconds=1))  # bounds are exclusive
            params["latest"] = _epoch(ctx.window[1])
        elif not windowed:
            params["oldest"] = cursor
        seen: set[str] = set()

        parents: list[str] = []
        for index, message in enumerate(pages(self.client, "conversations.history", params, "messages")):
            ts = self._emit(message, conv, conv_ref, f"history:{index}", seen, out)
            if ts is None:
                continue
            if newest is None or Decimal(ts) > newest:
                newest = Decimal(ts)
            thread = message.get("thread_ts")
            if _count(message.get("reply_count")) > 0 and (thread in (None, "") or _same(thread, ts)):
                parents.append(ts)
        if newest is not None:
            scoped[cursor_key] = _format(newest)

        reference = max(x for x in (newest, self.window_end, Decimal(0)) if x is not None)
        horizon = reference - Decimal(int(THREAD_HORIZON.total_seconds()))

        # Threads already tracked (parents older than the cursor): poll for new replies.
        if not ctx.explicit_window:
            for key in [k for k in scoped if k.startswith(thread_prefix)]:
                parent, last = _thread_value(scoped[key])
                if parent is None or parent < horizon:
                    del scoped[key]
                    continue
                if _format(parent) in parents:
                    continue
                try:
                    newest_reply = self._replies(conv, conv_ref, _format(parent),
                                                 {"oldest": _format(last)}, last, seen, out)
                except SlackError as exc:
                    if exc.code != "thread_not_found":
                        raise
                    del scoped[key]  # parent deleted
                    continue
                scoped[key] = f"{_format(parent)};{_format(max(last, newest_reply))}"

        # Threads whose parent this pass read.
        for parent_ts in parents:
            bounds = {"latest": params["latest"]} if "latest" in params else {}
            parent = Decimal(parent_ts)
            newest_reply = self._replies(conv, conv_ref, parent_ts, bounds, parent, seen, out)
            if parent >= horizon:
                key = f"{thread_prefix}{self.pseudo.ref('thread', channel_id, parent_ts)}"
                previous = _thread_value(scoped.get(key, ""))[1] or parent
                scoped[key] = f"{parent_ts};{_format(max(newest_reply, previous))}"

    def _replies(self, conv: Conversation, conv_ref: str, parent_ts: str, bounds: dict[str, str],
                 after: Decimal, seen: set[str], out: PullOutcome) -> Decimal:
        """Emit the replies of one thread newer than ``after``; the newest reply ts seen."""
        newest = after
        params = {"channel": conv.channel_id, "ts": parent_ts, "limit": PAGE_LIMIT, **bounds}
        for index, message in enumerate(pages(self.client, "conversations.replies", params, "messages")):
            number = _number(message.get("ts")) if isinstance(message, dict) else None
            if number is not None and (_format(number) == parent_ts or number <= after):
                continue  # the parent (every answer starts with it), or a reply already read
            ts = self._emit(message, conv, conv_ref, f"replies:{parent_ts}:{index}", seen, out)
            if ts is not None and Decimal(ts) > newest:
                newest = Decimal(ts)
        return newest

    def _emit(self, message: Any, conv: Conversation, conv_ref: str, position: str,
              seen: set[str], out: PullOutcome) -> str | None:
        """Append the row (or rejection) of one message; its canonical ts when it has one."""
        if not isinstance(message, dict):
            out.rejections.append(Rejection(self.pseudo.ref("slack-api", conv_ref, position), "message is not a JSON object"))
            return None
        parsed = canonical_ts(message.get("ts"))
        if parsed and parsed[0] in seen:  # a thread_broadcast is in history and in its thread
            return parsed[0]
        row = message_row(message, conv, self.people, None, self.pseudo)
        if isinstance(row, str):
            raw = message.get("ts")
            out.rejections.append(
                Rejection(self.pseudo.ref("slack-api", conv_ref, raw if isinstance(raw, str) and raw else position), row)
            )
            return None
        out.rows.append(row)
        seen.add(parsed[0])
        # Counted as the export parser counts them (system subtypes included).
        author = message_author(message)
        if isinstance(author, str) and author in self.no_email:
            out.unjoined[NO_EMAIL_MESSAGES] = out.unjoined.get(NO_EMAIL_MESSAGES, 0) + 1
        elif isinstance(author, str) and author not in self.people and author not in self.bots:
            # Slack Connect users of another workspace are not in users.list.
            out.unjoined[_UNKNOWN_MESSAGES] = out.unjoined.get(_UNKNOWN_MESSAGES, 0) + 1
        return parsed[0]

    # -------------------------------------------------------------- all conversations
    def sweep(self) -> None:
        """Drop thread entries past the horizon, also those of conversations no longer listed."""
        if self.window_end is None:
            return
        horizon = self.window_end - Decimal(int(THREAD_HORIZON.total_seconds()))
        for key in [k for k in self.ctx.state if k.startswith("thread:")]:
            parent, _ = _thread_value(self.ctx.state[key])
            if parent is None or parent < horizon:
                del self.ctx.state[key]


def _thread_value(value: str) -> tuple[Decimal | None, Decimal | None]:
    parent_raw, _, last_raw = value.partition(";")
    parent = _number(parent_raw) if parent_raw else None
    last = _number(last_raw) if last_raw else None
    return parent, (last if last is not None else parent)


def _format(number: Decimal) -> str:
    return f"{number:.6f}"


def _same(thread_ts: Any, ts: str) -> bool:
    parsed = canonical_ts(thread_ts)
    return bool(parsed) and parsed[0] == ts


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


KINDS = {"chat": pull_chat}
