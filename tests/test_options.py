import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.markup import to_plain
from bot.options import RATIO_NAMES, RATIOS, ImageOptions, UsageError, parse_request
from bot.text import CHINESE, LANGUAGES, speaking
from bot.text.options import usage_words


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
    assert message in usage_words(caught.value)
    assert not caught.value.empty_prompt


@pytest.mark.parametrize("text", ["", "   ", "--ar 16:9", "\u200b", '""'])
def test_empty_prompt_is_flagged(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.empty_prompt


@pytest.mark.parametrize("language", LANGUAGES)
def test_ratio_error_lists_every_ratio_and_the_readers_names(language: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse("x --ar 7:3")
    with speaking(language):
        said = usage_words(caught.value)
    for ratio in RATIOS:
        assert ratio in said
    for alias in RATIO_NAMES[language]:
        assert alias in said


@pytest.mark.parametrize(
    ("text", "prompt", "options"),
    [
        ("一只猫 --ar 方形", "一只猫", ImageOptions("1:1")),
        ("一只猫 --ar 横版 --size 高清", "一只猫", ImageOptions("3:2", "2K")),
        ("一只猫 --ar 竖版 --size 标清", "一只猫", ImageOptions("2:3", "1K")),
        ("一只猫 --ar 宽屏 --n 3张", "一只猫", ImageOptions("16:9", count=3)),
        ("一只猫 --ar 横幅 --n 2 张", "一只猫", ImageOptions("21:9", count=2)),
        ("一只猫 --ar 竖屏", "一只猫", ImageOptions("9:16")),
        ("一只猫 —ar 手机", "一只猫", ImageOptions("9:16")),
        ("一只猫--ar宽屏", "一只猫", ImageOptions("16:9")),
        ("--ar 宽屏的海报，一只猫", "的海报，一只猫", ImageOptions("16:9")),
        ("一只猫 --n ３张 --size 高清", "一只猫", ImageOptions(size="2K", count=3)),
    ],
)
def test_chinese_option_words(text: str, prompt: str, options: ImageOptions) -> None:
    assert parse(text) == (prompt, options)


@pytest.mark.parametrize(
    ("text", "english", "chinese"),
    [
        ("a cat --ar wdie", "Did you mean `--ar wide`?", "你是想写 `--ar wide` 吗？"),
        ("一只猫 --ar 宽平", "Did you mean `--ar 宽屏`?", "你是想写 `--ar 宽屏` 吗？"),
        ("一只猫 --size 高青", "Did you mean `--size 高清`?", "你是想写 `--size 高清` 吗？"),
        ("a cat --size 2x", "Did you mean `--size 2K`?", "你是想写 `--size 2K` 吗？"),
    ],
)
def test_errors_suggest_the_nearest_choice_in_either_language(
    text: str, english: str, chinese: str
) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert usage_words(caught.value).endswith(english)
    with speaking(CHINESE):
        assert usage_words(caught.value).endswith(chinese)
        assert usage_words(caught.value).startswith(f"`{text.split()[-1]}` 不是")


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
    with pytest.raises(UsageError) as caught:
        parse_request("a cat" + "\u200b" * 20_000, max_prompt=4000)
    assert "Your message is 20,005 characters" in usage_words(caught.value)
    assert "limited to 4,000" in usage_words(caught.value)
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
