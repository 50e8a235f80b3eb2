"""Every word the bot says, in English, by key.

Templates take named parameters (``str.format`` style). An entry that counts
something is a dict of plural forms chosen by its ``count`` parameter
(CLDR categories: English has ``one`` and ``other``). Markup in a template is
Slack's light mrkdwn (``*bold*``, ``_italic_``, backticks), which reads fine
in a terminal too; ``<``, ``>`` and ``&`` meant as themselves are written as
Slack's entities (``&lt;``), or Slack reads ``<what to draw>`` as a link.
Parameters that come from outside are escaped by the caller before they get
here. Entries under ``button.``, ``confirm.``, ``modal.`` and ``cli.`` (and
``home.title``) are plain text: Slack shows them as typed, so no markup there.
"""

from __future__ import annotations

Entry = str | dict[str, str]

MESSAGES: dict[str, Entry] = {
    # ---- counts -------------------------------------------------------------------------
    "count.image": {"one": "{count} image", "other": "{count} images"},
    "ago.seconds": {"one": "{count} second ago", "other": "{count} seconds ago"},
    "ago.minutes": {"one": "{count} minute ago", "other": "{count} minutes ago"},
    "count.queued_request": {"one": "{count} queued request", "other": "{count} queued requests"},
    "count.request": {"one": "{count} request", "other": "{count} requests"},
    # ---- short answers --------------------------------------------------------------------
    "moved_to_dm": (
        "I can't post in this conversation (invite me with `/invite @banana` to fix that), "
        "so your image is coming to our DM instead."
    ),
    "unexpected": "Something went wrong on the bot's side — please try again.",
    "malformed_request": "That request arrived without its user or channel, so I can't answer it.",
    "shutting_down": "The bot is restarting — send that again in a few seconds.",
    "unknown_command": "I only know `{command}`. Try `{command} help`.",
    "usage_error": "{error}\nType `{command} help` for all options.",
    "channel_not_allowed": "Sorry, I'm not set up to make images in this channel. DM me instead!",
    "delete_denied": "Only the person who asked for this image (or an admin) can delete it.",
    "modal_failed": "Slack would not open the editor (it may have taken too long) — click again.",
    "gone": "I no longer know that image (it may have been deleted).",
    "no_images": "That message has no images I can edit. Attach up to 4 images and mention me.",
    "version_missing": "There is no v{version} in this thread (the latest is v{latest}).",
    # ---- help -------------------------------------------------------------------------------
    "help.usage": "*Usage:* `{command} &lt;what to draw&gt; [--ar W:H] [--size 1K|2K] [--n N]`",
    "help.example": "Example: `{command} a shiba inu in a park --ar 16:9 --size 2K`",
    "help.ratios": "*Ratios* (`--ar`): {ratios} (default 1:1)",
    "help.ratio_names": "*Ratio names*: {aliases}, e.g. `--ar wide`",
    "help.sizes": "*Sizes* (`--size`): {sizes} (default 1K)",
    "help.count": "*Count* (`--n`): how many images, one call each",
    "help.edit": (
        "*Edit*: mention me with up to 4 images attached, or in a thread with my image "
        "(`@banana make it night`, `@banana v1 but in watercolor`), or use the "
        "message shortcut *Edit with banana*."
    ),
    "help.more": "*More*: `{command} history` · `{command} usage` · `{command} cancel`",
    "help.tips": (
        "*Tips:* portraits 2:3 or 3:4 · banners 16:9 or 21:9 · social posts 1:1 or 9:16. "
        "Say the style, light and mood; Chinese and English both work. "
        'Quote a prompt that contains dashes: `"--like this"`.'
    ),
    # ---- accepting a request ----------------------------------------------------------------
    "ack": "🍌 Generating _{prompt}_ · {options} — I'll post it here when it's ready.{note}",
    "quota.price": "({cost})",
    "quota.price_and_use": "({cost}; {used} of your {quota} today, refusals and failures free)",
    "quota.estimate": "≈ ${dollars}",
    "quota.free_preview": {"one": "free preview", "other": "free previews"},
    "refused.too_many_queued": (
        "🍳 You already have {requests} cooking (each counts once, whatever its `--n`) — "
        "wait for one to finish, or `{command} cancel` the queued ones."
    ),
    "refused.very_busy": (
        "🐢 I'm very busy right now — a lot of images are already waiting. "
        "Please try again in a few minutes."
    ),
    "refused.over_quota": (
        "📉 That would go past your daily quota of {quota}: "
        "{used} used or in progress, {left} left, you asked for {asked}. "
        "The quota resets at 00:00 UTC."
    ),
    # ---- a job's status line --------------------------------------------------------------
    "request": "{user}: _{prompt}_ · {options}",
    "status.queued": "⏳ Queued — {request}",
    "status.queued_ahead": "⏳ Queued — {ahead} ahead of yours — {request}",
    "status.running": "🎨 Generating… {elapsed}s{retrying} — {request}",
    "status.retrying": " (the image service is busy, retrying)",
    "status.failed": "❌ {request}\n{reason}",
    "status.done": "✅ Done — {request}",
    "status.delivered": "✅ {version}{request} — {images} in {elapsed}s",
    "status.delivered_images": {"one": "image", "other": "{count} images"},
    "status.paused": (
        "⏸ Paused — the bot is restarting; your image will continue when it is back. {request}"
    ),
    "status.cancelled": "🚫 Cancelled — {request}",
    "status.interrupted": (
        "⚠️ Your request was interrupted by a restart {ago} and was not finished: "
        "{request}\nTo try again, send: `{retry}`"
    ),
    "status.interrupted_upload": (
        "⚠️ The bot restarted while uploading your image: {request}\n"
        "If it is not here, send the request again: `{retry}`"
    ),
    "status.not_started": (
        "⚠️ I could not post in this conversation, so nothing was made: {request}\n"
        "Slack may be busy; try again in a minute: `{retry}`"
    ),
    # ---- results ------------------------------------------------------------------------------
    "result.asked_for": "{user} asked for: _{prompt}_",
    "result.details": "{ratio} · {size} · {elapsed}s · logid {logids}",
    "result.some_failed": "⚠️ {failed} of {count} images failed: {reason}",
    "result.version": "*v{version}* · {comment}",
    "result.edited_from": "✏️ Edited from {names}",
    "result.from_earlier": "↩️ From {earlier}",
    "result.earlier_image": "an earlier image",
    # ---- failures -------------------------------------------------------------------------------
    "failure.declined": "The model declined to draw this{why}.{said} {hint}",
    "failure.declined_why": " ({reason})",
    "failure.declined_said": " It said: “{words}”",
    "failure.rephrase_hint": (
        "Try rephrasing: describe the scene plainly, and leave out real people's names, "
        "brands and anything graphic."
    ),
    "failure.rate_limited": "The image service is busy right now — try again in a minute.",
    "failure.timeout": "The image service took too long to answer — try again in a minute.",
    "failure.unavailable": "The image service is unavailable right now — try again in a minute.",
    "failure.key_rejected": "The image service rejected the bot's key — tell the bot's admin.",
    "failure.bad_request": (
        "The image service refused the request ({detail}) — tell the bot's admin."
    ),
    "failure.gateway_code": (
        "The image service returned an error ({code}: {detail}). "
        "Try again; if it keeps happening, {ask}."
    ),
    "failure.ask_admin": "tell the bot's admin",
    "failure.malformed": "The image service sent back a broken answer — try again.",
    "failure.other": "Something went wrong generating the image ({detail}) — try again.",
    "failure.upload": (
        "Your image was made, but Slack would not take the upload ({detail}). Try again."
    ),
    "failure.input": "I could not read the image to edit ({detail}). Is it still shared here?",
    "failure.input_external": (
        "I can only edit images uploaded to Slack — that one is stored elsewhere "
        "(a link or another service). Download it and attach it to your message."
    ),
    "failure.input_too_large": (
        "That image is too large for me to edit (the most I take is {limit}). Attach a smaller one."
    ),
    "refusal.IMAGE_SAFETY": "the image tripped the model's safety filter",
    "refusal.SAFETY": "the request tripped the model's safety filter",
    "refusal.IMAGE_PROHIBITED_CONTENT": "the image would show prohibited content",
    "refusal.PROHIBITED_CONTENT": "the request asks for prohibited content",
    "refusal.IMAGE_RECITATION": "the image would copy an existing work too closely",
    "refusal.RECITATION": "the answer would copy an existing work too closely",
    "refusal.NO_IMAGE": "the model produced no image",
    "refusal.other": "the model stopped with {reason}",
    # ---- the terminal (read by whoever runs the bot) -------------------------------------------
    "cli.key_rejected": (
        "the gateway rejected BANANA_API_KEY ({status}): check the key and network"
    ),
    "cli.bad_request": "{detail}; check BANANA_API_URL / BANANA_NETWORK and BANANA_MODEL",
    "cli.ask_admin": "check the bot's settings",
    # ---- usage, cancel, history, Home ----------------------------------------------------------
    "usage.today": "*Today:* {images} ({left})",
    "usage.left": "{left} of {quota} left; resets 00:00 UTC",
    "usage.admin": "admins have no quota",
    "usage.cost": "*Estimated cost:* ${today} today · ${month} this month",
    "usage.free": "*Cost:* nothing — these are free offline previews, not the image service",
    "usage.active": "*In progress:* {active}",
    "cancel.none": "You have no queued images to cancel (running ones always finish).",
    "cancel.done": "🚫 Cancelled {requests}. Running ones will finish.",
    "history.empty": "You have no images yet. Try `{command} a shiba inu in a park --ar 16:9`.",
    "history.title": "*Your last generations:*",
    "history.open": "open",
    "home.title": "🍌 banana",
    "home.intro": (
        "Turn a sentence into a picture: type "
        "`{command} a shiba inu in a park --ar 16:9` in any channel, mention "
        "@banana (in threads too), or write to me in the Messages tab."
    ),
    "home.help": "`{command} help` shows every option and tip.",
    # ---- buttons and modals ----------------------------------------------------------------------
    "button.rephrase": "✏️ Try again, rephrased",
    "button.reroll": "🔁 Re-roll",
    "button.ratio": "Another ratio…",
    "button.edit": "✏️ Edit prompt",
    "button.delete": "🗑 Delete",
    "confirm.delete_title": "Delete this image?",
    "confirm.delete_text": "The image, the message it came in and this card will be removed.",
    "confirm.delete": "Delete",
    "confirm.keep": "Keep",
    "modal.edit_title": "Edit prompt",
    "modal.generate": "Generate",
    "modal.cancel": "Cancel",
    "modal.prompt_label": "Prompt and options",
    "modal.options_hint": "Options: --ar W:H, --size 1K|2K, --n N",
    "modal.prompt_cut": "The prompt was cut to fit Slack's {limit}-character box. {hint}",
    "modal.edit_message_title": "Edit with banana",
    "modal.edit": "Edit",
    "modal.what_changes": "What should change in the {images}?",
    "modal.what_changes_images": {"one": "image", "other": "{count} images"},
    "modal.placeholder": "make it night, watercolor",
    # ---- for the people who run it: budget, stats, forget (issue 18) -------------------------
    "refused.budget": (
        "💸 This month's image budget is used up, so I can't start new images until "
        "{resets}. Images already on their way will still arrive."
    ),
    "budget.notice_80": (
        "⚠️ banana has used {percent}% of this month's image budget: ${spent} of ${budget} "
        "(estimated at list prices). At 100% new requests from non-admins are turned away "
        "until {resets}."
    ),
    "budget.notice_100": (
        "🛑 banana has used this month's image budget: ${spent} of ${budget} (estimated at "
        "list prices). New requests from non-admins are turned away until {resets}; admins "
        "can still ask, and images already on their way still arrive. Raise "
        "`BANANA_MONTHLY_BUDGET` to lift it sooner."
    ),
    "budget.resets": "{date} 00:00 UTC",
    "stats.denied": "Sorry, only the bot's admins can see its stats.",
    "stats.title": "📊 banana stats",
    "stats.today": "Today",
    "stats.days": "Last {days} days",
    "stats.summary": (
        "*{window}* · {images} · ≈ ${cost}\n"
        "Declined by the model: {refusals} · failed: {failures} of {requests} · "
        "time to image: p50 {p50}, p95 {p95}"
    ),
    "stats.rate": "{percent}% ({count})",
    "stats.no_time": "–",
    "stats.top_users": "*Top users*",
    "stats.top_channels": "*Top channels*",
    "stats.tally": "{rank}. {who} — {images} · ${cost}",
    "stats.nothing": "_none yet_",
    "stats.dm": "a DM",
    "stats.budget": "*Budget:* ${spent} of ${budget} this month ({percent}%), resets {resets}",
    "stats.footnote": (
        "Estimated at list prices. Rates are per request that ended; time to image runs "
        "from asking to delivery, over the requests the journal still keeps."
    ),
    "forget.explain": (
        "This erases what I keep about your requests: your prompts, your history and the "
        "links to your results. Images already posted in Slack stay where they are "
        "(delete those first with 🗑 on their cards if you want them gone). Your image "
        "counts stay, without prompts, for today's quota and the monthly budget."
    ),
    "forget.use_command": "To erase your prompts and history, type `{command} forget`.",
    "forget.done": {
        "one": "🧹 Erased {count} request: its prompt and history are gone.",
        "other": "🧹 Erased {count} requests: their prompts and history are gone.",
    },
    "forget.in_progress": (
        " {requests} still in progress will be kept until they finish; "
        "`{command} forget` again afterwards."
    ),
    "forget.posted_stay": " Images already posted in Slack stay.",
    "button.forget": "Erase my history",
    "confirm.forget_title": "Erase your history?",
    "confirm.forget_text": "Your prompts and history will be erased for good.",
    "confirm.forget": "Erase",
    # ---- durable delivery (issue 11) ------------------------------------------------------
    "status.spooled": (
        "⏳ Made — Slack is not taking images right now; yours is kept and will be "
        "posted here as soon as Slack is back — {request}"
    ),
    "failure.undelivered": (
        "Your image was made, but Slack could not be reached for long enough to post it, "
        "so it was dropped. Send the request again."
    ),
    "refused.journal_unwritable": (
        "⚠️ I cannot save requests right now (the bot's storage is full or read-only), "
        "so nothing was made. Tell the bot's admin, then try again."
    ),
    # ---- the AI-app panel (assistant threads) -------------------------------------------------
    "assistant.greeting": (
        "Hi! I'm banana 🍌 — tell me what to draw, in English or Chinese, and I'll make it. "
        "Add `--ar 16:9`, `--size 2K` or `--n 2` for shape, size and count, or attach an image "
        "and say what to change."
    ),
    "assistant.prompts_title": "Try one of these:",
    "assistant.prompt_wide_title": "A wide landscape",
    "assistant.prompt_wide": "a misty mountain lake at sunrise --ar 16:9 --size 2K",
    "assistant.prompt_tall_title": "A phone wallpaper",
    "assistant.prompt_tall": "a neon-lit rainy street in Tokyo --ar story",
    "assistant.prompt_chinese_title": "用中文画一只柴犬",
    "assistant.prompt_chinese": "一只可爱的柴犬在公园里玩耍 --ar 1:1",
    "assistant.prompt_edit_title": "Edit a photo you attach",
    "assistant.prompt_edit": "make it look like a watercolor painting (attach your image first)",
    "assistant.status_queued": "is waiting for its turn… {options}",
    "assistant.status_queued_ahead": "is waiting — {ahead} ahead… {options}",
    "assistant.status_running": "is drawing… {options}",
    "assistant.status_retrying": "is drawing (trying again)… {options}",
    "assistant.loading_1": "is mixing the colours…",
    "assistant.loading_2": "is sketching the shapes… {options}",
    "assistant.loading_3": "is adding the light…",
    "assistant.loading_4": "is polishing the details…",
    "button.share": "Share to #{channel}",
    "share.done": "Shared to {channel}.",
    "share.again": "This image is already shared to {channel}.",
    "share.not_allowed": "I'm not set up to post images in {channel}, so I can't share there.",
    "share.cannot_post": "I can't post in {channel} (invite me with `/invite @banana`).",
    "share.not_yours": "Only the person who asked for this image can share it.",
    "share.credit": "🍌 Shared from banana — {request}",
}
