import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.markup import to_plain
from bot.options import RATIO_ALIASES, RATIOS, ImageOptions, UsageError, parse_request


def parse(text: str) -> tuple[str, ImageOptions]:
    parsed = parse_request(text, max_images=4)
    return parsed.prompt, parsed.options


@pytest.mark.parametrize(
    ("text", "prompt", "options"),
    [
        ("a shiba inu in a park", "a shiba inu in a park", ImageOptions()),
        ("a cat --ar 16:9 --size 2K --n 3", "a cat", ImageOptions("16:9", "2K", 3)),
        ("a cat --aspect 9:16 --size 2k", "a cat", ImageOptions("9:16", "2K")),
        ("a cat --ar=4:3 -n 2", "a cat", ImageOptions("4:3", count=2)),
        ("a cat --ar 16x9", "a cat", ImageOptions("16:9")),
        ("--ar 21:9 a skyline at dusk", "a skyline at dusk", ImageOptions("21:9")),
        ("a cat --ar wide", "a cat", ImageOptions("16:9")),
        ("a cat --ar Story", "a cat", ImageOptions("9:16")),
        # Phones: em and en dashes for "--", curly quotes, NBSP, zero-width spaces.
        ("a cat —ar 3:2 –size 2K", "a cat", ImageOptions("3:2", "2K")),
        ("a\u00a0cat\u200b\u00a0--ar\u00a03:4", "a cat", ImageOptions("3:4")),
        ("“--not an option” --n 2", "--not an option", ImageOptions(count=2)),
        ('a sign that says "--OPEN--" --ar 1:1', 'a sign that says "--OPEN--"', ImageOptions()),
        # Full-width digits and colons, Chinese text around and glued to options.
        ("一只柴犬 --ar １６：９ --size ２Ｋ", "一只柴犬", ImageOptions("16:9", "2K")),
        ("一只柴犬--ar 9:16在公园里", "一只柴犬 在公园里", ImageOptions("9:16")),
        ("生成一张照片——ar 4:5——size 2K", "生成一张照片", ImageOptions("4:5", "2K")),
        ("一只猫\u3000--n\u30002", "一只猫", ImageOptions(count=2)),
        ("first line\nsecond line --ar 1:1", "first line\nsecond line", ImageOptions()),
        ("temperature -5 degrees, a - b", "temperature -5 degrees, a - b", ImageOptions()),
    ],
)
def test_parses(text: str, prompt: str, options: ImageOptions) -> None:
    assert parse(text) == (prompt, options)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a cat --ar 7:3", "`7:3` is not a ratio the model makes; use one of 21:9, 16:9"),
        ("a cat --ar huge", "`huge` is not an aspect ratio; use one of 21:9"),
        ("a cat --size 4K", "`4K` is not a size; use one of 1K, 2K"),
        ("a cat --n 9", "`9` is not an image count; use a number from 1 to 4"),
        ("a cat --n 0", "use a number from 1 to 4"),
        ("a cat --ratio 16:9", "Unknown option `--ratio`; did you mean `--ar`?"),
        ("a cat --sise 2K", "did you mean `--size`?"),
        ("a cat --count 2", "did you mean `--n`?"),
        ("a cat --zzz", "Unknown option `--zzz`; the options are --ar, --size, --n"),
        ("a cat --ar", "`--ar` needs a value"),
        ("a cat --ar 1:1 --ar 16:9", "`--ar` is given twice"),
    ],
)
def test_errors_name_the_bad_token_and_the_choices(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert not caught.value.empty_prompt


@pytest.mark.parametrize("text", ["", "   ", "--ar 16:9", "\u200b", '""'])
def test_empty_prompt_is_flagged(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.empty_prompt


def test_ratio_error_lists_every_ratio_and_alias() -> None:
    with pytest.raises(UsageError) as caught:
        parse("x --ar 7:3")
    for ratio in RATIOS:
        assert ratio in str(caught.value)
    for alias in RATIO_ALIASES:
        assert alias in str(caught.value)


def test_slack_text_then_options() -> None:
    raw = "cats &amp; dogs in <#C1|general> —ar wide"
    assert parse(to_plain(raw)) == ("cats & dogs in #general", ImageOptions("16:9"))


@given(st.text())
@example("--")
@example("—" * 3 + "ar")
@example('"unterminated --ar')
@example("--ar=")
@example("-n")
def test_parser_never_raises_anything_but_usage_error(text: str) -> None:
    try:
        parsed = parse_request(text, max_images=4)
    except UsageError:
        return
    assert parsed.prompt.strip() == parsed.prompt
    assert parsed.prompt


# Words that cannot be mistaken for options: no leading dash or quote.
words = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp", "Cf"),
        blacklist_characters='-—–"“”「」\u3000',
    ),
    min_size=1,
    max_size=12,
)


@given(
    st.lists(words, min_size=1, max_size=8),
    st.sampled_from(RATIOS),
    st.sampled_from(["1K", "2K", "1k", "２Ｋ"]),
    st.integers(1, 4),
)
def test_prompt_text_survives_parsing(prompt_words: list[str], ratio: str, size: str, n: int):
    prompt = " ".join(prompt_words)
    parsed = parse_request(f"{prompt} --ar {ratio} --size {size} --n {n}", max_images=4)
    assert parsed.prompt == prompt
    assert parsed.options == ImageOptions(ratio, size.upper().replace("２Ｋ", "2K"), n)


def test_raw_text_past_twice_the_prompt_limit_is_refused_before_parsing() -> None:
    # Zero-width spaces vanish in parsing: the prompt alone would pass the limit.
    with pytest.raises(UsageError, match="Your message is 20,005 characters") as caught:
        parse_request("a cat" + "\u200b" * 20_000, max_prompt=4000)
    assert "limited to 4,000" in str(caught.value)
    assert parse_request("a cat" + "\u200b" * 7_000, max_prompt=4000).prompt == "a cat"


@pytest.mark.parametrize("quote", ["“", "「"])
def test_unmatched_quotes_cost_linear_time(quote: str) -> None:
    import time

    # 120K characters of opening quotes that never close. Trying each quote up to the
    # end of the line was quadratic: ~18 s here; linear parsing takes ~0.1 s.
    text = f"{quote}a " * 40_000
    started = time.process_time()
    parsed = parse_request(text, max_prompt=len(text))
    assert time.process_time() - started < 2.0, "a generous bound: quadratic takes ~18 s"
    assert parsed.prompt == text.strip()


def test_a_quoted_chunk_ends_before_the_next_opening_quote() -> None:
    prompt, options = parse("“a “--n 2” b --n 3")
    assert (prompt, options.count) == ("“a “--n 2” b", 3)
