import hashlib
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519


def public_pem(private_key) -> str:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(pem: str) -> str:
    key = serialization.load_pem_public_key(pem.encode())
    return hashlib.sha256(key.public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


@pytest.fixture(scope="module")
def rsa_2048():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def register(client, user, purpose, algorithm, pem):
    return client.post("/api/auth/keys", headers=user.headers, json={"purpose": purpose, "algorithm": algorithm,
                                                                     "pem": pem})


def refused_field(response):
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    return set(response.json["errors"])


@pytest.mark.parametrize("purpose", ["signing", "encryption"])
def test_an_rsa_2048_key_is_registered_for_signing_or_encryption(client, new_user, purpose):
    user = new_user()
    pem = public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    response = register(client, user, purpose, "rsa", pem)
    assert response.status_code == 201, response.json
    assert response.json["fingerprint"] == fingerprint(pem)
    assert (response.json["purpose"], response.json["algorithm"], response.json["active"]) == (purpose, "rsa", True)
    assert response.json["user_id"] == user.id


def test_ed25519_signs_and_x25519_encrypts(client, new_user):
    user = new_user()
    assert register(client, user, "signing", "ed25519", public_pem(ed25519.Ed25519PrivateKey.generate())
                    ).status_code == 201
    assert register(client, user, "encryption", "x25519", public_pem(x25519.X25519PrivateKey.generate())
                    ).status_code == 201


def test_an_rsa_1024_key_is_refused(client, new_user):
    pem = public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    assert refused_field(register(client, new_user(), "signing", "rsa", pem)) == {"pem"}


def test_an_rsa_key_over_8192_bits_is_refused(client, new_user):
    modulus = (1 << 8192) + 1  # an odd 8193-bit modulus: enough to be parsed as a (useless) public key
    pem = rsa.RSAPublicNumbers(65537, modulus).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert refused_field(register(client, new_user(), "encryption", "rsa", pem)) == {"pem"}


def test_ed25519_is_refused_for_encryption_and_x25519_for_signing(client, new_user):
    user = new_user()
    ed_pem = public_pem(ed25519.Ed25519PrivateKey.generate())
    x_pem = public_pem(x25519.X25519PrivateKey.generate())
    assert refused_field(register(client, user, "encryption", "ed25519", ed_pem)) == {"purpose"}
    assert refused_field(register(client, user, "signing", "x25519", x_pem)) == {"purpose"}


def test_a_key_that_is_not_of_the_named_algorithm_is_refused(client, new_user, rsa_2048):
    user = new_user()
    assert refused_field(register(client, user, "signing", "ed25519", public_pem(rsa_2048))) == {"algorithm"}
    assert refused_field(register(client, user, "signing", "rsa",
                                  public_pem(ed25519.Ed25519PrivateKey.generate()))) == {"algorithm"}
    ec_pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    assert refused_field(register(client, user, "signing", "rsa", ec_pem)) == {"algorithm"}


@pytest.mark.parametrize("private_format", [serialization.PrivateFormat.PKCS8,
                                            serialization.PrivateFormat.TraditionalOpenSSL])
def test_a_private_key_is_refused(client, new_user, rsa_2048, private_format):
    user = new_user()
    private_pem = rsa_2048.private_bytes(serialization.Encoding.PEM, private_format,
                                         serialization.NoEncryption()).decode()
    assert refused_field(register(client, user, "signing", "rsa", private_pem)) == {"pem"}
    smuggled = public_pem(rsa_2048) + private_pem  # a public key with the private one appended
    assert refused_field(register(client, user, "signing", "rsa", smuggled)) == {"pem"}
    encrypted = rsa_2048.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"passphrase")).decode()
    assert refused_field(register(client, user, "signing", "rsa", encrypted)) == {"pem"}
    assert client.get(f"/api/auth/users/{user.id}/keys", headers=user.headers).json["items"] == []


def test_a_pem_that_is_not_a_key_is_refused(client, new_user):
    user = new_user()
    assert refused_field(register(client, user, "signing", "ed25519", "hello")) == {"pem"}
    assert refused_field(register(client, user, "signing", "ed25519", "")) == {"pem"}
    assert refused_field(register(client, user, "authentication", "ed25519", "x")) == {"purpose"}


def test_the_same_key_cannot_be_registered_twice(client, new_user):
    owner, copycat = new_user(), new_user()
    pem = public_pem(ed25519.Ed25519PrivateKey.generate())
    assert register(client, owner, "signing", "ed25519", pem).status_code == 201
    for user in (owner, copycat):
        response = register(client, user, "signing", "ed25519", pem)
        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"


def test_a_new_key_replaces_the_active_one_which_stays_listed(client, new_user, app, handlers, running_worker,
                                                             event_probe):
    running_worker(app, handlers)
    user, reader = new_user(), new_user()
    old_pem, new_pem = (public_pem(ed25519.Ed25519PrivateKey.generate()) for _ in range(2))
    old = register(client, user, "signing", "ed25519", old_pem).json["fingerprint"]
    encryption = register(client, user, "encryption", "x25519", public_pem(x25519.X25519PrivateKey.generate()))
    new = register(client, user, "signing", "ed25519", new_pem).json["fingerprint"]

    keys = client.get(f"/api/auth/users/{user.id}/keys", headers=reader.headers).json["items"]
    by_fingerprint = {key["fingerprint"]: key for key in keys}
    assert set(by_fingerprint) == {old, new, encryption.json["fingerprint"]}
    assert by_fingerprint[new]["active"] is True
    assert (by_fingerprint[old]["active"], bool(by_fingerprint[old]["deactivated_at"])) == (False, True)
    assert by_fingerprint[encryption.json["fingerprint"]]["active"] is True  # other purpose untouched
    active = client.get(f"/api/auth/users/{user.id}/keys?active=true", headers=reader.headers).json["items"]
    assert {key["fingerprint"] for key in active} == {new, encryption.json["fingerprint"]}

    registered = event_probe.wait_for("auth.key.registered", where=lambda e: e.payload["fingerprint"] == new)
    assert registered.payload == {**registered.payload, "user_id": user.id, "purpose": "signing",
                                  "algorithm": "ed25519"}
    assert "PRIVATE" not in registered.payload["pem"]
    revoked = event_probe.wait_for("auth.key.revoked", where=lambda e: e.payload["fingerprint"] == old)
    assert (revoked.payload["user_id"], revoked.payload["purpose"]) == (user.id, "signing")


def test_any_signed_in_user_looks_a_key_up_by_fingerprint(client, new_user, rsa_2048):
    owner, reader = new_user(), new_user()
    pem = public_pem(rsa_2048)
    created = register(client, owner, "encryption", "rsa", pem).json
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
    key = register(client, owner, "signing", "ed25519", public_pem(ed25519.Ed25519PrivateKey.generate())).json
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
        register(client, user, "signing", "ed25519", public_pem(ed25519.Ed25519PrivateKey.generate()))
    first = client.get(f"/api/auth/users/{user.id}/keys?limit=2", headers=user.headers).json
    second = client.get(f"/api/auth/users/{user.id}/keys?limit=2&cursor={first['next_cursor']}",
                        headers=user.headers).json
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert first["items"][0]["active"] is True
    assert not {k["fingerprint"] for k in first["items"]} & {k["fingerprint"] for k in second["items"]}
