"""The BeYou client library and the `beyou` command.

Modules, from the wire up:

- `beyou.api`: `Client`, a client of the gateway's HTTP API (problem+json answers
  raised as `ProblemError`, access and refresh tokens with automatic refresh).
- `beyou.proof_of_work`: solving the registration challenge.
- `beyou.sse`: a Server-Sent Events parser (the live stream).
- `beyou.keys`: key pairs (Ed25519/X25519 or RSA-3072), fingerprints, the
  proof-of-possession statement of docs/key-registration.md.
- `beyou.keystore`: the local key file, encrypted with a passphrase.
- `beyou.contacts`: contacts' keys pinned on first use, and verified out of band.
- `beyou.envelope`: the end-to-end envelope (docs/e2e-envelope.md): seal and open.
- `beyou.messages`: sending and reading messages: seals for every participant,
  opens and verifies, and says what it could not trust.
- `beyou.ledger`: the ledger's proofs checked by the client's own small RFC 9162
  and signed-note verifier: messages' and keys' inclusion, checkpoints' consistency.
- `beyou.home`: the local state directory (~/.beyou): session, key file, contacts,
  the pinned ledger verifier key and last verified checkpoint.
- `beyou.cli`: the `beyou` command.
"""
__version__ = "0.1.0"
