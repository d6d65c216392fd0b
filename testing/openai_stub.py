"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It answers each request with the next scripted reply (or one built by a function of the request), after an optional
fixed latency. It is used to reproduce what real models do wrong (unknown tools, empty replies, `content: null`)
and to measure concurrency against a server with a known delay.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Reply = dict[str, Any]


class _Server(ThreadingHTTPServer):
    """socketserver listens with a backlog of 5: the 6th of many clients connecting at once has its connection
    dropped and retried by the kernel a second later, which a real API server does not do."""

    request_queue_size = 128


def tool_call_reply(name: str, arguments: dict[str, Any], content: str | None = None, call_id: str = "call_1") -> Reply:
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        ],
    }


def text_reply(content: str | None) -> Reply:
    return {"role": "assistant", "content": content}


class OpenAIStub:
    """`with OpenAIStub(replies) as stub:` then point ChatOpenAI at `stub.base_url`."""

    def __init__(
        self,
        replies: list[Reply] | Callable[[dict[str, Any]], Reply],
        latency_s: float = 0.0,
        port: int = 0,
        echo_auth_error: bool = False,
        errors: list[tuple[int, dict[str, str]]] | None = None,
        hang_s: float = 0.0,
    ) -> None:
        self.replies, self.latency_s = replies, latency_s
        self.echo_auth_error = (
            echo_auth_error  # answer 400 with the Authorization header in the error, as bad proxies do
        )
        self.errors = list(errors or [])  # (status, headers) answered to the first requests, e.g. (429, Retry-After)
        self.hang_s = hang_s  # accept, then say nothing for this long (a server that hangs)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            if callable(self.replies):
                return self.replies(request)
            index = min(len(self.requests) - 1, len(self.replies) - 1)
            return self.replies[index]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
            disable_nagle_algorithm = True  # otherwise delayed ACKs add ~40 ms to every kept-alive request

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if stub.echo_auth_error:
                    message = f"bad request from {self.headers.get('Authorization')}"
                    data = json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if stub.hang_s:
                    time.sleep(stub.hang_s)
                with stub._lock:
                    failure = stub.errors.pop(0) if stub.errors else None
                if failure is not None:
                    stub.requests.append(request)
                    status, headers = failure
                    data = json.dumps({"error": {"message": f"stub status {status}", "type": "rate_limit"}}).encode()
                    self.send_response(status)
                    for name, value in {**headers, "Content-Type": "application/json"}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                reply = stub._next_reply(request)
                time.sleep(stub.latency_s)
                finish = "tool_calls" if reply.get("tool_calls") else "stop"
                body = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.get("model", "stub"),
                    "choices": [{"index": 0, "message": reply, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                }
                if request.get("stream"):
                    self._stream(body, reply, finish)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: Reply, finish: str) -> None:
                delta: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
                if reply.get("tool_calls"):
                    delta["tool_calls"] = [{**c, "index": i} for i, c in enumerate(reply["tool_calls"])]
                chunks = [
                    {
                        **body,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                    },
                    {
                        **body,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                        "usage": body["usage"],
                    },
                ]
                payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
                data = payload.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def reference_brain(policy_file: Path) -> Callable[[dict[str, Any]], Reply]:
    """Answer chat-completions requests the way the offline reference model would under one policy (benchmarks)."""
    from langchain_core.messages import AIMessage, convert_to_messages

    from agent.models.offline.model import ReferenceChatModel
    from agent.policy.compiled import compile_policy_file

    policy = compile_policy_file(policy_file)
    model = ReferenceChatModel().for_policy(policy.offer_plan, policy.max_discount_percent)

    def answer(request: dict[str, Any]) -> Reply:
        message = model._generate(convert_to_messages(request["messages"])).generations[0].message
        assert isinstance(message, AIMessage)
        if message.tool_calls:
            call = message.tool_calls[0]
            return tool_call_reply(call["name"], call["args"], call_id=call["id"] or "call_1")
        return text_reply(str(message.content))

    return answer


def serve_forever(port: int, latency_s: float, policy_file: Path) -> None:
    """`python -m testing.openai_stub PORT LATENCY_S [POLICY]`: a reference-brained server, for load benchmarks."""
    stub = OpenAIStub(reference_brain(policy_file), latency_s=latency_s, port=port)
    print(f"stub ready: {stub.base_url} (latency {latency_s * 1000:.0f} ms)", flush=True)
    stub._server.serve_forever()


if __name__ == "__main__":
    import sys

    from agent.datafiles import PROJECT_ROOT

    policy = Path(sys.argv[3]) if len(sys.argv) > 3 else PROJECT_ROOT / "policies" / "retention_offers.md"
    serve_forever(int(sys.argv[1]), float(sys.argv[2]), policy)
