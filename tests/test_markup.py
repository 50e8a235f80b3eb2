import pytest

from bot.markup import strip_user_mentions, to_plain


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("cats &amp; dogs &lt;3 &gt;", "cats & dogs <3 >"),
        ("&amp;lt;", "&lt;"),
        ("hi <@U1> and <@U2|bob>", "hi @U1 and @bob"),
        ("in <#C1|general> or <#C2>", "in #general or #C2"),
        ("see <http://x.io|the site> <https://y.io>", "see the site https://y.io"),
        ("<mailto:a@b.c|a@b.c> <!here> <!channel>", "a@b.c @here @channel"),
        ("<!subteam^S1|@design>", "@design"),
    ],
)
def test_control_sequences_become_readable(raw: str, plain: str) -> None:
    assert to_plain(raw) == plain


def test_bot_mentions_are_removed_wherever_they_stand() -> None:
    text = "<@UBOT> draw <@UBOT|banana> a cat <@UOTHER>"
    assert to_plain(strip_user_mentions(text, "UBOT")).split() == ["draw", "a", "cat", "@UOTHER"]
