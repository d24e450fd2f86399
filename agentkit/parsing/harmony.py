"""gpt-oss Harmony output, read leniently and incrementally from decoded text (reference §3).

    <|channel|>analysis<|message|>Need to search.<|end|><|start|>assistant<|channel|>commentary
    to=functions.search <|constrain|>json<|message|>{"query": "TODO"}<|call|>

- A message is a header (role, `<|channel|>`, recipient `to=…` in either position, content type with or
  without `<|constrain|>`), `<|message|>`, then content up to `<|end|>`, `<|call|>`, `<|return|>`, the end
  of text, or the next `<|start|>`/`<|channel|>` (a missing terminator).
- The completion usually starts after a prefilled `<|start|>assistant`, so the first header may lack a role.
- analysis text is reasoning; final text and recipient-less commentary (preambles) are content, joined with
  a newline between messages; a message to `functions.NAME` is a call whose content is JSON arguments,
  streamed as they arrive and decoded at the end (bad or cut-off JSON: an invalid call, never dropped).
  A message to any other recipient (`browser.search`, `python`) is reported as an invalid call.
- Lenient where openai_harmony raises: stray `<|call|>`/`<|end|>`/`<|return|>` are skipped, free text or
  text without any Harmony token is content, and a header that never reaches `<|message|>` (a newline,
  512 characters with its tokens, or a stop token first) is read as text, unless it addresses `functions.NAME`:
  then it is an invalid call (its arguments cannot be told from the header), which the model is asked to resend.
  The cap keeps a flood of `<|channel|>` or `<|constrain|>` linear: the header is text long before it is large.

Where agentkit deliberately differs from upstream parsers (tests/parsing/test_upstream_vectors.py names each):
openai_harmony raises on a header without `<|message|>` and on text before the first header; vLLM returns a
call to a non-`functions.` recipient as nothing and a call with non-JSON arguments as that raw string. Here
the first two are read leniently and the last two become invalid calls, so the model hears what went wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.parsing._events import Emitter, ParsedCall

__all__ = ["HarmonyMachine", "parse_header"]

_START = "<|start|>"
_CHANNEL = "<|channel|>"
_MESSAGE = "<|message|>"
_CONSTRAIN = "<|constrain|>"
_STOPS = frozenset({"<|end|>", "<|call|>", "<|return|>", "<|endoftext|>"})
_IGNORED = frozenset({"<|startoftext|>"})
_KNOWN = _STOPS | _IGNORED | {_START, _CHANNEL, _MESSAGE, _CONSTRAIN}
_TOKEN = re.compile(r"<\|[a-z_]+\|>")
_MAX_TOKEN = max(len(t) for t in _KNOWN)
_PREFIXES = {t[:k] for t in _KNOWN for k in range(1, len(t))}
_MAX_HEADER = 512
_ROLES = frozenset({"assistant", "system", "developer", "user", "tool"})
_CHANNEL_PART = re.compile(r"<\|channel\|>([^\s<]*)")
_VALID_NAME = re.compile(r"[^\s{}<>\"'|]+")
_PEERS = frozenset({"assistant", "user", "all"})


def parse_header(text: str) -> tuple[str | None, str | None, str | None]:
    """(channel, recipient, content type) from a header's text, in either recipient position."""
    channel: str | None = None
    match = _CHANNEL_PART.search(text)
    if match:
        channel = match.group(1) or None
        text = text[: match.start()] + " " + text[match.end() :]
    parts = text.replace(_CONSTRAIN, " " + _CONSTRAIN + " ").split()
    if parts and parts[0] in _ROLES:
        parts.pop(0)
    recipient: str | None = None
    ctype: str | None = None
    constrained = False
    for part in parts:
        if part == _CONSTRAIN:
            constrained = True
        elif part.startswith("to="):
            recipient = part[3:] or recipient
        elif constrained or part in ("json", "code") or recipient is not None:
            ctype = part
            constrained = False
        else:
            recipient = part
    return channel, recipient, ctype


class HarmonyMachine:
    """Reads a gpt-oss completion into events."""

    def __init__(self, out: Emitter) -> None:
        self._out = out
        self._buf = ""
        self._pos = 0
        self._final = False
        self._state = "header"
        self._head: list[str] = []  # header text so far, tokens included (a list: flooded headers stay linear)
        self._head_len = 0
        self._head_blank = True  # the header so far is only whitespace
        self._has_token = False  # the header holds a Harmony token (it is not free text)
        self._kind = "content"  # where this message's text goes: content, reasoning, call, other
        self._channel: str | None = None
        self._recipient: str | None = None
        self._ctype: str | None = None
        self._index = 0
        self._body: list[str] = []
        self._wrote = False  # this message has produced text
        self._seen = {"content": False, "reasoning": False}

    def feed(self, delta: str) -> None:
        self._buf = self._buf[self._pos :] + delta
        self._pos = 0
        self._run()

    def close(self) -> None:
        self._final = True
        self._run()
        if self._state == "header":
            self._header_as_text()
        if self._state == "content":
            self._end_message(complete=False)

    # ---- scanning --------------------------------------------------------------------------------------

    def _run(self) -> None:
        buf = self._buf
        while True:
            match = _TOKEN.search(buf, self._pos)
            while match is not None and match.group() not in _KNOWN:
                match = _TOKEN.search(buf, match.end())  # an unknown <|x|> is text
            end = match.start() if match else len(buf) if self._final else len(buf) - self._held(buf)
            if end > self._pos:
                self._text(buf[self._pos : end])
                self._pos = end
            if match is None or self._pos < match.start():
                return
            self._pos = match.end()
            self._token(match.group())

    def _held(self, buf: str) -> int:
        limit = min(_MAX_TOKEN - 1, len(buf) - self._pos)
        for k in range(limit, 0, -1):
            if buf[-k:] in _PREFIXES:
                return k
        return 0

    def _text(self, text: str) -> None:
        if self._state == "content":
            self._write(text)
            return
        if not self._has_token and self._head_blank:
            lead = len(text) - len(text.lstrip())  # whitespace between messages is no header yet
            self._add_head(text[:lead])
            text = text[lead:]
            if not text:
                return
        cut = text.find("\n")
        room = _MAX_HEADER - self._head_len
        if cut < 0 and len(text) <= room:
            self._add_head(text)
            return
        split = min(cut if cut >= 0 else len(text), max(room, 0))
        self._add_head(text[:split])
        self._header_as_text()
        if self._state != "content":
            self._open(None, None, None)
        self._write(text[split:])

    def _token(self, token: str) -> None:
        if token in _IGNORED:
            return
        if self._state == "content":
            if token in (_MESSAGE, _CONSTRAIN):
                self._write(token)
                return
            self._end_message(complete=token in _STOPS)
            if token == _CHANNEL:  # a missing <|end|><|start|>assistant: a new message begins
                self._add_head(token)
                self._has_token = True
            return
        if token == _MESSAGE:
            self._begin_message()
        elif token in (_CHANNEL, _CONSTRAIN):
            if not self._has_token and self._head_blank:
                self._take_head()  # whitespace before a header's first token means nothing
            if self._head_len + len(token) > _MAX_HEADER:  # a header this long is text, and so is the token
                self._header_as_text()
                self._token(token)
                return
            self._add_head(token)
            self._has_token = True
        else:  # <|start|> or a stop token before <|message|>: what came before was text
            self._header_as_text()
            if self._state == "content":
                self._end_message(complete=True)

    def _add_head(self, text: str) -> None:
        if text:
            self._head.append(text)
            self._head_len += len(text)
            self._head_blank = self._head_blank and text.isspace()

    def _take_head(self) -> str:
        head = "".join(self._head)
        self._head, self._head_len, self._head_blank = [], 0, True
        return head

    # ---- messages --------------------------------------------------------------------------------------

    def _header_as_text(self) -> None:
        """A header that never reached <|message|>: its text becomes the content of a message."""
        head, had_token = self._take_head(), self._has_token
        self._has_token = False
        if not had_token and not head.strip():
            return  # only whitespace between messages
        recipient = parse_header(head)[1] if had_token else None
        if recipient is not None and recipient.startswith("functions."):
            # A call whose <|message|> is missing (openai_harmony raises): its arguments cannot be told from its
            # header, so it goes back to the model as an invalid call rather than as header text in the answer.
            self._out.invalid(
                head,
                f"the call to {recipient} has no <|message|> after its header; write "
                f"<|channel|>commentary to={recipient} <|constrain|>json<|message|>{{...arguments...}}<|call|>",
                name=recipient[len("functions.") :],
            )
            return
        channel: str | None = None
        if had_token:
            match = _CHANNEL_PART.search(head)
            if match:
                channel = match.group(1) or None
                head = head[: match.start()] + head[match.end() :]
            head = head.replace(_CONSTRAIN, "").strip()
            if head.split(" ", 1)[0] in _ROLES:
                head = head.split(" ", 1)[1] if " " in head else ""
        self._open(channel, None, None)
        self._write(head)

    def _begin_message(self) -> None:
        channel, recipient, ctype = parse_header(self._take_head())
        self._has_token = False
        self._open(channel, recipient, ctype)

    def _open(self, channel: str | None, recipient: str | None, ctype: str | None) -> None:
        self._channel, self._recipient, self._ctype = channel, recipient, ctype
        self._body = []
        self._wrote = False
        self._state = "content"
        if recipient is not None and recipient not in _PEERS:
            name = recipient[len("functions.") :] if recipient.startswith("functions.") else ""
            if _VALID_NAME.fullmatch(name):
                self._kind = "call"
                self._index = self._out.start(name)
            else:
                self._kind = "other"
        else:
            self._kind = "reasoning" if channel == "analysis" else "content"

    def _write(self, text: str) -> None:
        if not text:
            return
        kind = self._kind
        if kind == "call":
            self._body.append(text)
            self._out.arguments(self._index, text)
        elif kind == "other":
            self._body.append(text)
        else:
            if not self._wrote and self._seen[kind]:
                text = "\n" + text
            self._wrote = self._seen[kind] = True
            if kind == "reasoning":
                self._out.reasoning(text)
            else:
                self._out.content(text)

    def _end_message(self, *, complete: bool) -> None:
        self._state = "header"
        body = "".join(self._body)
        recipient = self._recipient or ""
        if self._kind == "other":
            self._out.invalid(
                body,
                f"recipient {recipient!r} is not a function tool; call functions.NAME on the commentary channel",
                name=recipient,
            )
        elif self._kind == "call":
            self._finish_call(recipient[len("functions.") :], body, complete)
        self._kind = "content"

    def _finish_call(self, name: str, body: str, complete: bool) -> None:
        args: Any
        reason = ""
        if self._ctype is not None and "json" not in self._ctype:
            reason = f"content type {self._ctype!r} is not JSON; send the arguments as a JSON object"
        elif not body.strip():
            args = {}
            self._out.arguments(self._index, "{}")
        else:
            try:
                args = json.loads(body)
            except (ValueError, RecursionError) as exc:
                cut = "" if complete else "the call was cut off before its arguments ended; "
                reason = f"{cut}arguments are not valid JSON ({exc})"
            else:
                if not isinstance(args, dict):
                    reason = f"arguments must be a JSON object, not {type(args).__name__}"
        if reason:
            self._out.invalid(body, reason, name=name, index=self._index)
        else:
            self._out.finish(ParsedCall(name=name, arguments=args, raw=body, index=self._index, complete=complete))
