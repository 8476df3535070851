"""Private keys for the SMART cases of the fhir_server corpus: kinds of key that cannot sign a
SMART Backend Services assertion (fresh each time: the line never depends on the key)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def private_key(folder: Path, path: Path, kind: str) -> bytes:
    """A PEM private key: ed25519, ec-p256 or rsa-1024 (unfit), or p384-encrypted."""
    keys = {
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ec-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "rsa-1024": lambda: rsa.generate_private_key(65537, 1024),
        "p384-encrypted": lambda: ec.generate_private_key(ec.SECP384R1()),
    }
    key = keys[kind]()
    protection = (
        serialization.BestAvailableEncryption(b"passphrase")
        if kind.endswith("encrypted")
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection
    )


def public_key(folder: Path, path: Path) -> bytes:
    """The public half of an EC P-384 key: what a user may give by mistake."""
    key = ec.generate_private_key(ec.SECP384R1())
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
