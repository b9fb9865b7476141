"""Raw HTTP against one API server: the steps of a sequence sent as bytes, answers recorded.

The suite talks to both servers through aiohttp rather than a generated client, so what is
compared is what is on the wire: status codes, media types, ``Warning`` headers and bodies,
including error bodies a client library would turn into exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
import yaml

Json = Any
USER_AGENT = "conformance/v0.0.0"
"""Fixed so the default field manager of writes (the agent's first word) is the same."""


@dataclass(frozen=True)
class Target:
    """Where one server answers and how to authenticate to it."""

    url: str
    token: str | None = None
    ca_pem: bytes | None = None

    def session(self) -> aiohttp.ClientSession:
        headers = {"User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        context: ssl.SSLContext | bool = False
        if self.ca_pem is not None:
            context = ssl.create_default_context(cadata=self.ca_pem.decode())
        return aiohttp.ClientSession(
            headers=headers, connector=aiohttp.TCPConnector(ssl=context, force_close=True)
        )


@dataclass(frozen=True)
class Answer:
    """One response as recorded: what the comparison looks at."""

    status: int
    media: str
    warnings: tuple[str, ...]
    body: Json

    def recorded(self) -> dict[str, Json]:
        return {
            "status": self.status,
            "media": self.media,
            "warnings": list(self.warnings),
            "body": self.body,
        }


def _warnings(response: aiohttp.ClientResponse) -> tuple[str, ...]:
    out = []
    for header in response.headers.getall("Warning", []):
        text = header.split(" ", 2)[-1].strip()
        if text.startswith('"') and text.endswith('"'):
            text = text[1:-1].replace('\\"', '"')
        out.append(text)
    return tuple(sorted(out))


def _decode(media: str, raw: bytes) -> Json:
    if not raw:
        return None
    if media in {"application/yaml", "application/x-yaml"}:
        return {"<yaml>": yaml.safe_load(raw)}
    try:
        return json.loads(raw)
    except ValueError:
        return {"<text>": raw.decode(errors="replace").strip()}


async def send(
    session: aiohttp.ClientSession,
    target: Target,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    data: bytes | None,
) -> Answer:
    """One request and its complete answer."""
    async with session.request(
        method, target.url + path, params=query, headers=headers, data=data
    ) as response:
        raw = await response.read()
        media = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
        return Answer(response.status, media, _warnings(response), _decode(media, raw))


async def watch(
    session: aiohttp.ClientSession,
    target: Target,
    path: str,
    *,
    query: list[tuple[str, str]],
    events: int,
    seconds: float,
) -> Answer:
    """A watch read until ``events`` events arrived, the stream ended or ``seconds`` passed."""
    got: list[Json] = []
    async with session.get(target.url + path, params=query) as response:
        media = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
        if response.status != 200:
            raw = await response.read()
            return Answer(response.status, media, _warnings(response), _decode(media, raw))

        async def read() -> None:
            while len(got) < events:
                line = await response.content.readline()
                if not line:
                    return
                if line.strip():
                    got.append(json.loads(line))

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(read(), seconds)
        return Answer(response.status, media, _warnings(response), got)
