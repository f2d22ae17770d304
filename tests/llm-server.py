#!/usr/bin/python3
"""tests/llm-server.py: a local stand-in for the LLM providers, for tests.

It speaks both wire protocols as their public references and SDKs describe
them, and refuses what the real services refuse:

  POST /v1/messages            the Anthropic Messages API: x-api-key and
                               anthropic-version: 2023-06-01 are required,
                               the body must be JSON with model, max_tokens
                               and messages (user first, non-empty content,
                               tool_result answering a tool_use of the
                               message before); "stream": true gives
                               server-sent events (message_start,
                               content_block_start/delta/stop with
                               text_delta or input_json_delta, ping,
                               message_delta with stop_reason and usage,
                               message_stop), errors are
                               {"type":"error","error":{"type","message"}}.
  POST /v1/chat/completions    the OpenAI chat completions API: Bearer key
                               (when the server has one), model and
                               messages required, tool messages answering
                               the assistant's tool_calls; streamed as
                               "data: {chunk}" lines, tool_calls arguments
                               in pieces, a usage chunk with empty choices,
                               "data: [DONE]"; errors are {"error":
                               {"message","type","param","code"}}.

Each answer follows the next step of a script the test posts, or, with no
step left, echoes the last user message. Control (not part of either API):

  POST /_script    a JSON array of steps, appended to the queue
  GET  /_requests  every request so far: [{"path", "headers", "body"}]
  POST /_reset     empty the queue and the log

A step is a JSON object:
  "text"          the answer's text (default "echo: <last user text>")
  "chunk"         characters per text delta (default 8)
  "bytes"         write the stream this many bytes at a time (1: every
                  byte on its own, splitting lines and UTF-8 characters)
  "delay_ms"      pause between deltas
  "tool"          {"name", "input"}: after the text, a tool call, its input
                  JSON sent in pieces of "chunk" bytes (mid-token)
  "echo_tool"     answer "the tool said: <tool result>" (the last one sent)
  "status"        answer with this HTTP status and the provider's error
                  body ("error_type", "message"); "retry_after" sets the
                  header
  "error_after"   send this many deltas, then an error event
                  ("error_type", default overloaded_error)
  "stall"         send the start of the stream, then nothing for this
                  many seconds
  "stall_after"   ... or stall after this many deltas
  "no_done"       leave out OpenAI's data: [DONE]
  "fixture"       send tests/llm/<name> verbatim as the stream
  "usage"         [input_tokens, output_tokens] (default from lengths)
  "delay_first_ms"  pause before the first text delta
  "mark"          note in the request's log entry "first_byte_at", the
                  time.monotonic() (CLOCK_MONOTONIC) just after the first
                  text delta was written (for scripts/bench-chat)

Usage: llm-server.py --port-file FILE [--key KEY]
"""
import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

lock = threading.Lock()
queue = []
log = []
KEY = None


class Refused(Exception):
    def __init__(self, status, etype, message):
        super().__init__(message)
        self.status = status
        self.etype = etype
        self.message = message


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content
                       if isinstance(b, dict) and b.get("type") == "text")
    return ""


def check_anthropic(body):
    if not isinstance(body, dict):
        raise Refused(400, "invalid_request_error", "body: must be an object")
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            raise Refused(400, "invalid_request_error",
                          f"{field}: Field required")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        raise Refused(400, "invalid_request_error",
                      "max_tokens: must be a positive integer")
    msgs = body["messages"]
    if not isinstance(msgs, list) or not msgs:
        raise Refused(400, "invalid_request_error",
                      "messages: at least one message is required")
    if msgs[0].get("role") != "user":
        raise Refused(400, "invalid_request_error",
                      "messages: first message must use the \"user\" role")
    uses = set()
    for i, m in enumerate(msgs):
        if m.get("role") not in ("user", "assistant"):
            raise Refused(400, "invalid_request_error",
                          f"messages.{i}.role: Input should be 'user' or "
                          "'assistant'")
        c = m.get("content")
        if isinstance(c, str):
            if not c:
                raise Refused(400, "invalid_request_error",
                              f"messages.{i}: content must be non-empty")
            continue
        if not isinstance(c, list) or not c:
            raise Refused(400, "invalid_request_error",
                          f"messages.{i}: content must be non-empty")
        answered = set()
        for b in c:
            t = b.get("type")
            if t == "text" and not b.get("text"):
                raise Refused(400, "invalid_request_error",
                              f"messages.{i}: text content blocks must be "
                              "non-empty")
            if t == "tool_use":
                if not isinstance(b.get("input"), dict):
                    raise Refused(400, "invalid_request_error",
                                  f"messages.{i}: tool_use.input: must be "
                                  "an object")
                uses.add(b.get("id"))
            if t == "tool_result":
                if b.get("tool_use_id") not in uses:
                    raise Refused(400, "invalid_request_error",
                                  f"messages.{i}: unexpected tool_use_id "
                                  "found in tool_result blocks")
                answered.add(b.get("tool_use_id"))
        if m["role"] == "user":
            uses -= answered
    for t in body.get("tools", []):
        if not TOOL_NAME.match(t.get("name", "")):
            raise Refused(400, "invalid_request_error",
                          "tools.name: String should match pattern "
                          "'^[a-zA-Z0-9_-]{1,64}$'")
        if not isinstance(t.get("input_schema"), dict):
            raise Refused(400, "invalid_request_error",
                          "tools.input_schema: Field required")


def check_openai(body):
    if not isinstance(body, dict):
        raise Refused(400, "invalid_request_error",
                      "We could not parse the JSON body of your request.")
    if "model" not in body:
        raise Refused(400, "invalid_request_error",
                      "you must provide a model parameter")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise Refused(400, "invalid_request_error",
                      "[] is too short - 'messages'")
    pending = set()
    for i, m in enumerate(msgs):
        role = m.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise Refused(400, "invalid_request_error",
                          f"Invalid value: '{role}'")
        if role == "tool":
            if m.get("tool_call_id") not in pending:
                raise Refused(400, "invalid_request_error",
                              "Invalid parameter: messages with role 'tool' "
                              "must be a response to a preceeding message "
                              "with 'tool_calls'.")
            pending.discard(m["tool_call_id"])
        elif pending:
            raise Refused(400, "invalid_request_error",
                          "An assistant message with 'tool_calls' must be "
                          "followed by tool messages responding to each "
                          "'tool_call_id'.")
        if role == "assistant":
            for c in m.get("tool_calls") or []:
                try:
                    json.loads(c["function"]["arguments"])
                except (KeyError, ValueError, TypeError):
                    raise Refused(400, "invalid_request_error",
                                  f"messages.{i}.tool_calls: arguments "
                                  "must be JSON")
                pending.add(c.get("id"))
    for t in body.get("tools", []):
        fn = t.get("function", {})
        if t.get("type") != "function" or not TOOL_NAME.match(
                fn.get("name", "")):
            raise Refused(400, "invalid_request_error",
                          "Invalid 'tools[0].function.name': string does "
                          "not match pattern.")


def last_user_text(body, openai):
    for m in reversed(body.get("messages", [])):
        if m.get("role") == "user":
            t = text_of(m.get("content"))
            if t:
                return t
    return ""


def last_tool_result(body, openai):
    for m in reversed(body.get("messages", [])):
        if openai and m.get("role") == "tool":
            return m.get("content", "")
        if not openai and m.get("role") == "user" and isinstance(
                m.get("content"), list):
            for b in m["content"]:
                if b.get("type") == "tool_result":
                    c = b.get("content")
                    return c if isinstance(c, str) else text_of(c)
    return None


def pieces(s, n):
    n = max(1, n)
    return [s[i:i + n] for i in range(0, len(s), n)] or []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # --- plumbing -----------------------------------------------------------

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, status, obj, extra=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_test")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, openai, status, etype, message, extra=()):
        if openai:
            body = {"error": {"message": message, "type": etype,
                              "param": None, "code": etype}}
        else:
            body = {"type": "error", "error": {"type": etype,
                                               "message": message},
                    "request_id": "req_test"}
        self.send_json(status, body, extra)

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True

    def put(self, data):
        """Write stream bytes, `self.step_bytes` at a time."""
        if isinstance(data, str):
            data = data.encode()
        n = self.step_bytes or len(data)
        for i in range(0, len(data), n):
            part = data[i:i + n]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def event(self, name, obj):
        self.put(f"event: {name}\ndata: {json.dumps(obj, ensure_ascii=False)}"
                 "\n\n")

    def chunk(self, obj):
        self.put(f"data: {json.dumps(obj, ensure_ascii=False)}\n\n")

    def pause(self, step, i):
        if i == 0 and step.get("mark"):
            self.entry["first_byte_at"] = time.monotonic()
        if step.get("delay_ms"):
            time.sleep(step["delay_ms"] / 1000.0)

    def first(self, step):
        if step.get("delay_first_ms"):
            time.sleep(step["delay_first_ms"] / 1000.0)

    # --- requests -----------------------------------------------------------

    def do_GET(self):
        if self.path == "/_requests":
            with lock:
                self.send_json(200, list(log))
            return
        self.send_json(404, {"error": "not found"})

    def do_POST(self):
        raw = self.body()
        if self.path == "/_script":
            with lock:
                queue.extend(json.loads(raw))
            self.send_json(200, {"queued": len(queue)})
            return
        if self.path == "/_reset":
            with lock:
                queue.clear()
                log.clear()
            self.send_json(200, {})
            return
        openai = self.path.endswith("/chat/completions")
        if not openai and self.path != "/v1/messages":
            self.send_json(404, {"error": "not found"})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.entry = {"path": self.path, "body": body}
        with lock:
            log.append(self.entry)
        self.entry["headers"] = {
                k.lower(): ("(set)" if k.lower() in
                            ("x-api-key", "authorization") else v)
                for k, v in self.headers.items()}
        try:
            self.check(openai, body)
        except Refused as r:
            self.refuse(openai, r.status, r.etype, r.message)
            return
        with lock:
            step = queue.pop(0) if queue else {}
        self.step_bytes = step.get("bytes", 0)
        if step.get("status"):
            extra = []
            if step.get("retry_after") is not None:
                extra.append(("retry-after", str(step["retry_after"])))
            default = {429: "rate_limit_error", 401: "authentication_error",
                       529: "overloaded_error"}.get(step["status"],
                                                    "api_error")
            self.refuse(openai, step["status"],
                        step.get("error_type", default),
                        step.get("message", "scripted failure"), extra)
            return
        if not body.get("stream"):
            self.refuse(openai, 400, "invalid_request_error",
                        "this test server only streams")
            return
        self.answer(openai, body, step)

    def check(self, openai, body):
        h = self.headers
        if openai:
            auth = h.get("Authorization", "")
            if KEY and auth != f"Bearer {KEY}":
                raise Refused(401, "invalid_api_key",
                              "You didn't provide an API key. You need to "
                              "provide your API key in an Authorization "
                              "header using Bearer auth (i.e. "
                              "Authorization: Bearer YOUR_KEY)."
                              if not auth else
                              "Incorrect API key provided.")
            if body is None:
                raise Refused(400, "invalid_request_error",
                              "We could not parse the JSON body of your "
                              "request.")
            check_openai(body)
            return
        key = h.get("x-api-key")
        if not key:
            raise Refused(401, "authentication_error",
                          "x-api-key header is required")
        if KEY and key != KEY:
            raise Refused(401, "authentication_error", "invalid x-api-key")
        version = h.get("anthropic-version")
        if not version:
            raise Refused(400, "invalid_request_error",
                          "anthropic-version: header is required")
        if version != "2023-06-01":
            raise Refused(400, "invalid_request_error",
                          f"anthropic-version: '{version}' is not a valid "
                          "version")
        if not (h.get("Content-Type") or "").startswith("application/json"):
            raise Refused(400, "invalid_request_error",
                          "content-type: must be application/json")
        if body is None:
            raise Refused(400, "invalid_request_error",
                          "There was an error parsing the body of your "
                          "request.")
        check_anthropic(body)

    def answer(self, openai, body, step):
        self.start_stream()
        if step.get("fixture"):
            with open(os.path.join(HERE, "llm", step["fixture"]), "rb") as f:
                self.put(f.read())
            self.end_stream()
            return
        text = step.get("text")
        if step.get("echo_tool"):
            text = f"the tool said: {last_tool_result(body, openai)}"
        if text is None:
            text = "echo: " + last_user_text(body, openai)
        deltas = pieces(text, step.get("chunk", 8))
        usage = step.get("usage") or [len(json.dumps(body)) // 4,
                                      len(text) // 4 + 1]
        if openai:
            self.openai_stream(step, deltas, usage)
        else:
            self.anthropic_stream(step, deltas, usage)
        self.end_stream()

    def anthropic_stream(self, step, deltas, usage):
        self.event("message_start", {"type": "message_start", "message": {
            "id": "msg_test", "type": "message", "role": "assistant",
            "content": [], "model": "test-model", "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": usage[0],
                                             "output_tokens": 1}}})
        self.event("content_block_start", {"type": "content_block_start",
                                           "index": 0, "content_block": {
                                               "type": "text", "text": ""}})
        self.event("ping", {"type": "ping"})
        if step.get("stall") and step.get("stall_after") is None:
            time.sleep(step["stall"])
        for i, d in enumerate(deltas):
            if step.get("stall_after") == i:
                time.sleep(step.get("stall", 30))
            if step.get("error_after") is not None and \
                    i == step["error_after"]:
                self.event("error", {"type": "error", "error": {
                    "type": step.get("error_type", "overloaded_error"),
                    "message": step.get("message", "Overloaded")}})
                return
            if i == 0:
                self.first(step)
            self.event("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": d}})
            self.pause(step, i)
        self.event("content_block_stop", {"type": "content_block_stop",
                                          "index": 0})
        stop = "end_turn"
        if step.get("tool"):
            stop = "tool_use"
            tool = step["tool"]
            self.event("content_block_start", {
                "type": "content_block_start", "index": 1,
                "content_block": {"type": "tool_use",
                                  "id": f"toolu_{int(time.time() * 1e6)}",
                                  "name": tool["name"], "input": {}}})
            args = json.dumps(tool.get("input", {}))
            for p in pieces(args, step.get("chunk", 8)):
                self.event("content_block_delta", {
                    "type": "content_block_delta", "index": 1,
                    "delta": {"type": "input_json_delta",
                              "partial_json": p}})
            self.event("content_block_stop", {"type": "content_block_stop",
                                              "index": 1})
        self.event("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": usage[1]}})
        self.event("message_stop", {"type": "message_stop"})

    def openai_stream(self, step, deltas, usage):
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": "test-model",
                "system_fingerprint": "fp_test"}

        def choice(delta, finish=None):
            c = dict(base)
            c["choices"] = [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}]
            return c
        self.put(": keep-alive\n\n")
        self.chunk(choice({"role": "assistant", "content": ""}))
        if step.get("stall") and step.get("stall_after") is None:
            time.sleep(step["stall"])
        for i, d in enumerate(deltas):
            if step.get("stall_after") == i:
                time.sleep(step.get("stall", 30))
            if step.get("error_after") is not None and \
                    i == step["error_after"]:
                self.chunk({"error": {"message": step.get(
                    "message", "The server had an error"),
                    "type": "server_error"}})
                return
            if i == 0:
                self.first(step)
            self.chunk(choice({"content": d}))
            self.pause(step, i)
        finish = "stop"
        if step.get("tool"):
            finish = "tool_calls"
            tool = step["tool"]
            self.chunk(choice({"tool_calls": [{
                "index": 0, "id": f"call_{int(time.time() * 1e6)}",
                "type": "function", "function": {"name": tool["name"],
                                                 "arguments": ""}}]}))
            for p in pieces(json.dumps(tool.get("input", {})),
                            step.get("chunk", 8)):
                self.chunk(choice({"tool_calls": [{
                    "index": 0, "function": {"arguments": p}}]}))
        self.chunk(choice({}, finish))
        u = dict(base)
        u["choices"] = []
        u["usage"] = {"prompt_tokens": usage[0],
                      "completion_tokens": usage[1],
                      "total_tokens": usage[0] + usage[1]}
        self.chunk(u)
        if not step.get("no_done"):
            self.put("data: [DONE]\n\n")


def main():
    global KEY
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--key")
    a = ap.parse_args()
    KEY = a.key
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
