"""The yardstick: the same work done the seed's way, in its own process.

Synchronous ``requests.post`` → ``response.json()`` → ``base64.b64decode`` →
slack-sdk's synchronous ``files_upload_v2``, on as many threads as the bot's
concurrency. Waits for "go" on stdin (so its idle memory can be read first),
then prints one JSON line with its timings.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests
from slack_sdk import WebClient


def one(index: int, url: str, key: str, client: WebClient, channel: str) -> float:
    started = time.monotonic()
    logid = f"nanobanana_{uuid.uuid4().hex}_{int(datetime.now().timestamp())}"
    data = {
        "stream": False,
        "model": "nano-banana2",
        "max_tokens": 20000,
        "messages": [{"role": "user", "content": [{"type": "text", "text": f"bench {index}"}]}],
        "response_modalities": ["TEXT", "IMAGE"],
        "image_config": {
            "aspectRatio": "1:1",
            "imageSize": "2K",
            "imageOutputOptions": {"mimeType": "image/png"},
        },
    }
    response = requests.post(
        f"{url}?ak={key}",
        headers={"Content-Type": "application/json", "X-TT-LOGID": logid},
        json=data,
        timeout=300,
    )
    result = response.json()
    message = result.get("data", {}).get("choices", [])[0].get("message", {})
    for content in message.get("multimodal_contents", []):
        if content.get("type") == "inline_data":
            image = base64.b64decode(content["inline_data"]["data"])
            client.files_upload_v2(
                channel=channel,
                content=image,
                filename=f"bench-{index}.png",
                title=f"bench {index}",
            )
    return time.monotonic() - started


def main() -> None:
    url, key, slack_url, token, channel, count, threads = sys.argv[1:8]
    client = WebClient(token=token, base_url=slack_url, timeout=300)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    started = time.monotonic()
    with ThreadPoolExecutor(int(threads)) as pool:
        futures = [pool.submit(one, i, url, key, client, channel) for i in range(int(count))]
        durations = [f.result() for f in futures]
    sys.stdout.write(
        json.dumps({"makespan": time.monotonic() - started, "durations": durations}) + "\n"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
