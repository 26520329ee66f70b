"""Hostile YAML documents a vendor could submit as a manifest, shared by tests and the benchmark."""

from __future__ import annotations


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic alias bomb: ``width ** levels`` strings once expanded (387 million for 9x9)."""
    lines = ['a: &a ["lol"' + ',"lol"' * (width - 1) + "]"]
    for index in range(1, levels + 1):
        previous, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * width) + "]")
    return "\n".join(lines) + "\n"


def python_tag(path: str) -> str:
    """A document whose loading with an unsafe loader would create the directory ``path``."""
    return f'version: "1.0"\nservice: !!python/object/apply:os.mkdir ["{path}"]\n'


def deep_nesting(depth: int = 10000) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"
