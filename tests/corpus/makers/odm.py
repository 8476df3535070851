"""ODM exports a hand cannot write: values of megabytes, nesting past the parser's depth,
a cut copy, a prolog too long to look through, every value of an item changed."""

from __future__ import annotations

import re
from pathlib import Path


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def long_value(folder: Path, path: Path, oid: str, megabytes: float) -> bytes:
    """The item's first value made `megabytes` MiB long (its ItemDef's Length dropped)."""
    text = _text(path)
    text = re.sub(rf'(<ItemDef OID="{re.escape(oid)}"[^>]*?) Length="\d+"', r"\1", text, count=1)
    value = "x" * int(megabytes * (1 << 20))
    return re.sub(
        rf'(ItemOID="{re.escape(oid)}" Value=")[^"]*', rf"\g<1>{value}", text, count=1
    ).encode()


def every_value(folder: Path, path: Path, oid: str, value: str) -> bytes:
    """Every value of the item replaced (a whole column exported wrong)."""
    pattern = rf'(ItemOID="{re.escape(oid)}" Value=")[^"]*'
    return re.sub(pattern, lambda m: m.group(1) + value, _text(path)).encode()


def nested(folder: Path, path: Path, depth: int) -> bytes:
    """Elements nested `depth` deep before the ClinicalData."""
    extra = "<X>" * depth + "</X>" * depth
    return _text(path).replace("<ClinicalData", extra + "<ClinicalData", 1).encode()


def truncated(folder: Path, path: Path, share: float) -> bytes:
    """The first `share` of the file's bytes: a copy cut short."""
    data = path.read_bytes()
    return data[: int(len(data) * share)]


def long_prolog(folder: Path, path: Path, megabytes: float) -> bytes:
    """A comment of `megabytes` MiB between the XML declaration and the root."""
    declaration, _, rest = _text(path).partition("?>")
    comment = "<!--" + "x" * int(megabytes * (1 << 20)) + "-->"
    return (declaration + "?>\n" + comment + rest).encode()


def huge_attribute(folder: Path, path: Path, megabytes: float) -> bytes:
    """The root element with an attribute value of `megabytes` MiB."""
    value = "x" * int(megabytes * (1 << 20))
    return _text(path).replace("<ODM ", f'<ODM Comment="{value}" ', 1).encode()


def second_clinical_data(folder: Path, path: Path, version: str) -> bytes:
    """A second ClinicalData, of another MetaDataVersion, holding the first subject again."""
    text = _text(path)
    start = text.index("  <ClinicalData")
    first = text.index("    </SubjectData>", start) + len("    </SubjectData>\n")
    clinical = text[start:first] + "  </ClinicalData>\n"
    clinical = re.sub(r'MetaDataVersionOID="[^"]*"', f'MetaDataVersionOID="{version}"', clinical)
    clinical = clinical.replace('SubjectKey="001"', 'SubjectKey="901"')
    return text.replace("</ODM>", clinical + "</ODM>").encode()


def many_groups(folder: Path, path: Path, count: int) -> bytes:
    """`count` more ItemGroupDefs (IG.X00, IG.X01, ...) at the end of the metadata."""
    groups = "".join(
        f'      <ItemGroupDef OID="IG.X{i:02d}" Name="Extra {i}" Repeating="No"/>\n'
        for i in range(count)
    )
    return (
        _text(path).replace("    </MetaDataVersion>", groups + "    </MetaDataVersion>", 1).encode()
    )
