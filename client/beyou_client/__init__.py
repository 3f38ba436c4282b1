"""The BeYou client library and CLI.

It will do the client side of the platform: solving registration challenges,
key generation and local storage, key upload, end-to-end encryption and
signing, decryption and verification, and ledger proof checks. The package
exists now so the layout is fixed; its features arrive with the auth,
messaging and ledger issues.
"""
__version__ = "0.1.0"
