"""`{{ NAME.key }}` and `{{ NAME.key | urlencode }}` in a value: a key of the secret AWS_SECRET_NAME maps.

Pure text: finding templates and filling them in. Which secret a NAME means, and what happens when
it failed, is resolution's business. Messages name mappings, keys and filters, never the text around.

Grammar: `{{`, spaces or tabs, NAME.key, spaces or tabs, optionally `|`, spaces or tabs, a filter,
spaces or tabs, `}}`. NAME is a variable name, key is letters, digits, `_` and `-`. A `{{` followed by
a NAME that is mapped must complete that grammar (else it is malformed); one followed by anything
else is not a template of ours and stays as it is (a Go or Jinja template in a value, say).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Collection
from typing import NamedTuple

from calitho_env.core.envfiles import MAX_VALUE_CHARS

# Patterns as strings: `re` compiles them on first use, so a launch whose values hold no `{{` never does.
_HEAD = r"\{\{[ \t]*(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
_WHOLE = (
    r"\{\{[ \t]*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.(?P<key>[A-Za-z0-9_-]+)[ \t]*"
    r"(?:\|[ \t]*(?P<filter>[A-Za-z_][A-Za-z0-9_]*)[ \t]*)?\}\}"
)


def urlencode(value: str) -> str:
    """Percent-encode (UTF-8) everything but RFC 3986's unreserved characters: A-Z a-z 0-9 - . _ ~"""
    return urllib.parse.quote(value, safe="")


FILTERS: dict[str, Callable[[str], str]] = {"urlencode": urlencode}


class Placeholder(NamedTuple):
    """One `{{ NAME.key | filter }}`."""

    name: str  # the mapping's name: DB for AWS_SECRET_DB
    key: str
    filter: str | None


class Template(NamedTuple):
    """A value cut into literal text and placeholders."""

    parts: tuple[str | Placeholder, ...]

    def placeholders(self) -> list[Placeholder]:
        return [part for part in self.parts if isinstance(part, Placeholder)]

    def render(self, key_value: Callable[[Placeholder], str], max_chars: int = MAX_VALUE_CHARS) -> str:
        """The value with each placeholder replaced by its key's value, filtered; TooLarge past `max_chars`
        (a short line of placeholders of one large key would otherwise take all memory)."""
        pieces = []
        size = 0
        for part in self.parts:
            if isinstance(part, str):
                piece = part
            else:
                value = key_value(part)
                piece = FILTERS[part.filter](value) if part.filter else value
            size += len(piece)
            if size > max_chars:
                raise TooLarge(max_chars)
            pieces.append(piece)
        return "".join(pieces)


class TooLarge(ValueError):
    """A filled template longer than a value may be."""


class MalformedTemplate(ValueError):
    """What is wrong with a template of a mapped NAME (never quoting the value)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(problem)
        self.name = name
        self.problem = problem


class Parsed(NamedTuple):
    template: Template | None  # None: no template of a mapped NAME in the value
    unmapped: tuple[str, ...]  # NAMEs of well-formed `{{ NAME.key }}` that no mapping defines: left as they are


def parse(value: str, mapped: Collection[str]) -> Parsed:
    """Find the templates of the `mapped` NAMEs in `value`; MalformedTemplate for a broken one."""
    if "{{" not in value:
        return Parsed(None, ())
    head_pattern, whole_pattern = re.compile(_HEAD), re.compile(_WHOLE)
    parts: list[str | Placeholder] = []
    unmapped: list[str] = []
    literal_from = search_from = 0
    while (start := value.find("{{", search_from)) >= 0:
        head = head_pattern.match(value, start)
        if head is None:
            search_from = start + 1
            continue
        name = head["name"]
        whole = whole_pattern.match(value, start)
        if name not in mapped:
            if whole is not None:
                unmapped.append(name)
            search_from = start + 1
            continue
        if whole is None:
            raise MalformedTemplate(name, _what_is_wrong(value, head.end(), name))
        if whole["filter"] is not None and whole["filter"] not in FILTERS:
            raise MalformedTemplate(
                name, f"unknown filter {whole['filter']!r} after {name}.{whole['key']} (known: urlencode)"
            )
        parts += [value[literal_from:start], Placeholder(name, whole["key"], whole["filter"])]
        literal_from = search_from = whole.end()
    if not parts:
        return Parsed(None, tuple(dict.fromkeys(unmapped)))
    parts.append(value[literal_from:])
    return Parsed(Template(tuple(part for part in parts if part != "")), tuple(dict.fromkeys(unmapped)))


def _what_is_wrong(value: str, after_name: int, name: str) -> str:
    rest = value[after_name:]
    if not re.match(r"\.[A-Za-z0-9_-]+", rest):
        return f"{{{{ {name} }}}} needs a key: {{{{ {name}.key }}}} (letters, digits, _ and -)"
    if "}}" not in rest:
        return f"a {{{{ {name}.… is not closed with }}}}"
    return f"the {{{{ {name}.… }}}} is not NAME.key, optionally followed by | urlencode"
