"""The message catalogs: complete in every language, the same placeholders
everywhere, compiled files fresh, and no user text left in code outside them."""

from __future__ import annotations

import ast
import io
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.text import CHINESE, ENGLISH, LANGUAGES, MissingMessage, catalog_folder, count, say
from bot.text import speaking as speaking_in
from tests.conftest import ROOT

BOT = ROOT / "bot"
LOCALES = BOT / "text" / "locales"


def po_path(language: str) -> Path:
    return LOCALES / catalog_folder(language) / "LC_MESSAGES" / "banana.po"


def read_catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as file:
        return read_po(file)


def entries(language: str) -> dict[str, tuple[str, ...]]:
    """key → its forms (one for a plain message; the plural forms for a plural one)."""
    found = {}
    for message in read_catalog(language):
        if not message.id:
            continue  # the header
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        found[key] = tuple(forms)
    return found


def plural_keys(language: str) -> set[str]:
    return {m.id[0] for m in read_catalog(language) if m.id and m.pluralizable}


def placeholders(forms: tuple[str, ...]) -> set[str]:
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name}


def test_every_language_has_every_key_translated() -> None:
    english = entries(ENGLISH)
    assert len(english) > 100
    for language in LANGUAGES:
        catalog = entries(language)
        assert set(catalog) == set(english), language
        assert plural_keys(language) == plural_keys(ENGLISH), language
        untranslated = [key for key, forms in catalog.items() if not all(forms)]
        assert untranslated == [], language
        assert not [m.id for m in read_catalog(language) if m.fuzzy and m.id], language


def test_placeholders_are_the_same_in_every_language() -> None:
    english = entries(ENGLISH)
    for language in LANGUAGES:
        for key, forms in entries(language).items():
            assert placeholders(forms) == placeholders(english[key]), (language, key)


def test_the_checked_in_compiled_catalogs_match_their_sources() -> None:
    """The .mo files ship in the package and the image; they must say what the .po say
    (after editing a .po: ``pybabel compile -d bot/text/locales -D banana``)."""
    for language in LANGUAGES:
        compiled = io.BytesIO()
        write_mo(compiled, read_catalog(language))
        shipped = po_path(language).with_suffix(".mo").read_bytes()
        assert shipped == compiled.getvalue(), f"{language}: run pybabel compile"


def test_the_package_ships_the_compiled_catalogs() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"text/locales/*/LC_MESSAGES/*.mo"' in text
    assert "*.mo" not in (ROOT / ".dockerignore").read_text()


def _python_files() -> list[Path]:
    return [p for p in BOT.rglob("*.py") if "standins" not in p.parts]


def _keys_in_code() -> dict[str, str]:
    """Keys the code names: first arguments of say/count/UsageError, and any string
    that looks like a key of a group the catalogs have (``refused.very_busy``)."""
    groups = {key.split(".")[0] + "." for key in entries(ENGLISH) if "." in key}
    found: dict[str, str] = {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                first = node.args[0]
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                if name in ("say", "count", "UsageError") and literal:
                    found[str(getattr(first, "value", ""))] = path.name
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith(tuple(groups))
                and not node.value.endswith(".")  # f"refusal.{reason}": checked below
                and node.value.replace(".", "").replace("_", "").isalnum()
            ):
                found[node.value] = path.name
    return found


def test_every_key_the_code_names_is_in_every_catalog() -> None:
    used = _keys_in_code()
    assert "parse.not_a_ratio" in used
    assert "refused.very_busy" in used
    assert "unexpected" in used
    for language in LANGUAGES:
        missing = {key: where for key, where in used.items() if key not in entries(language)}
        assert missing == {}, language


def test_every_refusal_the_model_gives_has_words() -> None:
    from bot.text.failures import REFUSALS

    for language in LANGUAGES:
        assert {f"refusal.{reason}" for reason in REFUSALS} <= set(entries(language))


def test_a_key_no_catalog_has_is_an_error_not_text() -> None:
    with pytest.raises(MissingMessage):
        say("no.such.key")
    with speaking_in(CHINESE), pytest.raises(MissingMessage):
        say("no.such.key")


def test_plurals_per_language() -> None:
    assert [count("count.image", n) for n in (1, 3)] == ["1 image", "3 images"]
    with speaking_in(CHINESE):
        assert [count("count.image", n) for n in (1, 3)] == ["1 张图", "3 张图"]
        # a plain message that shows a count is not a plural entry
        assert "3" in say("result.some_failed", failed=1, count=3, reason="x")


# ---- no user text outside the catalogs -------------------------------------------------
SLACK = BOT / "slack"
# Markup glue with letters that is not words: mentions, links, ids, URLs.
TECHNICAL = {
    "<@{}>",
    "<{}|{}>",
    "{}/archives/{}/p{}",
    "?thread_ts={}&cid={}",
    "{} MB",
    "{} KB",
    "trigger:{}",
    "action:{}",
    "view:{}:{}",
    "controls-{}",
    "event:{}",
    "message:{}:{}",
    "`{}`",
    "http_{}",  # Slack error codes
    "Bearer {}",  # the download's header
    "refused_{}",  # metric labels
    "subtype {}",  # why an event is ignored, for the log
    "assistant-thread:{}:{}",  # dedupe keys
    "share:{}:{}",
    "share-{}",  # a block id
    "{}s",  # seconds, as the status line shows them too
}


def _skeleton(node: ast.JoinedStr) -> str:
    return "".join(
        str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
    )


def _has_words(text: str) -> bool:
    return any(char.isalpha() for char in text)


def _exempt_parents(tree: ast.AST) -> set[int]:
    """Nodes inside logging calls, raise statements and exception constructors: logs,
    not user text."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        inside = False
        if isinstance(node, ast.Raise):
            inside = True
        if isinstance(node, ast.Call):
            func = node.func
            owner = getattr(func, "value", None)
            if getattr(owner, "id", "") in ("logger", "logging"):
                inside = True
            if getattr(func, "id", "").endswith(("Error", "Exception")):
                inside = True
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            inside = True  # f"{x:.0f}": the spec is no words
        if inside:
            exempt.update(id(child) for child in ast.walk(node) if child is not node)
    return exempt


def user_text_literals(path: Path) -> list[str]:
    """Literals with words that reach Slack from ``path`` without the catalogs: any
    f-string with words (outside logs and errors), and str literals given as
    ``text=`` or as a block's ``"text"``."""
    tree = ast.parse(path.read_text())
    exempt = _exempt_parents(tree)
    problems = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        if isinstance(node, ast.JoinedStr):
            skeleton = _skeleton(node)
            if _has_words(skeleton) and skeleton not in TECHNICAL:
                problems.append(f"{path.name}:{node.lineno} f-string {skeleton!r}")
        values: list[ast.expr] = []
        if isinstance(node, ast.Call):
            values += [k.value for k in node.keywords if k.arg == "text"]
        if isinstance(node, ast.Dict):
            values += [
                v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value == "text"
            ]
        for value in values:
            literal = isinstance(value, ast.Constant) and isinstance(value.value, str)
            if literal and _has_words(str(getattr(value, "value", ""))):
                problems.append(f"{path.name}:{value.lineno} text {value.value!r}")
    return problems


def test_the_scan_finds_user_text_in_code(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(ack, n, say):\n"
        "    ack(text='Done!')\n"
        "    block = {'type': 'section', 'text': 'Hello'}\n"
        "    line = f'{n} images ready'\n"
        "    logger.info(f'job {n} done')\n"
        "    ack(text=say('ok'))\n"
        "    raise ValueError(f'bad {n}')\n"
    )
    assert user_text_literals(sample) == [
        "sample.py:2 text 'Done!'",
        "sample.py:3 text 'Hello'",
        "sample.py:4 f-string '{} images ready'",
    ]


def test_no_user_text_is_left_in_the_slack_layer() -> None:
    problems = [p for path in sorted(SLACK.rglob("*.py")) for p in user_text_literals(path)]
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders_in_every_language(language: str) -> None:
    english = entries(ENGLISH)
    with speaking_in(language):
        for key, forms in english.items():
            params = {name: "x" for name in placeholders(forms)}
            if key in plural_keys(ENGLISH):
                params["count"] = 2  # type: ignore[assignment]
            assert say(key, **params)
