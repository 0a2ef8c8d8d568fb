"""tidb-lightning's table filter: which ``schema.table`` names are imported.

Each rule is ``schema-pattern.table-pattern``; a pattern is a wildcard (``*``, ``?``,
``[a-z]``, ``[!a-z]``, ``\\`` escapes a punctuation character), a quoted name (backticks or
double quotes, doubled to escape) or a ``/regex/`` (searched, not anchored). A rule starting
with ``!`` excludes; the *last* rule that matches decides. ``#`` starts a comment and
``@path`` reads more rules from a file, one a line. Unquoted names may only contain letters,
digits, ``_``, ``$`` and non-ASCII characters, so ``my-db.*`` must be written
```` `my-db`.* ```` or ``my\\-db.*``: that keeps a typo from silently matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError

_REGEX = re.compile(r"/((?:\\.|[^/])+)/")
_DOUBLE_QUOTED = re.compile(r'"((?:""|[^"])+)"')
_BACKQUOTED = re.compile(r"`((?:``|[^`])+)`")
_CHAR_CLASS = re.compile(r"\[!?(?:\\[^0-9a-zA-Z]|[^\\\]])+\]")


class _PatternError(ValueError):
    """A rule does not parse; the caller adds which rule."""


@dataclass(frozen=True)
class _Matcher:
    """One side of a rule: a literal name, ``*`` (everything) or a compiled regex."""

    literal: str | None = None
    regex: re.Pattern[str] | None = None

    @property
    def matches_all(self) -> bool:
        return self.literal is None and self.regex is None

    def match(self, name: str) -> bool:
        if self.literal is not None:
            return name == self.literal
        if self.regex is not None:
            return self.regex.search(name) is not None
        return True


@dataclass(frozen=True)
class _Rule:
    schema: _Matcher
    table: _Matcher
    positive: bool


def _compile(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise _PatternError(f"invalid regular expression {pattern!r}: {exc}") from exc


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _parse_wildcard(text: str, case_sensitive: bool) -> tuple[_Matcher, str]:
    literal: list[str] = []
    regex: list[str] = []
    is_literal = True
    i = 0
    while i < len(text):
        char = text[i]
        if char == ".":
            break
        if char == "\\":
            if i + 1 == len(text):
                raise _PatternError("cannot place \\ at the end of a pattern")
            escaped = text[i + 1]
            if _is_ascii_alnum(escaped):
                raise _PatternError(f"cannot escape a letter or digit (\\{escaped})")
            literal.append(escaped)
            regex.append(re.escape(escaped))
            i += 2
        elif char == "*":
            is_literal = False
            regex.append(".*")
            i += 1
        elif char == "?":
            is_literal = False
            regex.append(".")
            i += 1
        elif char == "[":
            found = _CHAR_CLASS.match(text, i)
            if found is None:
                raise _PatternError("cannot parse the character class")
            body = found.group()[1:-1]
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\^" + body[1:]
            is_literal = False
            regex.append(f"[{body}]")
            i = found.end()
        elif char in "$_" or _is_ascii_alnum(char) or not char.isascii():
            literal.append(char)
            regex.append(re.escape(char))
            i += 1
        else:
            raise _PatternError(f"unexpected special character {char!r}")
    rest = text[i:]
    if is_literal:
        name = "".join(literal)
        return _Matcher(literal=name if case_sensitive else name.lower()), rest
    if regex == [".*"]:
        return _Matcher(), rest
    return _Matcher(regex=_compile("(?s)^" + "".join(regex) + r"\Z", case_sensitive)), rest


def _parse_pattern(text: str, case_sensitive: bool) -> tuple[_Matcher, str]:
    if not text:
        raise _PatternError("missing pattern")
    quoted = {"/": _REGEX, '"': _DOUBLE_QUOTED, "`": _BACKQUOTED}.get(text[0])
    if quoted is None:
        return _parse_wildcard(text, case_sensitive)
    found = quoted.match(text)
    if found is None:
        raise _PatternError("incomplete regular expression" if text[0] == "/" else "incomplete quoted name")
    body, rest = found.group(1), text[found.end() :]
    if text[0] == "/":
        return _Matcher(regex=_compile(body, case_sensitive)), rest
    name = body.replace(text[0] * 2, text[0])
    return _Matcher(literal=name if case_sensitive else name.lower()), rest


def _parse_rule(line: str, case_sensitive: bool) -> _Rule:
    positive = not line.startswith("!")
    if not positive:
        line = line[1:]
    schema, rest = _parse_pattern(line, case_sensitive)
    if not rest.startswith("."):
        raise _PatternError("missing '.' between the schema and table patterns")
    table, rest = _parse_pattern(rest[1:], case_sensitive)
    if rest:
        raise _PatternError(f"stray characters after the table pattern: {rest!r}")
    return _Rule(schema, table, positive)


class TableFilter:
    """A parsed ``mydumper.filter``; ``case_sensitive=False`` folds names and patterns to lower case."""

    def __init__(self, rules: Sequence[str], *, case_sensitive: bool = False, key: str = "mydumper.filter"):
        self._case_sensitive = case_sensitive
        parsed: list[_Rule] = []
        for index, raw in enumerate(rules):
            where = f"{key}[{index}]"
            for line in self._expand(raw, where):
                try:
                    parsed.append(_parse_rule(line, case_sensitive))
                except _PatternError as exc:
                    raise ConfigError(f"invalid table filter rule {line!r}: {exc}", key=where) from exc
        parsed.reverse()  # the last rule that matches wins
        self._rules = parsed

    @staticmethod
    def _expand(raw: str, where: str) -> Iterable[str]:
        """The rule lines of one filter entry: itself, or the lines of an ``@file``."""
        line = raw.strip(" \t")
        if not line.startswith("@"):
            return [line] if line and not line.startswith("#") else []
        try:
            with open(line[1:], encoding="utf-8") as handle:
                lines = [text.strip(" \t\r\n") for text in handle]
        except OSError as exc:
            raise ConfigError(f"cannot read filter file {line[1:]!r}: {exc.strerror or exc}", key=where) from exc
        if any(text.startswith("@") for text in lines):
            raise ConfigError("a filter file cannot import another filter file", key=where)
        return [text for text in lines if text and not text.startswith("#")]

    def _fold(self, name: str) -> str:
        return name if self._case_sensitive else name.lower()

    def match_table(self, schema: str, table: str) -> bool:
        """Whether ``schema.table`` is selected."""
        schema, table = self._fold(schema), self._fold(table)
        for rule in self._rules:
            if rule.schema.match(schema) and rule.table.match(table):
                return rule.positive
        return False

    def match_schema(self, schema: str) -> bool:
        """Whether the database itself is selected (its schema-create file is used).

        A database is selected when the deciding rule may select tables in it: an exclusion
        only removes the whole database when its table pattern is ``*``.
        """
        schema = self._fold(schema)
        for rule in self._rules:
            if rule.schema.match(schema) and (rule.positive or rule.table.matches_all):
                return rule.positive
        return False
