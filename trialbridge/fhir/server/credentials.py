"""Secrets and keys from where the user keeps them: an environment variable, the first line of
a file, a PEM private key. Each is checked before any request, so that a bad one is one line
naming where it was looked for, and never showing it."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from trialbridge.errors import UserError

LINE_LIMIT = 64 * 1024  # bytes of a secret file's first line
KEY_LIMIT = 1024 * 1024  # bytes of a private key file
MIN_RSA_BITS = 2048
KEY_FIX = "give the client's RSA or EC P-384 private key, as PEM"


def secret(env: str | None, file: Path | None, what: str, ascii_only: bool = False) -> str:
    """A secret from an environment variable or a file's first line, surrounding blanks and the
    line end left out. `ascii_only` for what goes into a header as it is (a bearer token)."""
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise UserError(
                f"{what}: environment variable {env} is not set",
                "--token-env",
                "export it in this shell, or give the secret with --token-file",
            )
        _check(value, f"{what}: environment variable {env}", "--token-env", ascii_only, "variable")
        return value
    if file:
        value = _first_line(file, what)
        _check(value, what, str(file), ascii_only, "file")
        return value
    raise UserError(f"{what} needs --token-env VAR or --token-file FILE", "command line")


def _first_line(file: Path, what: str) -> str:
    fix = f"put the {what} alone on the file's first line"
    try:
        with file.open("rb") as handle:
            line = handle.readline(LINE_LIMIT + 1)
    except OSError as problem:
        raise UserError(f"{what}: cannot read the file: {problem.strerror}", file) from None
    if len(line) > LINE_LIMIT:
        raise UserError(f"{what}: the first line is longer than {LINE_LIMIT:,} bytes", file, fix)
    try:
        text = line.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise UserError(f"{what}: the first line is not UTF-8 text", file, fix) from None
    if not text:
        raise UserError(f"{what}: the first line is empty", file, fix)
    return text


def _check(value: str, what: str, where: str, ascii_only: bool, source: str) -> None:
    """Refuse control characters (a line break would end the header) and, where asked,
    anything not ASCII; the message names the position, never the secret."""
    for position, char in enumerate(value, 1):
        if unicodedata.category(char) == "Cc":
            raise UserError(
                f"{what} holds a control character (U+{ord(char):04X}) at character {position}",
                where,
                f"a secret is printable characters on one line: correct the {source}",
            )
        if ascii_only and not char.isascii():
            raise UserError(
                f"{what} holds a non-ASCII character at character {position}",
                where,
                f"a bearer token is printable ASCII: correct the {source}",
            )


def user_name(user: str) -> str:
    """A basic-auth user name: no colon (it ends the name) and no control character."""
    if ":" in user:
        what = "the user name holds a colon, which ends a user name in basic auth"
        raise UserError(what, "--user", "give the user name alone")
    if any(unicodedata.category(c) == "Cc" for c in user):
        raise UserError("the user name holds a control character", "--user", "correct it")
    return user


@dataclass(frozen=True)
class SigningKey:
    key: PrivateKeyTypes = field(repr=False)
    algorithm: str  # RS384 or ES384


def signing_key(path: Path) -> SigningKey:
    """The SMART client's private key, and the algorithm it signs with."""
    try:
        with path.open("rb") as handle:
            data = handle.read(KEY_LIMIT + 1)
    except OSError as problem:
        raise UserError(f"cannot read the private key: {problem.strerror}", path) from None
    if len(data) > KEY_LIMIT:
        raise UserError(f"larger than {KEY_LIMIT // 1024} KiB: not a private key", path, KEY_FIX)
    if b"-----BEGIN PUBLIC KEY-----" in data or b"-----BEGIN RSA PUBLIC KEY-----" in data:
        raise UserError("a public key, not the private key", path, KEY_FIX)
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise UserError(
            "the private key is encrypted",
            path,
            "give it unencrypted (openssl pkey -in KEY -out PLAIN.pem), kept where only you read",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise UserError("not a PEM private key", path, KEY_FIX) from None
    return SigningKey(key, _algorithm(key, path))


def _algorithm(key: PrivateKeyTypes, path: Path) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise UserError(
                f"a {key.key_size}-bit RSA key: RS384 needs {MIN_RSA_BITS} bits or more",
                path,
                KEY_FIX,
            )
        return "RS384"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP384R1):
            raise UserError(
                f"an EC key on curve {key.curve.name}: ES384 signs with P-384 (secp384r1) only",
                path,
                KEY_FIX,
            )
        return "ES384"
    kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "")
    what = f"the key is of type {kind}: SMART Backend Services signs with RSA or EC keys"
    raise UserError(what, path, KEY_FIX)
