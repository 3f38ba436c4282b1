"""Key pairs for end-to-end messaging, and registering their public halves (docs/key-registration.md).

A user has a signing key (Ed25519, or RSA-PSS) and an encryption key (X25519, or
RSA-OAEP). `generate(purpose, family)` makes one; "ed25519" is the default family
(Ed25519 signing, X25519 encryption), "rsa" makes RSA-3072 keys for both. A key's
fingerprint is the lowercase hex SHA-256 of its DER SubjectPublicKeyInfo, as the
registry and the envelope name keys.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, x25519

PURPOSES = ("signing", "encryption")
FAMILIES = ("ed25519", "rsa")
RSA_BITS = 3072
RSA_PUBLIC_EXPONENT = 65537
# RSASSA-PSS as the registry accepts it: SHA-256, MGF1-SHA-256, a 32-byte salt.
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

PrivateKey = ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | x25519.X25519PublicKey | rsa.RSAPublicKey


@dataclass
class KeyPair:
    """One private key with what the client records about it.

    `status`: "pending" (made here, not registered yet), "active" (registered, the one in use),
    "retired" (replaced by a newer key; kept to read and verify old messages).
    """

    purpose: str
    algorithm: str              # ed25519 | x25519 | rsa
    private_key: PrivateKey
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    status: str = "pending"
    registered_at: str | None = None
    retired_at: str | None = None

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    @property
    def public_pem(self) -> str:
        return public_pem(self.public_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def private_pem(self) -> str:
        """Unencrypted PKCS#8: only ever written inside the encrypted key file."""
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()).decode()


def generate(purpose: str, family: str = "ed25519") -> KeyPair:
    """A new key pair for `purpose` ("signing" or "encryption") of `family` ("ed25519" or "rsa")."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}: signing or encryption")
    if family == "rsa":
        return KeyPair(purpose, "rsa", rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT,
                                                                 key_size=RSA_BITS))
    if family != "ed25519":
        raise ValueError(f"unknown key family {family!r}: ed25519 or rsa")
    if purpose == "signing":
        return KeyPair(purpose, "ed25519", ed25519.Ed25519PrivateKey.generate())
    return KeyPair(purpose, "x25519", x25519.X25519PrivateKey.generate())


def algorithm_of(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    if isinstance(key, (x25519.X25519PrivateKey, x25519.X25519PublicKey)):
        return "x25519"
    raise ValueError(f"unsupported key type {type(key).__name__}")


def fingerprint(public_key: PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_pem(pem: str) -> PublicKey:
    """A public key from PEM; ValueError if it is not one this platform uses."""
    key = serialization.load_pem_public_key(pem.encode())
    algorithm_of(key)
    return key


def load_private_pem(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    algorithm_of(key)
    return key


def sign(private_key: PrivateKey, message: bytes) -> bytes:
    """Ed25519, or RSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt)."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(message, PSS, hashes.SHA256())
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    raise ValueError("an encryption key cannot sign")


def verify(public_key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, PSS, hashes.SHA256())
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def registration_statement(challenge: str, purpose: str, key_fingerprint: str) -> bytes:
    """What the proof of possession signs (docs/key-registration.md, v1)."""
    return f"BeYou key registration v1\n{challenge}\n{purpose}\n{key_fingerprint}".encode()


def registration(key: KeyPair, challenge: str, signer: KeyPair) -> dict:
    """The body of POST /api/auth/keys for `key`: a signing key signs its own statement; an encryption
    key's statement is signed by the user's active signing key (`signer`)."""
    if signer.purpose != "signing":
        raise ValueError("only a signing key vouches for a key")
    if key.purpose == "signing" and signer is not key:
        raise ValueError("a signing key proves possession by signing its own statement")
    statement = registration_statement(challenge, key.purpose, key.fingerprint)
    return {"purpose": key.purpose, "algorithm": key.algorithm, "pem": key.public_pem, "challenge": challenge,
            "signature": base64.b64encode(sign(signer.private_key, statement)).decode()}


def grouped(key_fingerprint: str, size: int = 4) -> str:
    """A fingerprint as people compare it aloud: groups of four hex digits."""
    return " ".join(key_fingerprint[i:i + size] for i in range(0, len(key_fingerprint), size))
