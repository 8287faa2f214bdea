"""A stand-in for an LLM provider: an OpenAI-compatible HTTP server on loopback (chat completions,
streamed or not, embeddings, the model list) that records every request it gets.

It is a stand-in, not a model: it proves what our side sends (the endpoint the pods are pointed at,
the key and the model they use, that a run reached its first request), never how a real provider
answers. Its answers never depend on the prompt: a chat completion asked for JSON gets `{}`, any
other gets one fixed sentence; an embedding is a fixed-length vector derived from the input's hash.

Run: python tests/llm_standin.py --port-file FILE --record FILE [--port N] (the port it bound is
written to --port-file once it listens; each request is one JSON line in --record).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ANSWER = "This is the LLM stand-in of rdagent-infra's tests."
DIMENSIONS = 16


def chat_answer(body: dict) -> str:
    wants_json = (body.get("response_format") or {}).get("type") in ("json_object", "json_schema")
    return "{}" if wants_json else ANSWER


def embedding(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [byte / 255 for byte in digest[:DIMENSIONS]]


def serve(record: Path, port_file: Path, port: int, max_requests: int) -> None:
    lock = threading.Lock()
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self, body: dict | None) -> None:
            with lock:
                count[0] += 1
                entry = {
                    "method": self.command,
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "api_key": self.headers.get("api-key"),
                    "body": body,
                }
                with record.open("a") as out:
                    out.write(json.dumps(entry) + "\n")

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (the http.server API)
            self._record(None)
            if self.path.split("?", 1)[0].rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": []})
            else:
                self._send(404, {"error": {"message": f"no such path {self.path}", "type": "invalid_request_error"}})

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._record({"unparsable": True})
                return self._send(400, {"error": {"message": "the body is not JSON", "type": "invalid_request_error"}})
            self._record(body)
            if count[0] > max_requests:
                return self._send(429, {"error": {"message": "the stand-in's request budget is spent", "type": "rate_limit_error"}})
            model = body.get("model", "")
            route = self.path.split("?", 1)[0]  # Azure's API puts its version in the query
            if route.endswith("/embeddings"):
                inputs = body.get("input")
                inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
                data = [{"object": "embedding", "index": i, "embedding": embedding(str(text))} for i, text in enumerate(inputs)]
                return self._send(200, {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 1, "total_tokens": 1}})
            if not route.endswith("/chat/completions"):
                return self._send(404, {"error": {"message": f"no such path {self.path}", "type": "invalid_request_error"}})
            content = chat_answer(body)
            created = int(time.time())
            if body.get("stream"):
                return self._stream(model, content, created)
            message = {"role": "assistant", "content": content}
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            self._send(
                200,
                {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": usage,
                },
            )

        def _stream(self, model: str, content: str, created: int) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for delta, finish in (({"role": "assistant", "content": content}, None), ({}, "stop")):
                chunk = {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0, help="0: any free port (its own network namespace has them all)")
    parser.add_argument("--max-requests", type=int, default=500)
    options = parser.parse_args()
    serve(options.record, options.port_file, options.port, options.max_requests)
