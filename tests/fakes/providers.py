"""Fakes of the OpenAI, Anthropic and Gemini wire formats, on top of `FakeServer`.

Text replies come from `answer(prompt, captions)`, where `captions` are the `caption` PNG text
chunks of the images in the request, so a scripted judge can "see" what a fake generator drew.
Drawn images are tiny PNGs whose caption is the prompt (an edit: `edit(<prompt>) of [<input
captions>]`).
"""

from __future__ import annotations

import base64
import io
import itertools
import re
from collections.abc import Callable
from typing import Any

from PIL import Image, PngImagePlugin

from .server import EMPTY, REFUSAL, FakeServer, Fault, Reply, Request

Answer = Callable[[str, list[str]], str]


def caption_png(caption: str, size: int = 8) -> bytes:
    """A small PNG that carries `caption` in a text chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("caption", caption)
    buffer = io.BytesIO()
    colour = tuple(caption.encode()[:3].ljust(3, b"\0"))
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def broken_png(png: bytes, how: str) -> bytes:
    """`png` made into bytes that start like a PNG but are no whole image.

    `half`: cut in the middle of its pixels; `tail`: only its last bytes (the end chunk's
    checksum) missing; `junk`: the PNG signature followed by noise; `crc`: one pixel byte
    changed, so a chunk's checksum no longer matches.
    """
    if how == "half":
        return png[: len(png) // 2]
    if how == "tail":
        return png[:-3]
    if how == "junk":
        return png[:8] + bytes(range(256)) * 4
    if how == "crc":
        at = png.index(b"IDAT") + 6
        return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1 :]
    raise ValueError(f"unknown way to break a PNG: {how!r}")


def read_caption(data: bytes) -> str:
    """The caption chunk of PNG bytes ('' when absent)."""
    with Image.open(io.BytesIO(data)) as image:
        return str(image.info.get("caption", ""))


def _from_data_url(url: str) -> bytes:
    match = re.fullmatch(r"data:image/png;base64,(.*)", url, re.S)
    assert match, f"not a PNG data URL: {url[:40]!r}"
    return base64.b64decode(match.group(1))


def _b64any(text: str) -> bytes:
    """Decode base64 in either alphabet, padded or not (google-genai sends it URL-safe)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _edit_caption(prompt: str, captions: list[str]) -> str:
    return f"edit({prompt}) of [{'; '.join(captions)}]"


class _Provider(FakeServer):
    def __init__(
        self, answer: Answer | None = None, *, latency_s: float = 0.0, host: str = "127.0.0.1"
    ) -> None:
        super().__init__(latency_s=latency_s, host=host)
        self.answer: Answer = answer or (lambda prompt, captions: "ok")
        self._response_ids = itertools.count(1)

    def next_id(self) -> str:
        return f"resp_{next(self._response_ids)}"


class FakeOpenAI(_Provider):
    """`/v1/chat/completions`, `/v1/images/generations` and `/v1/images/edits`.

    Pass `url + "/v1"` as the base URL.
    """

    def _prompt_and_images(self, request: Request) -> tuple[str, list[bytes]]:
        content = request.json["messages"][-1]["content"]
        if isinstance(content, str):
            return content, []
        texts = [p["text"] for p in content if p["type"] == "text"]
        images = [
            _from_data_url(p["image_url"]["url"]) for p in content if p["type"] == "image_url"
        ]
        return "\n".join(texts), images

    def handle(self, request: Request) -> Reply:
        if request.path.endswith("/chat/completions"):
            prompt, images = self._prompt_and_images(request)
            text = self.answer(prompt, [read_caption(i) for i in images])
            return Reply(200, self._completion(request, text))
        if request.path.endswith("/images/generations"):
            return Reply(200, self._images(caption_png(request.json["prompt"])))
        if request.path.endswith("/images/edits"):
            inputs = [data for files in request.files.values() for _, _, data in files]
            caption = _edit_caption(request.form["prompt"], [read_caption(d) for d in inputs])
            return Reply(200, self._images(caption_png(caption)))
        return Reply(404, {"error": {"message": f"no route {request.path}"}})

    def _completion(
        self, request: Request, text: str | None, refusal: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": request.json["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": refusal},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
        }

    @staticmethod
    def _images(png: bytes | None) -> dict[str, Any]:
        data = [{"b64_json": base64.b64encode(png).decode()}] if png is not None else []
        return {
            "created": 0,
            "data": data,
            "usage": {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210},
        }

    def fault_reply(self, request: Request, fault: Fault) -> Reply:
        chat = request.path.endswith("/chat/completions")
        if fault == REFUSAL and chat:
            return Reply(200, self._completion(request, None, "I can't help with that."))
        if fault == REFUSAL:
            body = {
                "error": {
                    "message": "Your request was rejected by the safety system.",
                    "type": "image_generation_user_error",
                    "code": "content_policy_violation",
                }
            }
            return Reply(400, body)
        if fault == EMPTY:
            return Reply(200, self._completion(request, "") if chat else self._images(None))
        if fault.kind == "broken_image" and not chat:
            reply = self.handle(request)
            png = base64.b64decode(reply.body["data"][0]["b64_json"])
            return Reply(200, self._images(broken_png(png, fault.detail)))
        if fault.kind == "status" and fault.status == 401:
            # Like a careless server: the rejected key is echoed back in the message.
            key = request.headers.get("authorization", "").removeprefix("Bearer ")
            body = {"error": {"message": f"Incorrect API key provided: {key}", "code": "bad_key"}}
            return Reply(401, body)
        return super().fault_reply(request, fault)

    def error_body(self, status: int) -> Any:
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        return {"error": {"message": f"fake {status}", "type": kind, "code": kind}}


class FakeAnthropic(_Provider):
    """`/v1/messages`; pass `url` as the base URL."""

    def _message(self, request: Request, text: str | None, stop: str = "end_turn") -> Any:
        content = [] if text is None else [{"type": "text", "text": text}]
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": request.json["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 10},
        }

    def handle(self, request: Request) -> Reply:
        blocks = request.json["messages"][-1]["content"]
        prompt = "\n".join(b["text"] for b in blocks if b["type"] == "text")
        images = [base64.b64decode(b["source"]["data"]) for b in blocks if b["type"] == "image"]
        text = self.answer(prompt, [read_caption(i) for i in images])
        return Reply(200, self._message(request, text))

    def fault_reply(self, request: Request, fault: Fault) -> Reply:
        if fault == REFUSAL:
            return Reply(200, self._message(request, None, "refusal"))
        if fault == EMPTY:
            return Reply(200, self._message(request, ""))
        return super().fault_reply(request, fault)

    def error_body(self, status: int) -> Any:
        kind = "rate_limit_error" if status == 429 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": f"fake {status}"}}


class FakeGemini(_Provider):
    """`/v1beta/models/<model>:generateContent`; pass `url` as the base URL.

    A request whose config asks for IMAGE output is answered with an inline image.
    """

    def handle(self, request: Request) -> Reply:
        parts = request.json["contents"][-1]["parts"]
        prompt = "\n".join(p["text"] for p in parts if "text" in p)
        images = [_b64any(p["inlineData"]["data"]) for p in parts if "inlineData" in p]
        captions = [read_caption(i) for i in images]
        modalities = request.json.get("generationConfig", {}).get("responseModalities", [])
        if "IMAGE" in modalities:
            caption = _edit_caption(prompt, captions) if images else prompt
            data = base64.b64encode(caption_png(caption)).decode()
            out = [{"text": "Here it is."}, {"inlineData": {"mimeType": "image/png", "data": data}}]
        else:
            out = [{"text": self.answer(prompt, captions)}]
        return Reply(200, self._reply(out))

    def _reply(self, parts: list[Any] | None, finish: str = "STOP", **extra: Any) -> Any:
        candidate: dict[str, Any] = {"finishReason": finish, "index": 0}
        if parts is not None:
            candidate["content"] = {"role": "model", "parts": parts}
        return {
            "candidates": [candidate],
            "usageMetadata": {
                "promptTokenCount": 100,
                "candidatesTokenCount": 10,
                "totalTokenCount": 110,
            },
            "modelVersion": "fake",
            "responseId": self.next_id(),
            **extra,
        }

    def fault_reply(self, request: Request, fault: Fault) -> Reply:
        if fault == REFUSAL:
            return Reply(200, {"promptFeedback": {"blockReason": "SAFETY"}, "responseId": "blk"})
        if fault == EMPTY:
            return Reply(200, self._reply([{"text": ""}]))
        if fault.kind == "broken_image":
            reply = self.handle(request)
            for part in reply.body["candidates"][0]["content"]["parts"]:
                if "inlineData" in part:
                    png = base64.b64decode(part["inlineData"]["data"])
                    broken = broken_png(png, fault.detail)
                    part["inlineData"]["data"] = base64.b64encode(broken).decode()
            return reply
        return super().fault_reply(request, fault)

    def error_body(self, status: int) -> Any:
        names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
        return {
            "error": {"code": status, "message": f"fake {status}", "status": names.get(status, "")}
        }
