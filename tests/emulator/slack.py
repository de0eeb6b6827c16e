"""The Slack Web API methods the chat puller calls, in Slack's response shapes.

    GET /slack/api/users.list               members[] (profile.email, names, is_bot)
    GET /slack/api/conversations.list       channels[] (is_channel/is_group/is_im/is_mpim...)
    GET /slack/api/conversations.members    members[] (user ids)
    GET /slack/api/conversations.history    top-level messages, newest first
    GET /slack/api/conversations.replies    the parent, then its replies, oldest first

Every method pages with ``limit`` (capped by ``emu.page_size``) and an opaque ``cursor``
returned in ``response_metadata.next_cursor``; history and replies also say ``has_more``.
``oldest`` / ``latest`` are exclusive unless ``inclusive`` is true, as in Slack. Errors are
HTTP 200 with ``{"ok": false, "error": code}`` (the server answers ``invalid_auth`` for a bad
token); 429s come from ``emu.faults``.

Knobs (``emu.state``):
    "slack.me"                 person key of the token's owner (default "ann"): an IM's
                               ``user`` field names the other member
    "slack.hide_text_mentions" set of message ts whose ``text`` loses its ``<@U...>`` markup
                               (the rich-text blocks keep the mention)
    "slack.not_in_channel"     set of channel ids whose history answers ``not_in_channel``
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from decimal import Decimal

from tests.emulator.org import Channel, ChatMessage, Org, Person
from tests.emulator.server import Emulator, Request, Response, handler, ok

TEAM = "T0000ONA1"
BOT_USERS = [
    {   # Slackbot: no e-mail, not a person
        "id": "USLACKBOT", "team_id": TEAM, "name": "slackbot", "deleted": False, "real_name": "Slackbot",
        "is_bot": False, "is_app_user": False,
        "profile": {"real_name": "Slackbot", "display_name": "Slackbot", "first_name": "slackbot",
                    "always_active": True, "team": TEAM},
    },
    {   # An app's bot user: no e-mail, must not count as a person without one
        "id": "U0BOT0001", "team_id": TEAM, "name": "deploybot", "deleted": False,
        "real_name": "Bot-Marker-Deploy", "is_bot": True, "is_app_user": False,
        "profile": {"real_name": "Bot-Marker-Deploy", "display_name": "", "bot_id": "B0BOT0001",
                    "api_app_id": "A0BOT0001", "always_active": True, "team": TEAM},
    },
]
_MARKUP = re.compile(r"<([@#!])([^>|]+)(?:\|[^>]*)?>")


@handler("slack")
def serve(emu: Emulator, request: Request) -> Response:
    method = request.path.strip("/")
    route = ROUTES.get(method)
    if route is None:
        return ok({"ok": False, "error": "unknown_method", "req_method": method})
    return route(emu, request)


# ------------------------------------------------------------------------------ paging


def _cursor(offset: int) -> str:
    return base64.b64encode(f"next_ts:{offset}".encode()).decode()


def _page(emu: Emulator, request: Request, items: list) -> tuple[list, int | None] | Response:
    """(this page, offset of the next page or None), or an ``invalid_cursor`` error."""
    try:
        limit = int(request.query.get("limit") or 100)
    except ValueError:
        return ok({"ok": False, "error": "invalid_limit"})
    size = max(1, min(limit, emu.page_size, 1000))
    offset = 0
    if request.query.get("cursor"):
        try:
            tag, _, number = base64.b64decode(request.query["cursor"]).decode().partition(":")
            offset = int(number)
            assert tag == "next_ts" and offset >= 0
        except Exception:  # noqa: BLE001 - any undecodable cursor
            return ok({"ok": False, "error": "invalid_cursor"})
    page = items[offset:offset + size]
    return page, (offset + size if offset + size < len(items) else None)


# ------------------------------------------------------------------------------ people


def _handle(person: Person) -> str:
    return person.address.split("@")[0]


def user_json(person: Person) -> dict:
    first, _, last = person.name.partition(" ")
    profile = {
        "title": person.department, "phone": "", "skype": "",
        "real_name": person.name, "real_name_normalized": person.name,
        "display_name": first, "display_name_normalized": first,
        "first_name": first, "last_name": last,
        "status_text": "", "status_emoji": "", "avatar_hash": hashlib.md5(person.key.encode()).hexdigest()[:12],
        "team": TEAM,
    }
    if person.slack_email:
        profile["email"] = person.slack_email
    return {
        "id": person.slack_id, "team_id": TEAM, "name": _handle(person), "deleted": False,
        "color": "9f69e7", "real_name": person.name, "tz": "Europe/Berlin",
        "tz_label": "Central European Summer Time", "tz_offset": 7200, "profile": profile,
        "is_admin": False, "is_owner": False, "is_primary_owner": False, "is_restricted": False,
        "is_ultra_restricted": False, "is_bot": False, "is_app_user": False, "updated": 1774000000,
        "is_email_confirmed": person.slack_email is not None, "who_can_share_contact_card": "EVERYONE",
    }


def users_list(emu: Emulator, request: Request) -> Response:
    members = [user_json(p) for p in emu.org.people] + BOT_USERS
    paged = _page(emu, request, members)
    if isinstance(paged, Response):
        return paged
    page, following = paged
    return ok({"ok": True, "members": page, "cache_ts": 1775000000,
               "response_metadata": {"next_cursor": _cursor(following) if following is not None else ""}})


# ------------------------------------------------------------------------ conversations

_TYPES = {"channel": "public_channel", "private_channel": "private_channel", "group_dm": "mpim", "dm": "im"}


def _slack_id(org: Org, who: str | None) -> str | None:
    return org.person(who).slack_id if who and org.is_person(who) else None


def conversation_json(emu: Emulator, channel: Channel) -> dict:
    org = emu.org
    created = 1767225600  # 2026-01-01
    if channel.kind == "dm":
        me = emu.state.get("slack.me", "ann")
        other = next((m for m in channel.members if m != me), channel.members[0])
        return {"id": channel.id, "created": created, "is_archived": False, "is_im": True, "is_org_shared": False,
                "context_team_id": TEAM, "updated": created * 1000, "user": _slack_id(org, other),
                "is_user_deleted": False, "priority": 0}
    private = channel.kind != "channel"
    return {
        "id": channel.id, "name": channel.name, "is_channel": channel.kind == "channel",
        "is_group": private, "is_im": False, "is_mpim": channel.kind == "group_dm",
        "is_private": private, "created": created, "is_archived": False, "is_general": False,
        "unlinked": 0, "name_normalized": channel.name, "is_shared": False, "is_org_shared": False,
        "is_pending_ext_shared": False, "pending_shared": [], "context_team_id": TEAM,
        "updated": created * 1000, "parent_conversation": None,
        "creator": _slack_id(org, channel.members[0]), "is_ext_shared": False, "shared_team_ids": [TEAM],
        "pending_connected_team_ids": [], "is_member": True,
        "topic": {"value": f"Topic of {channel.name}", "creator": _slack_id(org, channel.members[0]), "last_set": created},
        "purpose": {"value": f"Purpose of {channel.name}", "creator": _slack_id(org, channel.members[0]), "last_set": created},
        "previous_names": [], "num_members": len(channel.members),
    }


def conversations_list(emu: Emulator, request: Request) -> Response:
    wanted = set((request.query.get("types") or "public_channel").split(","))
    channels = [conversation_json(emu, c) for c in emu.org.channels if _TYPES[c.kind] in wanted]
    paged = _page(emu, request, channels)
    if isinstance(paged, Response):
        return paged
    page, following = paged
    return ok({"ok": True, "channels": page,
               "response_metadata": {"next_cursor": _cursor(following) if following is not None else ""}})


def _channel(emu: Emulator, request: Request) -> Channel | Response:
    channel = next((c for c in emu.org.channels if c.id == request.query.get("channel")), None)
    return channel if channel is not None else ok({"ok": False, "error": "channel_not_found"})


def conversations_members(emu: Emulator, request: Request) -> Response:
    channel = _channel(emu, request)
    if isinstance(channel, Response):
        return channel
    paged = _page(emu, request, [_slack_id(emu.org, m) for m in channel.members])
    if isinstance(paged, Response):
        return paged
    page, following = paged
    return ok({"ok": True, "members": page,
               "response_metadata": {"next_cursor": _cursor(following) if following is not None else ""}})


# ----------------------------------------------------------------------------- messages


def _blocks(text: str, ts: str) -> list[dict]:
    elements, at = [], 0
    for match in _MARKUP.finditer(text):
        if match.start() > at:
            elements.append({"type": "text", "text": text[at:match.start()]})
        sigil, target = match.group(1), match.group(2)
        if sigil == "@":
            elements.append({"type": "user", "user_id": target})
        elif sigil == "#":
            elements.append({"type": "channel", "channel_id": target})
        else:
            elements.append({"type": "broadcast", "range": target})
        at = match.end()
    if at < len(text):
        elements.append({"type": "text", "text": text[at:]})
    block_id = base64.b32encode(hashlib.sha1(ts.encode()).digest()[:3]).decode().rstrip("=")
    return [{"type": "rich_text", "block_id": block_id,
             "elements": [{"type": "rich_text_section", "elements": elements}]}]


def _replies_of(channel: Channel, parent: ChatMessage) -> list[ChatMessage]:
    return sorted((m for m in channel.messages if m.thread_ts == parent.ts and m.ts != parent.ts),
                  key=lambda m: Decimal(m.ts))


def message_json(emu: Emulator, channel: Channel, message: ChatMessage) -> dict:
    org = emu.org
    text = message.text
    if message.ts in emu.state.get("slack.hide_text_mentions", set()):
        text = re.sub(r"\s*<@[^>]+>", "", text)
    out: dict = {"type": "message", "ts": message.ts}
    user = _slack_id(org, message.user)
    if message.subtype:
        out["subtype"] = message.subtype
    if user:
        out["user"] = user
        out["team"] = TEAM
    elif message.subtype == "bot_message" or not message.subtype:
        out.update({"subtype": "bot_message", "bot_id": "B0BOT0001", "username": "Bot-Marker-Deploy"})
    out["text"] = text
    if message.subtype in (None, "thread_broadcast"):
        out["client_msg_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"slack:{channel.id}:{message.ts}"))
        out["blocks"] = _blocks(message.text, message.ts)  # blocks keep every mention
        if user:
            person = org.person(message.user)
            first = person.name.split()[0]
            out["user_profile"] = {
                "avatar_hash": hashlib.md5(person.key.encode()).hexdigest()[:12], "first_name": first,
                "real_name": person.name, "display_name": first, "team": TEAM, "name": _handle(person),
                "is_restricted": False, "is_ultra_restricted": False,
            }
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
        if message.thread_ts == message.ts:
            replies = _replies_of(channel, message)
            reply_users = list(dict.fromkeys(_slack_id(org, r.user) for r in replies if r.user))
            out.update({
                "reply_count": len(replies), "reply_users_count": len(reply_users),
                "latest_reply": replies[-1].ts if replies else message.ts, "reply_users": reply_users[:5],
                "is_locked": False, "subscribed": False,
            })
        else:
            parent = next((m for m in channel.messages if m.ts == message.thread_ts), None)
            if parent is not None and _slack_id(org, parent.user):
                out["parent_user_id"] = _slack_id(org, parent.user)
    if message.reactions:
        out["reactions"] = [
            {"name": name, "users": [_slack_id(org, u) for u in users], "count": len(users)}
            for name, users in message.reactions.items()
        ]
    return out


def _bounds(request: Request) -> tuple[Decimal | None, Decimal | None, bool] | Response:
    values = []
    for name in ("oldest", "latest"):
        raw = request.query.get(name)
        try:
            values.append(Decimal(raw) if raw not in (None, "") else None)
        except ArithmeticError:
            return ok({"ok": False, "error": f"invalid_ts_{name}"})
    inclusive = (request.query.get("inclusive") or "").lower() in ("1", "true")
    return values[0], values[1], inclusive


def _within(ts: str, oldest: Decimal | None, latest: Decimal | None, inclusive: bool) -> bool:
    value = Decimal(ts)
    if oldest is not None and (value < oldest or (value == oldest and not inclusive)):
        return False
    if latest is not None and (value > latest or (value == latest and not inclusive)):
        return False
    return True


def _messages_answer(emu: Emulator, request: Request, items: list[dict]) -> Response:
    paged = _page(emu, request, items)
    if isinstance(paged, Response):
        return paged
    page, following = paged
    body = {"ok": True, "messages": page, "has_more": following is not None}
    if following is not None:  # Slack leaves response_metadata out on the last page here
        body["response_metadata"] = {"next_cursor": _cursor(following)}
    return body


def conversations_history(emu: Emulator, request: Request) -> Response:
    channel = _channel(emu, request)
    if isinstance(channel, Response):
        return channel
    if channel.id in emu.state.get("slack.not_in_channel", set()):
        return ok({"ok": False, "error": "not_in_channel"})
    bounds = _bounds(request)
    if isinstance(bounds, Response):
        return bounds
    top = [m for m in channel.messages
           if (not m.thread_ts or m.thread_ts == m.ts or m.subtype == "thread_broadcast") and _within(m.ts, *bounds)]
    top.sort(key=lambda m: Decimal(m.ts), reverse=True)
    body = _messages_answer(emu, request, [message_json(emu, channel, m) for m in top])
    if isinstance(body, Response):
        return body
    body.update({"pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0})
    return ok(body)


def conversations_replies(emu: Emulator, request: Request) -> Response:
    channel = _channel(emu, request)
    if isinstance(channel, Response):
        return channel
    bounds = _bounds(request)
    if isinstance(bounds, Response):
        return bounds
    parent = next((m for m in channel.messages if m.ts == request.query.get("ts")), None)
    if parent is None:
        return ok({"ok": False, "error": "thread_not_found"})
    # The parent always comes first; the bounds select among the replies.
    thread = [parent] + [r for r in _replies_of(channel, parent) if _within(r.ts, *bounds)]
    body = _messages_answer(emu, request, [message_json(emu, channel, m) for m in thread])
    return body if isinstance(body, Response) else ok(body)


ROUTES = {
    "users.list": users_list,
    "conversations.list": conversations_list,
    "conversations.members": conversations_members,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
}
