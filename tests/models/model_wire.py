"""Wire helpers for the backend tests: a scripted HTTP server on 127.0.0.1 that speaks the OpenAI
chat-completions protocol (JSON and SSE) and Bedrock's ConverseStream (AWS event-stream frames), plus a
helper that drains a model's stream."""

from __future__ import annotations

import binascii
import json
import queue
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200  # 0: close the connection without answering
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """Answers each request with the next scripted reply; records what it was asked."""

    def __init__(self) -> None:
        self.replies: queue.Queue[Reply] = queue.Queue()
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; a body ends when the socket closes

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Request(self.command, self.path, headers, body))
                try:
                    reply = server.replies.get_nowait()
                except queue.Empty:
                    reply = Reply(599, {"Content-Type": "text/plain"}, b"no reply scripted")
                time.sleep(reply.delay)
                if reply.status == 0:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- OpenAI chat completions --------------------------------------------------------------

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.replies.put(Reply(status, {"Content-Type": "application/json", **(headers or {})}, data))

    def sse(self, chunks: Sequence[dict[str, Any] | str], *, done: bool = True) -> None:
        """Each dict becomes one `data:` event; a str is written as a raw line (to break the protocol)."""
        lines = []
        for chunk in chunks:
            lines.append(chunk if isinstance(chunk, str) else "data: " + json.dumps(chunk))
        if done:
            lines.append("data: [DONE]")
        body = "".join(line + "\n\n" for line in lines).encode()
        self.replies.put(Reply(200, {"Content-Type": "text/event-stream"}, body))

    # ---- Bedrock ConverseStream ---------------------------------------------------------------

    def events(self, frames: Sequence[bytes]) -> None:
        self.replies.put(Reply(200, {"Content-Type": "application/vnd.amazon.eventstream"}, b"".join(frames)))

    def aws_error(self, status: int, code: str, message: str) -> None:
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"}
        self.replies.put(Reply(status, headers, json.dumps({"message": message}).encode()))


def _frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude, CRC, string headers, payload, CRC."""
    encoded = b""
    for name, value in headers.items():
        raw = value.encode()
        encoded += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def event_frame(event_type: str, body: dict[str, Any]) -> bytes:
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": "application/json"}
    return _frame(headers, json.dumps(body).encode())


def exception_frame(exception_type: str, message: str) -> bytes:
    headers = {":message-type": "exception", ":exception-type": exception_type, ":content-type": "application/json"}
    return _frame(headers, json.dumps({"message": message}).encode())


def converse_frames(*blocks: dict[str, Any], stop: str = "end_turn", usage: tuple[int, int] = (10, 5)) -> list[bytes]:
    """A whole ConverseStream answer from simple block descriptions:
    {"text": [...]}, {"reasoning": [...], "signature": "..."}, {"tool": (id, name, [input fragments])}."""
    frames = [event_frame("messageStart", {"role": "assistant"})]
    for index, block in enumerate(blocks):
        if "tool" in block:
            call_id, name, fragments = block["tool"]
            start = {"start": {"toolUse": {"toolUseId": call_id, "name": name}}, "contentBlockIndex": index}
            frames.append(event_frame("contentBlockStart", start))
            for fragment in fragments:
                delta = {"delta": {"toolUse": {"input": fragment}}, "contentBlockIndex": index}
                frames.append(event_frame("contentBlockDelta", delta))
        for text in block.get("text", []):
            frames.append(event_frame("contentBlockDelta", {"delta": {"text": text}, "contentBlockIndex": index}))
        for text in block.get("reasoning", []):
            delta = {"delta": {"reasoningContent": {"text": text}}, "contentBlockIndex": index}
            frames.append(event_frame("contentBlockDelta", delta))
        if "signature" in block:
            delta = {"delta": {"reasoningContent": {"signature": block["signature"]}}, "contentBlockIndex": index}
            frames.append(event_frame("contentBlockDelta", delta))
        frames.append(event_frame("contentBlockStop", {"contentBlockIndex": index}))
    frames.append(event_frame("messageStop", {"stopReason": stop}))
    tokens = {"inputTokens": usage[0], "outputTokens": usage[1], "totalTokens": sum(usage)}
    frames.append(event_frame("metadata", {"usage": tokens, "metrics": {"latencyMs": 12}}))
    return frames


def chunk(
    *,
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One chat.completion.chunk."""
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    delta.update(extra)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": usage,
    }
