"""File contents the corpus cannot write by hand: binary, huge or deeply nested. Each maker
takes the case's input folder and the file's path (to read what is there) and returns the
file's new bytes."""

from __future__ import annotations

from pathlib import Path


def encoded(folder: Path, path: Path, text: str, encoding: str) -> bytes:
    """`text` in another encoding (Latin-1, UTF-16, ...)."""
    return text.encode(encoding)


def transcoded(folder: Path, path: Path, encoding: str) -> bytes:
    """The file as it is, re-encoded (a UTF-8 file saved as Latin-1, say)."""
    return path.read_text(encoding="utf-8").encode(encoding)


def with_bytes(folder: Path, path: Path, old: str, new_hex: str) -> bytes:
    """The file with the first `old` replaced by raw bytes (NUL, invalid UTF-8, ...)."""
    data = path.read_bytes()
    assert old.encode() in data, old
    return data.replace(old.encode(), bytes.fromhex(new_hex), 1)


def raw(folder: Path, path: Path, hex: str) -> bytes:
    return bytes.fromhex(hex)


def repeated(folder: Path, path: Path, head: str, body: str, times: int, tail: str = "") -> bytes:
    """`head`, then `body` `times` times, then `tail`: long fields, many rows, deep nests."""
    return (head + body * times + tail).encode()


def yaml_alias_bomb(folder: Path, path: Path, levels: int = 9) -> bytes:
    """The 'billion laughs' of YAML: each level's list names the one before nine times."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def nested(
    folder: Path, path: Path, opening: str, closing: str, depth: int, inner: str = ""
) -> bytes:
    """`opening` `depth` times, `inner`, then `closing` as many times."""
    return (opening * depth + inner + closing * depth).encode()


def nested_block(folder: Path, path: Path, depth: int) -> bytes:
    """Mappings nested `depth` deep by indentation."""
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)).encode() + b"  x: 1\n"


def json_set(folder: Path, path: Path, keys: list[str | int], value: object) -> bytes:
    """The JSON file with the value at `keys` (object keys and list indexes) replaced, written
    back indented by two as trialbridge writes its manifests."""
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return (json.dumps(data, indent=2) + "\n").encode()
