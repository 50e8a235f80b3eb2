"""Post a finished result to another channel, with credit: the panel's
"Share to #channel". The images are uploaded again (Slack has no call that
shares a bot's existing file into one more conversation)."""

from __future__ import annotations

import asyncio
import logging

from bot.generation.images import NotAnImage, identify
from bot.jobs import Entry
from bot.slack import mrkdwn
from bot.slack.downloads import FileFetcher
from bot.slack.errors import DeliveryError
from bot.slack.writer import SlackWriter
from bot.text import say

logger = logging.getLogger(__name__)


class ResultSharer:
    def __init__(self, writer: SlackWriter, files: FileFetcher) -> None:
        self._writer = writer
        self._files = files

    async def share(self, entry: Entry, channel: str) -> bool:
        """Post ``entry``'s images to ``channel`` with who asked for what; False (logged)
        when Slack would not let the bot post there or the images are gone."""
        try:
            images = []
            for file_id in entry.file_ids:
                _, data = await self._files.fetch(file_id)
                images.append(await asyncio.to_thread(identify, data))
            files = await self._writer.upload(entry.job.prompt, images)
            credit = say("share.credit", request=mrkdwn.request_line(entry.job))
            await self._writer.share(channel, None, files, credit)
        except (DeliveryError, NotAnImage) as exc:
            logger.warning(
                "job=%s not shared to %s: %s", entry.job.id, channel, getattr(exc, "code", exc)
            )
            return False
        logger.info("job=%s shared to %s", entry.job.id, channel)
        return True
