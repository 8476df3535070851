"""Conversions between UCUM codes, worked out by ucumvert (UCUM grammar) and pint (arithmetic).

Imported lazily by `units`: loading the grammar and the unit registry costs most of a second,
which a study whose conversions are all same-unit or in a table never pays. A conversion is
affine (value * factor + offset); only temperatures have an offset."""

from __future__ import annotations

import functools
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lxml import etree

from trialbridge.sdtm.units import ROW_FIX

# UCUM's U is the enzyme unit (1 umol/min); CDISC's U ("Unit") is whatever unit of activity a
# laboratory or a product label defines, so U converts only to U, like UCUM's arbitrary units
LIKE_ARBITRARY = frozenset({"U"})
_MASS_PER_AMOUNT = {"[mass]": 1, "[substance]": -1}
_WORDS = {
    "[length]": "length",
    "[mass]": "mass",
    "[time]": "time",
    "[temperature]": "temperature",
    "[substance]": "amount of substance",
    "[current]": "electric current",
    "[luminosity]": "luminous intensity",
}


@dataclass(frozen=True)
class Affine:
    factor: float
    offset: float


class Refused(Exception):
    """Why UCUM gives no conversion for a pair: `why` completes "no conversion from A to B
    for TEST: ..."; `fix` says what the user can do; both may name {TEST}, the test code."""

    def __init__(self, why: str, fix: str) -> None:
        self.why, self.fix = why, fix
        super().__init__(why)


@dataclass(frozen=True)
class _Parsed:
    quantity: Any  # a pint Quantity: the code's size in pint units (None: pint cannot say)
    powers: Counter[str]  # atom or {annotation} -> net exponent


class Ucum:
    """The parser, the registry and the arbitrary units, loaded once per process."""

    def __init__(self) -> None:
        import pint
        import ucumvert

        self.registry = pint.UnitRegistry()
        defs = resources.files("ucumvert").joinpath("pint_ucum_defs.txt")
        with resources.as_file(defs) as path:
            self.registry.load_definitions(path)
        self.parser = ucumvert.get_ucum_parser()
        # an explicit registry: the default one is pint's application-wide registry
        self.transformer = ucumvert.UcumToPintTransformer(ureg=self.registry)
        self.arbitrary = _arbitrary_atoms() | LIKE_ARBITRARY

    @functools.cache  # noqa: B019 (one instance per process)
    def parse(self, code: str) -> _Parsed | None:
        """The code's size and atoms; None if it is not UCUM."""
        try:
            tree = self.parser.parse(code)
        except Exception:  # lark's and ucumvert's errors alike
            return None
        try:
            quantity = self.registry.Quantity(self.transformer.transform(tree))
        except Exception:  # valid UCUM pint cannot size, such as Cel/h (an offset in a product)
            quantity = None
        return _Parsed(quantity, _powers(tree))

    def affine(
        self,
        a: str,
        b: str,
        weight: float | None,
        valence: float | None,
        shown: tuple[str, str] | None = None,
    ) -> Affine:
        """value in a -> value in b; `weight` (g/mol) bridges mass and amount of substance,
        `valence` equivalents and moles (pint counts 1 eq as 1 mol). `shown` names the two
        units in messages as the user wrote them."""
        pa, pb = self.parse(a), self.parse(b)
        assert pa is not None and pb is not None
        name_a, name_b = shown or (a, b)
        bridge = self._bridge(pa, pb, name_a, name_b)
        if bridge and weight is None:
            raise Refused(
                "mass and amount of substance convert only with a molecular weight of {TEST}",
                "add 'molecular_weights: {{TEST}: g/mol}' to study.yaml, or a unit_conversions row",
            )
        eq = pb.powers["eq"] - pa.powers["eq"]
        if eq and valence is None:
            raise Refused(
                "equivalents and moles convert only with a valence of {TEST}",
                f"{ROW_FIX} (molecular_weights.csv gives the valence of the common ions)",
            )
        scale = (valence or 1.0) ** eq
        pair = f"{name_a} to {name_b}"
        return self._fit(pa.quantity, pb.quantity, bridge, weight, scale, pair)

    def _bridge(self, pa: _Parsed, pb: _Parsed, name_a: str, name_b: str) -> int:
        """0 if the two are commensurable, -1 / +1 if a molecular weight makes them so (see
        `_mass_amount`); else refused."""
        if pa.quantity is None or pb.quantity is None:
            raise Refused(f"UCUM gives no conversion of {name_a} to {name_b}", ROW_FIX)
        odd = self._only_to_themselves(pa.powers) ^ self._only_to_themselves(pb.powers)
        if odd:
            raise Refused(
                f"{name_a} and {name_b} differ in arbitrary units or annotations "
                f"({', '.join(sorted(odd))}), which convert only to themselves",
                f"{ROW_FIX} if the two units are known to relate",
            )
        ratio = pa.quantity.dimensionality / pb.quantity.dimensionality
        bridge = _mass_amount(dict(ratio.items()))
        if bridge is None:
            raise Refused(
                f"{name_a} is {words(pa.quantity)} and {name_b} is {words(pb.quantity)}",
                f"check the standard unit in the spec, or {ROW_FIX}",
            )
        return bridge

    def _only_to_themselves(self, powers: Counter[str]) -> set[str]:
        return {
            f"{atom}^{power}" if power != 1 else atom
            for atom, power in powers.items()
            if power and (atom.startswith("{") or atom in self.arbitrary)
        }

    def _fit(
        self, qa: Any, qb: Any, bridge: int, weight: float | None, scale: float, pair: str
    ) -> Affine:
        """The affine map through two points, checked at a third (a logarithmic unit fails)."""
        grams = self.registry.Quantity(weight or 1.0, "g/mol")

        def at(x: float) -> float:
            value = self.registry.Quantity(x * qa.magnitude, qa.units)
            if bridge:
                value = value * grams**bridge
            return value.to(qb.units).magnitude / qb.magnitude * scale

        try:
            with warnings.catch_warnings():  # a logarithmic unit overflows at 1000
                warnings.simplefilter("ignore", RuntimeWarning)
                zero, one, far = at(0.0), at(1.0), at(1000.0)
        except Exception as err:  # pint refuses offset units in products (Cel/h)
            raise Refused(f"UCUM gives no conversion of {pair}", ROW_FIX) from err
        factor = one - zero
        if not math.isclose(far, zero + 1000.0 * factor, rel_tol=1e-9, abs_tol=1e-12):
            raise Refused(f"{pair} is not a linear conversion (a logarithmic unit)", ROW_FIX)
        return Affine(factor=factor, offset=zero)


@functools.cache
def ucum() -> Ucum:
    return Ucum()


def _mass_amount(ratio: dict[str, float]) -> int | None:
    """0: same dimension; -1: a is mass where b is amount (divide by g/mol); +1: the reverse;
    None: not commensurable."""
    if not ratio:
        return 0
    if ratio == _MASS_PER_AMOUNT:
        return -1
    if ratio == {k: -v for k, v in _MASS_PER_AMOUNT.items()}:
        return 1
    return None


def words(quantity: Any) -> str:
    """A dimension in words: mg/dL is 'mass per volume'."""
    dims = dict(quantity.dimensionality.items())
    if not dims:
        return "a pure number"
    up = [_word(d, p) for d, p in dims.items() if p > 0]
    down = [_word(d, -p) for d, p in dims.items() if p < 0]
    return " per ".join([" times ".join(up) or "1", *down])


def _word(dim: str, power: float) -> str:
    name = _WORDS.get(dim, dim.strip("[]"))
    if dim == "[length]" and power in (2, 3):
        return "area" if power == 2 else "volume"
    return name if power == 1 else f"{name}^{power:g}"


def _powers(tree: Any) -> Counter[str]:
    """Net exponent of every atom and annotation of a parsed code (UCUM reads / and . left to
    right: a/b.c is (a/b).c)."""
    from lark import Token, Tree

    if isinstance(tree, Token):
        if tree.type in ("UNIT_METRIC", "UNIT_NON_METRIC", "ANNOTATION"):
            return Counter({str(tree): 1})
        return Counter()
    assert isinstance(tree, Tree)
    kids = tree.children
    if tree.data == "main_term" and len(kids) == 2:  # leading "/"
        return _scaled(_powers(kids[1]), -1)
    if tree.data == "term" and len(kids) == 3:
        right = _powers(kids[2])
        return _sum(_powers(kids[0]), _scaled(right, -1 if str(kids[1]) == "/" else 1))
    if tree.data == "annotatable" and len(kids) == 2 and getattr(kids[1], "type", "") == "EXPONENT":
        return _scaled(_powers(kids[0]), int(str(kids[1])))
    total: Counter[str] = Counter()
    for kid in kids:
        total = _sum(total, _powers(kid))
    return total


def _scaled(powers: Counter[str], by: int) -> Counter[str]:
    return Counter({atom: power * by for atom, power in powers.items()})


def _sum(a: Counter[str], b: Counter[str]) -> Counter[str]:
    """Counter addition that keeps negative exponents (Counter's + drops them)."""
    out = Counter(a)
    for atom, power in b.items():
        out[atom] += power
    return out


@functools.cache
def _arbitrary_atoms() -> frozenset[str]:
    """UCUM's arbitrary units (isArbitrary="yes" in ucum-essence.xml, which ucumvert ships):
    UCUM defines them as commensurable with nothing but themselves."""
    essence = resources.files("ucumvert").joinpath("vendor", "ucum-essence.xml")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(essence.read_bytes(), parser)
    return frozenset(
        unit.get("Code") for unit in root.iter("{*}unit") if unit.get("isArbitrary") == "yes"
    )
