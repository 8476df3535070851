"""What a fuzz target is: the folder its entry point reads, the function one input goes
through, the inputs it starts from and the tokens that help the mutator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fuzz import material
from trialbridge.converters.source_tables import read_tables
from trialbridge.study import Source, load_study

# one input's bytes -> the entry point a command calls on such a file
Feed = Callable[[bytes], None]


@dataclass(frozen=True)
class Target:
    """`prepare(work, material)` lays out what the entry point reads beside the input (a
    study folder, say) in the empty folder `work` and returns the feed; `seeds(material)`
    gives named starting inputs made from the project's own fixtures and outputs (see
    `material`); `tokens`, and those `harvest` finds in the seeds, go into the libFuzzer
    dictionary; inputs are at most `max_len` bytes; `mutator`, when given, replaces
    libFuzzer's byte mutations (atheris' custom_mutator: data, max_size, seed -> data)."""

    name: str
    prepare: Callable[[Path, Path], Feed]
    seeds: Callable[[Path], dict[str, bytes]]
    tokens: tuple[bytes, ...] = field(default=())
    max_len: int = 16_384
    harvest: Callable[[Iterable[bytes]], set[bytes]] | None = None
    mutator: Callable[[bytes, int, int], bytes] | None = None


def source_feed(work: Path, made: Path, file: str) -> Feed:
    """The feed of a form export at `file` of a copy of the bundled study, read as `convert`
    reads a source that names the file and nothing else."""
    folder = load_study(material.copy_fixtures(made, work) / "plmsc-spms")
    source = Source(name="form", file=file)
    path = folder.source_path(source)

    def feed(data: bytes) -> None:
        path.write_bytes(data)
        read_tables(folder, source)

    return feed


def fixed_seeds(name: str) -> dict[str, bytes]:
    """The hand-made seeds committed in fuzz/seeds/<name>/."""
    folder = Path(__file__).parent / "seeds" / name
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def under(limit: int, seeds: dict[str, bytes]) -> dict[str, bytes]:
    """The seeds that fit in `limit` bytes (libFuzzer would cut the others short)."""
    return {name: data for name, data in seeds.items() if len(data) <= limit}
