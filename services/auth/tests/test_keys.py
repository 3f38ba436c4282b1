import base64
import datetime as dt
import hashlib
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from servicekit.tables import outbox

from auth import keys

# What a client does, written from docs/key-registration.md (not from the server's code).
STATEMENT_HEADER = "BeYou key registration v1"
RSA_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
KEY_REGISTRATION_DOC = Path(__file__).parents[3] / "docs" / "key-registration.md"


def public_pem(private_key) -> str:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint_of(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def statement(challenge: str, purpose: str, fingerprint: str) -> bytes:
    return f"{STATEMENT_HEADER}\n{challenge}\n{purpose}\n{fingerprint}".encode()


def sign(signer, message: bytes) -> str:
    if isinstance(signer, rsa.RSAPrivateKey):
        return base64.b64encode(signer.sign(message, RSA_PSS, hashes.SHA256())).decode()
    return base64.b64encode(signer.sign(message)).decode()


def new_challenge(client, user) -> str:
    response = client.post("/api/auth/keys/challenge", headers=user.headers)
    assert response.status_code == 201, response.json
    return response.json["challenge"]


def registration(client, user, purpose, algorithm, key, *, signer=None, pem=None, challenge=None,
                 signature=None) -> dict:
    """The body a client sends to register `key`'s public half: a fresh challenge and the statement
    signed by `signer` (by default the key itself, as for a signing key). Any part can be replaced."""
    pem = public_pem(key) if pem is None else pem
    challenge = new_challenge(client, user) if challenge is None else challenge
    if signature is None:
        signature = sign(signer or key, statement(challenge, purpose, fingerprint_of(key.public_key())))
    return {"purpose": purpose, "algorithm": algorithm, "pem": pem, "challenge": challenge, "signature": signature}


def post_key(client, user, body):
    return client.post("/api/auth/keys", headers=user.headers, json=body)


def register(client, user, purpose, algorithm, key, **replaced):
    return post_key(client, user, registration(client, user, purpose, algorithm, key, **replaced))


def with_signing_key(client, user, key=None):
    """Register an active signing key for `user` (a new Ed25519 one unless given) and return its private half."""
    key = key or ed25519.Ed25519PrivateKey.generate()
    algorithm = "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ed25519"
    response = register(client, user, "signing", algorithm, key)
    assert response.status_code == 201, response.json
    return key


def refused_field(response, status=422):
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    return set(response.json["errors"])


def keys_of(client, user, reader=None):
    return client.get(f"/api/auth/users/{user.id}/keys", headers=(reader or user).headers).json["items"]


@pytest.fixture(scope="module")
def rsa_2048():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- registering, with a proof of possession ------------------------------------------------

@pytest.mark.parametrize("purpose", ["signing", "encryption"])
def test_an_rsa_2048_key_is_registered_for_signing_or_encryption(client, new_user, purpose):
    user = new_user()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = key if purpose == "signing" else with_signing_key(client, user)
    response = register(client, user, purpose, "rsa", key, signer=signer)
    assert response.status_code == 201, response.json
    assert response.json["fingerprint"] == fingerprint_of(key.public_key())
    assert (response.json["purpose"], response.json["algorithm"], response.json["active"]) == (purpose, "rsa", True)
    assert response.json["user_id"] == user.id


def test_ed25519_signs_and_x25519_encrypts(client, new_user):
    user = new_user()
    signing = with_signing_key(client, user)
    response = register(client, user, "encryption", "x25519", x25519.X25519PrivateKey.generate(), signer=signing)
    assert response.status_code == 201, response.json


def test_an_rsa_signing_key_proves_itself_with_rsa_pss_and_vouches_for_an_encryption_key(client, new_user):
    user = new_user()
    signing = with_signing_key(client, user, rsa.generate_private_key(public_exponent=65537, key_size=3072))
    response = register(client, user, "encryption", "x25519", x25519.X25519PrivateKey.generate(), signer=signing)
    assert response.status_code == 201, response.json
    assert {key["algorithm"] for key in keys_of(client, user)} == {"rsa", "x25519"}


def test_an_rsa_signature_must_be_pss_with_sha256_and_a_32_byte_salt(client, new_user, rsa_2048):
    user = new_user()
    challenge = new_challenge(client, user)
    message = statement(challenge, "signing", fingerprint_of(rsa_2048.public_key()))
    other_paddings = [padding.PKCS1v15(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                      salt_length=padding.PSS.MAX_LENGTH)]
    for other in other_paddings:
        signature = base64.b64encode(rsa_2048.sign(message, other, hashes.SHA256())).decode()
        assert refused_field(register(client, user, "signing", "rsa", rsa_2048, challenge=challenge,
                                      signature=signature)) == {"signature"}
    sha512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=32)
    signature = base64.b64encode(rsa_2048.sign(message, sha512, hashes.SHA512())).decode()
    assert refused_field(register(client, user, "signing", "rsa", rsa_2048, challenge=challenge,
                                  signature=signature)) == {"signature"}
    assert keys_of(client, user) == []


# --- possession: nobody registers a key they do not hold --------------------------------------

@pytest.mark.parametrize("algorithm", ["ed25519", "rsa"])
def test_someone_elses_public_key_cannot_be_registered_without_its_private_key(client, new_user, algorithm):
    owner, thief = new_user(), new_user()
    owners_key = (ed25519.Ed25519PrivateKey.generate() if algorithm == "ed25519"
                  else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    thiefs_key = with_signing_key(client, thief)
    assert refused_field(register(client, thief, "signing", algorithm, owners_key, signer=thiefs_key)) == {
        "signature"}
    random_bytes = base64.b64encode(uuid.uuid4().bytes * 4).decode()
    assert refused_field(register(client, thief, "signing", algorithm, owners_key, signature=random_bytes)) == {
        "signature"}

    captured = registration(client, owner, "signing", algorithm, owners_key)  # the owner's own, valid proof
    assert refused_field(post_key(client, thief, captured)) == {"challenge"}  # bound to the owner
    assert [key["fingerprint"] for key in keys_of(client, thief)] == [fingerprint_of(thiefs_key.public_key())]
    assert post_key(client, owner, captured).status_code == 201  # a refused attempt did not spend it


def test_a_refused_registration_registers_and_publishes_nothing(client, new_user, session):
    owner, thief = new_user(), new_user()
    owners_key = ed25519.Ed25519PrivateKey.generate()
    fingerprint = fingerprint_of(owners_key.public_key())
    registered_events = sa.select(outbox.c.event_id).where(
        outbox.c.event_type == "auth.key.registered", outbox.c.envelope["payload"]["fingerprint"].astext == fingerprint)

    assert register(client, thief, "signing", "ed25519", owners_key,
                    signer=ed25519.Ed25519PrivateKey.generate()).status_code == 422
    assert client.get(f"/api/auth/keys/{fingerprint}", headers=owner.headers).status_code == 404
    assert session.execute(registered_events).all() == []

    assert register(client, owner, "signing", "ed25519", owners_key).status_code == 201
    assert len(session.execute(registered_events).all()) == 1


def test_an_encryption_key_needs_a_signature_by_the_active_signing_key(client, new_user):
    user, other = new_user(), new_user()
    encryption = x25519.X25519PrivateKey.generate()
    unregistered = ed25519.Ed25519PrivateKey.generate()
    response = register(client, user, "encryption", "x25519", encryption, signer=unregistered)
    assert refused_field(response, status=409) == {"signature"}
    assert "register a signing key first" in response.json["detail"]

    retired = with_signing_key(client, user)
    active = with_signing_key(client, user)  # replaces `retired`, which stays listed, inactive
    others = with_signing_key(client, other)
    for not_the_active_one in (retired, others, unregistered):
        assert refused_field(register(client, user, "encryption", "x25519", encryption,
                                      signer=not_the_active_one)) == {"signature"}
    rsa_encryption = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused_field(register(client, user, "encryption", "rsa", rsa_encryption)) == {"signature"}  # itself
    assert {key["purpose"] for key in keys_of(client, user)} == {"signing"}

    assert register(client, user, "encryption", "x25519", encryption, signer=active).status_code == 201
    assert register(client, user, "encryption", "rsa", rsa_encryption, signer=active).status_code == 201


# --- the challenge: bound to its user, single-use, expiring, unforgeable ------------------------

def test_a_challenge_is_needed_and_only_a_signed_in_user_gets_one(client, new_user):
    user = new_user()
    assert client.post("/api/auth/keys/challenge").status_code == 401
    body = registration(client, user, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate())
    for part in ("challenge", "signature"):
        incomplete = {name: value for name, value in body.items() if name != part}
        assert refused_field(post_key(client, user, incomplete)) == {part}
    assert refused_field(post_key(client, user, {**body, "signature": "not base64!"})) == {"signature"}


def test_a_challenge_works_for_one_registration_only(client, new_user):
    user = new_user()
    challenge = new_challenge(client, user)
    assert register(client, user, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                    challenge=challenge).status_code == 201
    response = register(client, user, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                        challenge=challenge)
    assert refused_field(response) == {"challenge"}
    assert "already been used" in response.json["detail"]


def test_a_challenge_is_bound_to_the_user_it_was_issued_to(client, new_user):
    alice, bob = new_user(), new_user()
    alices_challenge = new_challenge(client, alice)
    response = register(client, bob, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                        challenge=alices_challenge)
    assert refused_field(response) == {"challenge"}
    assert "another user" in response.json["detail"]
    assert register(client, alice, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                    challenge=alices_challenge).status_code == 201


def test_a_challenge_expires_after_five_minutes(client, new_user, settings):
    user = new_user()
    now = dt.datetime.now(dt.UTC)
    # Issued by the server (its own function, with its clock set back), signed and proven by the client as usual.
    stale = keys.issue_registration_challenge(settings.secret_key, uuid.UUID(user.id),
                                              now=now - dt.timedelta(minutes=5, seconds=1))
    fresh = keys.issue_registration_challenge(settings.secret_key, uuid.UUID(user.id),
                                              now=now - dt.timedelta(minutes=4))
    response = register(client, user, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                        challenge=stale["challenge"])
    assert refused_field(response) == {"challenge"}
    assert "expired" in response.json["detail"]
    assert register(client, user, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                    challenge=fresh["challenge"]).status_code == 201


def test_a_challenge_the_server_did_not_issue_is_refused(client, new_user):
    user = new_user()
    real = new_challenge(client, user)
    altered = real[:-6] + ("AAAAAA" if not real.endswith("AAAAAA") else "BBBBBB")
    proof_of_work = client.post("/api/auth/challenge").json["token"]  # signed by this server, for another use
    for challenge in (altered, "not-a-challenge", proof_of_work):
        assert refused_field(register(client, user, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                                      challenge=challenge)) == {"challenge"}


def test_a_challenge_says_when_it_expires(client, new_user):
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    response = client.post("/api/auth/keys/challenge", headers=new_user().headers)
    expires_at = dt.datetime.fromisoformat(response.json["expires_at"])
    assert before + dt.timedelta(minutes=5) <= expires_at <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)


def test_the_documented_example_is_what_a_client_computes():
    doc = KEY_REGISTRATION_DOC.read_text()
    signing = ed25519.Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    encryption = x25519.X25519PrivateKey.from_private_bytes(
        bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
    examples = [
        (signing, "signing", ".eJwVyksKwzAMBcC7aF2BrMh-UW7jjwzZlZZCIeTuSWY9B-2DNlqmdG1rcK6W2AaCvS-FZerILcVaAXrR7xu"
                             "fe6N7lAJnmGY2Gfc2axyC2dN0qfHs-L9pSyhQzS5yXhZ8HDQ.p-k1XDWX8QyJWySCocTdhbqWKPs",
         "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",
         "wNZi6SkV/EMn/qwCQ1wXIGxQLZYGe9rQhSZu10vq8rzJgZs5SGMwJ4RFKj4bjnAT7QecLkviWnkk4jA8F3z0BA=="),
        (encryption, "encryption", ".eJwNyksKQlEIANC9OE5Q8-rz7eZ-FN4siiCI9t6dHs4XrgUnDF6a1AVt3gu1jsSjN0ZJn7GodLDBDd6vfO"
                                   "69Lc080FUaKq3EUB2Y5DW5gnr63vl5wMluLtLC6PcHJmQcZQ.MJBiKFrChzD9ZQROFNS01IxTk8Y",
         "291c5293e030452a599851a7c7298f3f16c3ff1bdfafcb598927f2631f9fa641",
         "duYpH7CJHkjwkFnDqqGT1dURB5gJqbrPsI7vgmfrQp6EmazszVt9Al7iNlTKVOJzw6PSu23R1yubJBmQA7tQDg=="),
    ]
    for key, purpose, challenge, fingerprint, signature in examples:
        assert fingerprint_of(key.public_key()) == fingerprint
        message = statement(challenge, purpose, fingerprint)
        assert sign(signing, message) == signature  # Ed25519 is deterministic
        assert hashlib.sha256(message).hexdigest() in doc
        assert all(value in doc for value in (public_pem(key), challenge, fingerprint, signature))


# --- what the key itself must be --------------------------------------------------------------

def test_an_rsa_1024_key_is_refused(client, new_user):
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    assert refused_field(register(client, new_user(), "signing", "rsa", key)) == {"pem"}


def test_an_rsa_key_over_8192_bits_is_refused(client, new_user):
    modulus = (1 << 8192) + 1  # an odd 8193-bit modulus: enough to be parsed as a (useless) public key
    pem = rsa.RSAPublicNumbers(65537, modulus).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    user = new_user()
    with_signing_key(client, user)
    assert refused_field(register(client, user, "encryption", "rsa", None, pem=pem, signature="AAAA")) == {"pem"}


def test_ed25519_is_refused_for_encryption_and_x25519_for_signing(client, new_user):
    user = new_user()
    signing = with_signing_key(client, user)
    assert refused_field(register(client, user, "encryption", "ed25519", ed25519.Ed25519PrivateKey.generate(),
                                  signer=signing)) == {"purpose"}
    assert refused_field(register(client, user, "signing", "x25519", x25519.X25519PrivateKey.generate(),
                                  signer=signing)) == {"purpose"}


def test_a_key_that_is_not_of_the_named_algorithm_is_refused(client, new_user, rsa_2048):
    user = new_user()
    assert refused_field(register(client, user, "signing", "ed25519", rsa_2048)) == {"algorithm"}
    assert refused_field(register(client, user, "signing", "rsa", ed25519.Ed25519PrivateKey.generate())) == {
        "algorithm"}
    ec_pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    assert refused_field(register(client, user, "signing", "rsa", None, pem=ec_pem, signature="AAAA")) == {
        "algorithm"}


@pytest.mark.parametrize("private_format", [serialization.PrivateFormat.PKCS8,
                                            serialization.PrivateFormat.TraditionalOpenSSL])
def test_a_private_key_is_refused(client, new_user, rsa_2048, private_format):
    user = new_user()
    private_pem = rsa_2048.private_bytes(serialization.Encoding.PEM, private_format,
                                         serialization.NoEncryption()).decode()
    # Each with a valid proof for the public half: the private key alone is what is refused.
    assert refused_field(register(client, user, "signing", "rsa", rsa_2048, pem=private_pem)) == {"pem"}
    smuggled = public_pem(rsa_2048) + private_pem  # a public key with the private one appended
    assert refused_field(register(client, user, "signing", "rsa", rsa_2048, pem=smuggled)) == {"pem"}
    encrypted = rsa_2048.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"passphrase")).decode()
    assert refused_field(register(client, user, "signing", "rsa", rsa_2048, pem=encrypted)) == {"pem"}
    assert keys_of(client, user) == []


def test_a_pem_that_is_not_a_key_is_refused(client, new_user):
    user = new_user()
    key = ed25519.Ed25519PrivateKey.generate()
    assert refused_field(register(client, user, "signing", "ed25519", key, pem="hello")) == {"pem"}
    assert refused_field(register(client, user, "signing", "ed25519", key, pem="")) == {"pem"}
    assert refused_field(register(client, user, "authentication", "ed25519", key, pem="x")) == {"purpose"}


def test_the_same_key_cannot_be_registered_twice(client, new_user):
    owner = new_user()
    key = ed25519.Ed25519PrivateKey.generate()
    assert register(client, owner, "signing", "ed25519", key).status_code == 201
    response = register(client, owner, "signing", "ed25519", key)  # a new challenge, a valid proof
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


# --- rotation, look-up, revocation, listing ---------------------------------------------------

def test_a_new_key_replaces_the_active_one_which_stays_listed(client, new_user, app, handlers, running_worker,
                                                             event_probe):
    running_worker(app, handlers)
    user, reader = new_user(), new_user()
    old_key, new_key = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    old = register(client, user, "signing", "ed25519", old_key).json["fingerprint"]
    encryption = register(client, user, "encryption", "x25519", x25519.X25519PrivateKey.generate(),
                          signer=old_key).json["fingerprint"]
    new = register(client, user, "signing", "ed25519", new_key).json["fingerprint"]

    by_fingerprint = {key["fingerprint"]: key for key in keys_of(client, user, reader)}
    assert set(by_fingerprint) == {old, new, encryption}
    assert by_fingerprint[new]["active"] is True
    assert (by_fingerprint[old]["active"], bool(by_fingerprint[old]["deactivated_at"])) == (False, True)
    assert by_fingerprint[encryption]["active"] is True  # other purpose untouched
    active = client.get(f"/api/auth/users/{user.id}/keys?active=true", headers=reader.headers).json["items"]
    assert {key["fingerprint"] for key in active} == {new, encryption}

    registered = event_probe.wait_for("auth.key.registered", where=lambda e: e.payload["fingerprint"] == new)
    assert registered.payload == {**registered.payload, "user_id": user.id, "purpose": "signing",
                                  "algorithm": "ed25519"}
    assert "PRIVATE" not in registered.payload["pem"]
    revoked = event_probe.wait_for("auth.key.revoked", where=lambda e: e.payload["fingerprint"] == old)
    assert (revoked.payload["user_id"], revoked.payload["purpose"]) == (user.id, "signing")


def test_any_signed_in_user_looks_a_key_up_by_fingerprint(client, new_user, rsa_2048):
    owner, reader = new_user(), new_user()
    created = register(client, owner, "encryption", "rsa", rsa_2048, signer=with_signing_key(client, owner)).json
    response = client.get(f"/api/auth/keys/{created['fingerprint'].upper()}", headers=reader.headers)
    assert response.status_code == 200
    assert response.json == created
    assert serialization.load_pem_public_key(response.json["pem"].encode()).public_numbers() == \
        rsa_2048.public_key().public_numbers()
    assert client.get(f"/api/auth/keys/{'0' * 64}", headers=reader.headers).status_code == 404
    assert client.get(f"/api/auth/keys/{created['fingerprint']}").status_code == 401


def test_listing_keys_of_an_unknown_user_is_404(client, new_user):
    response = client.get(f"/api/auth/users/{uuid.uuid4()}/keys", headers=new_user().headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_owner_revokes_a_key_and_nobody_else_can(client, new_user, app, handlers, running_worker,
                                                    event_probe):
    running_worker(app, handlers)
    owner, stranger = new_user(), new_user()
    key = register(client, owner, "signing", "ed25519", ed25519.Ed25519PrivateKey.generate()).json
    path = f"/api/auth/keys/{key['fingerprint']}"
    assert client.delete(path, headers=stranger.headers).status_code == 403
    assert client.get(path, headers=stranger.headers).json["active"] is True
    assert client.delete(path, headers=owner.headers).status_code == 204
    assert client.get(path, headers=stranger.headers).json["active"] is False
    assert client.delete(path, headers=owner.headers).status_code == 409
    event = event_probe.wait_for("auth.key.revoked", where=lambda e: e.payload["fingerprint"] == key["fingerprint"])
    assert event.payload["user_id"] == owner.id
    assert len(event_probe.received("auth.key.revoked",
                                    where=lambda e: e.payload["fingerprint"] == key["fingerprint"])) == 1


def test_a_users_keys_are_listed_a_page_at_a_time(client, new_user):
    user = new_user()
    for _ in range(3):
        with_signing_key(client, user)
    first = client.get(f"/api/auth/users/{user.id}/keys?limit=2", headers=user.headers).json
    second = client.get(f"/api/auth/users/{user.id}/keys?limit=2&cursor={first['next_cursor']}",
                        headers=user.headers).json
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert first["items"][0]["active"] is True
    assert not {k["fingerprint"] for k in first["items"]} & {k["fingerprint"] for k in second["items"]}
