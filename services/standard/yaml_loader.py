"""A strict YAML loader for documents that vendors submit (manifests).

It accepts the JSON-compatible subset of YAML only and keeps where every value came from:

- no aliases: an alias bomb ("billion laughs") fails at its first alias, before anything is
  expanded (an anchor nobody refers to is harmless and allowed);
- no tags beyond the JSON types (`!!python/...`, `!!binary`, `!!set`, custom `!tags` are
  refused), and no merge keys (`<<`);
- duplicate keys are errors (plain YAML silently keeps the last one);
- dates and times stay the text the vendor wrote (YAML 1.1 would turn `2026-01-01` into a date,
  which JSON cannot hold); keys are the text written (`1.0:` is the key "1.0");
- at most `MAX_DEPTH` levels of nesting and `MAX_NODES` values, so the cost of a document is
  bounded whatever its shape.

The result is the data plus a map from JSON pointer to 1-based line, so every later error can
name the line it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 40
MAX_NODES = 5000
"""Values (scalars, lists, mappings, keys included) in one document; the seed has about 60."""

_YAML_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _YAML_TAG + "merge"
# Scalars: the JSON types, plus the tags YAML 1.1 resolves implicitly for plain text
# (timestamps, `=` and `!`/`&`/`*` on their own), which stay the text written.
_SCALAR_TAGS = frozenset(
    _YAML_TAG + name
    for name in ("str", "int", "float", "bool", "null", "timestamp", "value", "yaml")
)
_KIND_TAGS = {
    MappingNode: frozenset({_YAML_TAG + "map"}),
    SequenceNode: frozenset({_YAML_TAG + "seq"}),
    ScalarNode: _SCALAR_TAGS,
}


@dataclass(frozen=True)
class YamlProblem:
    """One reason the text could not be loaded, in English and Korean."""

    pointer: str
    line: int | None
    message: str
    message_ko: str


class YamlLoadError(Exception):
    """The text is not an acceptable YAML document; `problems` says why (at least one)."""

    def __init__(self, problems: list[YamlProblem]):
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedDocument:
    data: object
    lines: dict[str, int]
    """JSON pointer -> 1-based line of the key (or list item) that holds the value."""


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _line_of(node_or_event) -> int:
    return node_or_event.start_mark.line + 1


class _Refused(Exception):
    def __init__(self, problem: YamlProblem):
        super().__init__(problem.message)
        self.problem = problem


def _too_deep(line: int) -> YamlProblem:
    return YamlProblem(
        pointer="",
        line=line,
        message=(
            f"the document is nested more than {MAX_DEPTH} levels deep: flatten it; a manifest "
            "needs at most 5 levels"
        ),
        message_ko=(
            f"문서가 {MAX_DEPTH}단계보다 깊게 중첩되어 있습니다. 매니페스트는 5단계면 충분하니 "
            "구조를 줄이세요."
        ),
    )


def _alias_problem(pointer: str, line: int) -> YamlProblem:
    return YamlProblem(
        pointer=pointer,
        line=line,
        message="YAML aliases (*name) are not allowed: write the value out in full",
        message_ko="YAML 별칭(*이름)은 허용되지 않습니다. 값을 그대로 풀어서 쓰세요.",
    )


def _too_many_problem(line: int) -> YamlProblem:
    return YamlProblem(
        pointer="",
        line=line,
        message=(
            f"the document holds more than {MAX_NODES} values: a manifest needs a few hundred; "
            "remove what the market does not need"
        ),
        message_ko=(
            f"문서에 값이 {MAX_NODES}개보다 많습니다. 매니페스트에는 수백 개면 충분하니 마켓에 "
            "필요 없는 내용을 지우세요."
        ),
    )


def _tag_problem(tag: str, pointer: str, line: int) -> YamlProblem:
    shown = "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag
    return YamlProblem(
        pointer=pointer,
        line=line,
        message=(
            f"the YAML tag {shown} is not allowed: remove it and write a plain value (text, "
            "number, true/false, list or mapping)"
        ),
        message_ko=(
            f"YAML 태그 {shown}은(는) 허용되지 않습니다. 태그를 지우고 일반 값(문자열, 숫자, "
            "true/false, 목록, 매핑)으로 쓰세요."
        ),
    )


class _PurePythonLoader(yaml.SafeLoader):
    """PyYAML's pure-Python parser, used when libyaml is not installed.

    Its composer and scanner need two guards that libyaml has built in: the composer recurses
    once per nesting level, and the scanner rescans every pending flow level per token
    (quadratic time on `[[[[...`).
    """

    _depth = 0

    def fetch_flow_collection_start(self, TokenClass):  # noqa: N803 (PyYAML's name)
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(_too_deep(self.get_mark().line + 1))
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                raise _Refused(_too_deep(_line_of(self.peek_event())))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# libyaml's reader, scanner, parser and composer are about ten times faster.
_LOADER_CLASS: type = yaml.CSafeLoader if yaml.__with_libyaml__ else _PurePythonLoader


class _Builder:
    """Turns a composed node tree into JSON-compatible values, enforcing the subset.

    Composers share the node of an anchor with every alias to it instead of copying it, so an
    alias shows up here as a node seen twice, before anything has been expanded.
    """

    def __init__(self, loader):
        self._loader = loader
        self._seen: set[int] = set()
        self.lines: dict[str, int] = {}
        self.duplicates: list[YamlProblem] = []

    def build(self, node: Node, pointer: str, *, depth: int, line: int):
        """`line` is where the value is written (the line of its key or list item)."""
        if id(node) in self._seen:
            raise _Refused(_alias_problem(pointer, line))
        self._seen.add(id(node))
        if len(self._seen) > MAX_NODES:
            raise _Refused(_too_many_problem(line))
        if depth > MAX_DEPTH:
            raise _Refused(_too_deep(line))
        expected = _KIND_TAGS[type(node)]
        if node.tag not in expected and node.tag != _MERGE_TAG:
            raise _Refused(_tag_problem(node.tag, pointer, _line_of(node)))
        if isinstance(node, MappingNode):
            return self._build_mapping(node, pointer, depth)
        if isinstance(node, SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                child_pointer = f"{pointer}/{index}"
                child_line = _line_of(child) if id(child) not in self._seen else line
                self.lines[child_pointer] = child_line
                items.append(self.build(child, child_pointer, depth=depth + 1, line=child_line))
            return items
        return self._build_scalar(node, pointer)

    def _build_mapping(self, node: MappingNode, pointer: str, depth: int) -> dict:
        result: dict = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self._key_text(key_node, pointer)
            child_pointer = f"{pointer}/{escape_pointer_token(key)}"
            key_line = _line_of(key_node)
            if key in first_line:
                self.duplicates.append(
                    YamlProblem(
                        pointer=child_pointer,
                        line=key_line,
                        message=(
                            f"the key `{key}` appears twice (lines {first_line[key]} and "
                            f"{key_line}): keep one of them"
                        ),
                        message_ko=(
                            f"키 `{key}`이(가) 두 번 나옵니다({first_line[key]}행과 {key_line}행). "
                            "하나만 남기세요."
                        ),
                    )
                )
                continue
            first_line[key] = key_line
            self.lines[child_pointer] = key_line
            result[key] = self.build(value_node, child_pointer, depth=depth + 1, line=key_line)
        return result

    def _key_text(self, key_node: Node, pointer: str) -> str:
        if id(key_node) in self._seen:
            raise _Refused(_alias_problem(pointer, _line_of(key_node)))
        self._seen.add(id(key_node))
        if not isinstance(key_node, ScalarNode):
            raise _Refused(
                YamlProblem(
                    pointer=pointer,
                    line=_line_of(key_node),
                    message="a key must be plain text, not a list or mapping: write `name: value`",
                    message_ko="키는 목록이나 매핑이 아닌 일반 문자열이어야 합니다. `이름: 값` 형태로 쓰세요.",
                )
            )
        if key_node.tag == _MERGE_TAG:
            raise _Refused(
                YamlProblem(
                    pointer=pointer,
                    line=_line_of(key_node),
                    message="YAML merge keys (<<) are not allowed: write the keys out in full",
                    message_ko="YAML 병합 키(<<)는 허용되지 않습니다. 키를 모두 풀어서 쓰세요.",
                )
            )
        if key_node.tag not in _SCALAR_TAGS:
            raise _Refused(_tag_problem(key_node.tag, pointer, _line_of(key_node)))
        # The key as written: `1.0:` is the key "1.0", `yes:` the key "yes".
        return key_node.value

    def _build_scalar(self, node: ScalarNode, pointer: str):
        tag = node.tag
        if tag == _MERGE_TAG:
            raise _Refused(
                YamlProblem(
                    pointer=pointer,
                    line=_line_of(node),
                    message="`<<` is a YAML merge key: put it in quotes if you mean the text",
                    message_ko="`<<`는 YAML 병합 키입니다. 문자열이라면 따옴표로 감싸세요.",
                )
            )
        if tag == _YAML_TAG + "null":
            return None
        constructors = {
            _YAML_TAG + "int": self._loader.construct_yaml_int,
            _YAML_TAG + "float": self._loader.construct_yaml_float,
            _YAML_TAG + "bool": self._loader.construct_yaml_bool,
        }
        if tag not in constructors:
            return node.value  # text, and timestamps etc. exactly as written
        try:
            return constructors[tag](node)
        except (ValueError, OverflowError, KeyError):
            # e.g. an integer with more digits than Python converts from text, or an explicit
            # `!!bool maybe`.
            shown = node.value[:40]
            raise _Refused(
                YamlProblem(
                    pointer=pointer,
                    line=_line_of(node),
                    message=(
                        f"the value `{shown}` cannot be read as a number or true/false: write a "
                        "shorter number, or put text in quotes"
                    ),
                    message_ko=(
                        f"값 `{shown}`은(는) 숫자나 true/false로 읽을 수 없습니다. 더 짧은 숫자를 "
                        "쓰거나, 문자열이면 따옴표로 감싸세요."
                    ),
                )
            ) from None


def _syntax_problem(error: yaml.YAMLError, text: str) -> YamlProblem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        line = mark.line + 1
    elif isinstance(getattr(error, "position", None), int):
        line = text.count("\n", 0, error.position) + 1
    else:
        line = None
    if "maximum nesting depth" in str(getattr(error, "problem", "")):  # libyaml's own limit
        return _too_deep(line)
    if isinstance(error, yaml.reader.ReaderError):
        detail = f"the character U+{error.character:04X} is not allowed in YAML"
    else:
        detail = getattr(error, "problem", None) or "the text cannot be read"
        context = getattr(error, "context", None)
        if context:
            detail = f"{context}, {detail}"
    return YamlProblem(
        pointer="",
        line=line,
        message=f"the text is not valid YAML or JSON ({detail}): fix the syntax on this line",
        message_ko=f"YAML 또는 JSON 문법 오류입니다({detail}). 이 줄의 문법을 고치세요.",
    )


def load_strict_yaml(text: str) -> LoadedDocument:
    """Load one YAML (or JSON) document; raise `YamlLoadError` with every problem found.

    An empty document loads as `None`. Several `---` documents are a syntax error.
    """
    try:
        loader = _LOADER_CLASS(text)
    except yaml.YAMLError as error:  # the reader refuses unprintable characters up front
        raise YamlLoadError([_syntax_problem(error, text)]) from None
    try:
        try:
            root = loader.get_single_node()
        except _Refused as refused:  # the pure-Python parser's guards
            raise YamlLoadError([refused.problem]) from None
        except yaml.YAMLError as error:
            raise YamlLoadError([_syntax_problem(error, text)]) from None
        if root is None:
            return LoadedDocument(data=None, lines={})
        builder = _Builder(loader)
        try:
            data = builder.build(root, "", depth=1, line=_line_of(root))
        except _Refused as refused:
            raise YamlLoadError([refused.problem]) from None
    finally:
        loader.dispose()
    if builder.duplicates:
        raise YamlLoadError(builder.duplicates)
    builder.lines[""] = _line_of(root)
    return LoadedDocument(data=data, lines=builder.lines)
