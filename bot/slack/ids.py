"""The ids Slack sends back when someone clicks or submits: one place, so the
cards that carry them and the listeners that match them cannot drift apart."""

from __future__ import annotations

ACTION_REROLL = "banana_reroll"
ACTION_RATIO = "banana_ratio"
ACTION_EDIT = "banana_edit"
ACTION_DELETE = "banana_delete"
ACTION_FORGET = "banana_forget"
ACTION_SHARE = "banana_share"  # a panel result, to the channel on screen
VIEW_EDIT = "banana_edit"
VIEW_EDIT_MESSAGE = "banana_edit_message"
SHORTCUT_EDIT_MESSAGE = "banana_edit_message"
PROMPT_BLOCK = "prompt"  # the edit modals' one input: block_id and action_id
