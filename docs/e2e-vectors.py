#!/usr/bin/env python3
"""Write docs/e2e-vectors.json: the test vectors of the end-to-end envelope (docs/e2e-envelope.md).

    .venv/bin/python docs/e2e-vectors.py           # (re)write the vectors
    .venv/bin/python docs/e2e-vectors.py --check   # exit 1 if the file differs from what this writes

Deterministic: every key is fixed (the Ed25519 and X25519 keys are the RFC 8032 / RFC 7748 test keys
where there is one; the RSA keys are below), and so is every value a sender would draw at random
(content keys, nonces, ephemeral keys, OAEP seeds, PSS salts), each the SHA-256 of a label.
RSA-OAEP and RSA-PSS draw a random seed and salt inside every library, so this script encodes
both itself (RFC 8017 §7.1.1 and §9.1.1) with the fixed seed or salt, and checks each result with
the library's own decryption and verification. A reader of the vectors verifies and decrypts the
given bytes; only a writer with the same seed or salt could reproduce them.

This is a third, stand-alone writer of the format (it imports neither the client nor the server),
written from the document: the client's and the server's tests load what it writes.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

OUTPUT = Path(__file__).with_name("e2e-vectors.json")

ALG_X25519 = "x25519-hkdf-sha256-aes256gcm"
ALG_RSA = "rsa-oaep-sha256"

# RSA keys generated once for these vectors (never use them for anything else).
RSA_KEYS = {
    "bob-signing": """\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDXW9cCLKO5mdod
8jWyUVDld9oP770JyG24+twqoGOaqduvhvNkBvCAv3AP0JhcSo/Lxg4d/0fLqSE8
UCBkjWHpQjVMrQPbiRBDVsvrCFpBlDxJNpgKCfxwKGyUs4nH7l/FGld/NxCbaYuq
XOoLnCrdofR+a92nRI21nsCUx5vFgqvlCd/edaGWEysK4m7lnhQ/wbOCEyYQPZ3n
g/RkZN7aAaiqwndo62EqLx9+eSirEyRFGuIYruaQ2Obzov0oPmXD3QUWw2eHgVw2
x4+KulN25YE3+WRI8lu771CFaFDsI52HJ433lJSOzdV6FbfjhJA9iqflsdz3cj7R
YJPxrfwxAgMBAAECggEASiCEi20OFe6NE02xieVPcQyl9GJSsTFaAxfl/I4kerII
ugw7bqysz8QVMHxeVTYc9MkBRvX9om5e0EHMRJAdqYpuiivrbf9pp6QSoJ3JY1VA
wvqVrq7tQzXG2hBKVpUIRfHhOBqeDsBvoH5G2SQx5QPAAlvieZaxKFiydQOX7I2C
MeaX5+lLz410+PQjtrB3VxVR4o23YxgoV0QZZWc6Kl5kxzI0DcKT1GjPOvRCysHJ
ghvn4+jkC12B7X0fJCeynAbmLhoyPRNlhdUHQTkl+BRKNPgfC2kUpZgPMpYOITiW
vMh71/bpYzUWUDtD6pAyPXE0YLSeYLg/A5W6oFMXuQKBgQDtzULPI6Bf3Pc6TaAv
yXjJ5DIEgKBbqwOOYL8wy97onmM+AE9GCbV8iYKG3KhW499XtCHj80g5AVHGh61m
s6ViR9Sss75rtt6402JBHCRCoUZ59Mq/BeoLsavpIks/VYdFZdl027rpj/yu4iWH
DQLKsMk1OfP4ZIKm6rmvu0VvnwKBgQDn1uaGkTFo7xdN4iD83tyRm9rBJFxpeEZY
nhLPyi1nIfEuBiKJO4vZ+LVzwIfUIIgGWqpNVpOkLxIKZO8cpguIw8LGxhxKJpfZ
sDgPDxhbIXL4W990lP12ezIfVuNo+uxrf3BF0R99zeB0OaME5fwq8Q9qEdgvuz0h
JuYZr6jCLwKBgADbOF5elnlB5nIDTYxegVzYwYVaoTkzSHP+zTFzyn2z9E+I2MA7
0Ld+F0Y9DS4i6+746xZTDfOGmbDJVEqGYxYThCSLESh6JBsuR7BMVaUXx5Uw2HoP
n2QjY6cXRIYZ3L7XOw08rVOh/Rr0HYZ6+YOZV2AlsUc3tXC8b6a+WeWpAoGAEVgz
gOfF4YrZnHsJasGlkMMvN3nn7AASiziwQZlnkiqo53+P/+JTkSgZMyK5RrZ0Vr1b
tlN+0i6vU9W/Sc5mWIIExWg235lJjQCxAPdpJBA5kLkW25r153JKCqwucUEshNJQ
7Pg7Oec4HpndR1WJaxEDzTSujsucRCmr10ob/wMCgYBj81DsTG2WYrKbO4gNUR0N
JzxpTQ//ZNgrdRoJCB8jBQRGtxagKGFQPLen2eq66uQxP1UXG1Xvg37i0c+CNQnB
9JGmAMC3Arp4N35O6+niF9J2Q7/v/PVUT1wPZx36EdWs7c8i8lCVBakeqH8ndHVb
JfZM3pqgoeU0q/kB0FSyiA==
-----END PRIVATE KEY-----
""",
    "bob-encryption": """\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCqEkTqo/V/hL6N
lvNtsEFY3c0sr5GBzwG3pFbU9mGP9Ga5Purqk5ett+XNrtEV0QtSrQx4vAAACq6F
EF6XPsGG1M2qM+wLwIKKjTXMcImKhJid8ZULmMuv12M7vSuvIOr5oyfLOHlGOguW
cJcYbbcKVFVakxuLE/H+edPW5iidH7S/JNTbS9cNubEx9aiDGSIEbKKDU/MNNoTC
QoQ9LQEJj8tvHRtevnWn0dUl0l50g/XO/yzioy/thNdEp8Yvu3JH/U5LGrDpENiP
A34rrDEjmxocVfIdv2+KWTXxbmgqKqOsusENrqm9MaevhUdPN3LJqCCqQH9u5eyc
l0buIIEHAgMBAAECggEAFXhX9e079Vy7N6G6WnsZTNA3cjA55NLOyzG2eo0eFO/M
Ng+g1XtLdzVTkAtFPwVUchwBio5lS5wNmyPNZTeZc92Sly2V24fyku4vv/7nBjMm
Fy5j3AJumGTPFMAVbzbvIxO7VtbqzHhQdS4CjSVwqZ+q5NPUctLSRod3vFXzA57D
v+bw8Njc3oJ3WwHys2RHBGe4aNR65yYR6LDw+C9NqM8nU7qfeAdHTrGekKscZOQO
H0SzoTeE5zbeXR8WLzn3Klc5yZvytV96lgiBW3t15zbjbQpC0TS7u+eqtzdEhPca
TqIQl4y+zbCrKMW2dxao0ZhX2E+m9CdEoPrzksWmUQKBgQDgE2aqFx3G43mY3sm2
1iwjOqK4wD4g4I0T+LHZCM3vg37NKYEJ0baBaGPLTMHbISlPEb+IX3LrRsE9NHg+
AgR1oR93HnaO2JJX9YnicXQLCAs+x1fXW0SMrvI8yMNE4XbXxbLL/G8Oaiy/q5B2
mx4u6LL37PO+Je0NqLV61SzkUQKBgQDCTTFya2HKsDg1fRq34WeDemI/ROgQ2AU6
jZqUrL5QMY27fKRO+1z5B3kjgWpWDqIUtpIPa49BxD5Y0m04ndg06SHwtO8ghdob
no/rxnJ2gWYoaUEBgwwJp3v+p5v4CP0XDb5ipT/3lJIta6m2FXw8jZQ4HOlEjDfU
WOfcOhVx1wKBgAzTL3IWxp6GkIQeZD8xvO77QSr/3c51670z48H/TgIibZSChp8w
QJjhh6ywJPxMxpd+9Y5xoBs1PoQpR6SM6wJsiWeA99ovLRkZtZ2fTrv+5t3d/PoX
gDHpJXYzK3H60ZmB+DzSouyZSRxjTm5rbGvU58Fm74B3nTzF5jU0lFAxAoGBAISt
0aYgTZbq3ncoBqap9NWDLLOnihB2cpuZNoVvsEVykSYF5u1IGCS1RbNJHCPHukYK
pZKCEEEIkMp2Zr7SimEXEWYdJ209+cICdKS7zk297tSJiypNIls1UyaBra+h87Fa
YTdbQGL/wRHjAvCjm0J+K0hl9aQpW7ZVP37S6vHhAoGBANBbv4ur0DZ48bVpNUdf
TcqCXWxhcBnWRk8OKTJ0iCfc1VXvutloKVNVV2wz6wpA5gA3utcydsitQh1Egsls
oNtHPkvZfiiR3BcLT2t7GYvsK22KVncXt32V5VBi5IqFQ6UqMuzy1HA9h6sTVJQg
oh+A52SHkK+iVIawYU32QEQb
-----END PRIVATE KEY-----
""",
    "dave-signing": """\
-----BEGIN PRIVATE KEY-----
MIIG/gIBADANBgkqhkiG9w0BAQEFAASCBugwggbkAgEAAoIBgQCueDQ8s8edHcH8
vvU8RCcW+mfetjpfnjLj7Hgpn9HCT8UbAx1eFQHXHth96M0h4XwQVqX+yAMh8siU
2GMYwXn1mvHe5VRHrYmEGsgEnMr7O2AfhBX1+4oOknN0XW08F1sWg5NrdzwU8if+
tdVgY3Eyz9mZ/DNlIz6KuaLEMwxb3fx+ldTzfpjVhOxvdP3WCK143vtQQcXljG80
HNRvzlmn2iHnQNCyFSCE4y3TdNBizB01Gbx5OJWpn2Cr++3/pM55TYo/8yEpGDZ3
TLLJGdipkSNFOCBAJgJ1bopYx0Ibr+cM0uEbzTS+soKNag4vdW/dyXAVHO7/nRQz
nsGy/To/pcDI7dy2ZSIg1p9xNOD7akqKTrNYJ4UU7TZxRa7U2Su2YxGQ+WO9AMu7
q0LB55B1F0yla6o8pzsHpsTwCyGhYgpabeeMLjj3jOyu8bBp/y1bPY3IMwOSKmp5
0kAyqiksNvxc7VLSYLhoqflm1auU6ZfHr82AVvxspBrVbdUaJXkCAwEAAQKCAYBR
KOSv6jes3Hdtkg01hESk2UZxYVbFPSvSQCHjxw9GM2Ju/uNt7RrGjfhKlf26yZAz
b4NXgoaGh9CMAR8UGIiZ2oKyW/75Ov5yAB1Um/WGqie8cW7f1yvxPGpN0toqLnk2
f22X+8bsvXsib0a7yHaTmwHQMnRcE2mYEePoHhEdOSYoYp3FyXniNavg60zbgHzl
8eB5hKdA8bOXS+P8wMKPJRdJYqrSdKaEesPKDpiTpPzfQ0IcJ9jjJ5tKVe7wUaLg
Qq3LOE3dmihHZDVxknmFGHkJueLthq/wtKPKuDZ3KgbDHwoLBbxyUM4IdCKtR/i9
7IOjl2iFSKJNe8jgmN7fbX5Dx30/FVPuf8JXMWuOZWpvh0U5Ny9UuJQTpNfXEaEs
EOI8Rl8ZIFNvzIJtZFehd7+rouS9Kup1DNZOemOMIgpK1NlrA9H7u+Kg4628NWAN
8rF5YQaJZgSGg+nlfAHNwV8KyZNjpos+IN+90qeCK27CRWpB5/m+K3bAoAMEqXMC
gcEA1cYFO96Tplpa7WYmHgO22Y9P1kBfe3zSBSzy1+K/0pJrqQE6jrRQUVeFk0CR
4c1ERxPVeW1d6SK1XSU17Wc9K34KiSSa2PIvLG5G0Kej1MdHPBIIchhBf0JrHYzc
P0Bn/7mIG+eGyfSoPO0+NH3N5mJPUl6h0zqThG+WEGm/ML8TDPftsYJ8x9Cq7yLc
yZlJlr7yzfpx00NbFSb3pHz7R9pyDbBybtWBrY89a7NQdp6gaXOetoc+UZiNMq5C
HJU/AoHBANDurrRZMubmB9Q+tEm2s6hyu6WXiXx6WrXwer6QxVm92f/dcnz+S2fB
sOAyVccjKt8jDmISj1bu7S95vYNtQifMFa47W5Bd3itDv593Xt33zf0CcIajp216
p7AIWRhR3G7g8Fm+mREY5+/rbGwAtQbq48brJ9M4DJ5skKbRWmQg1w7+QW7GE7a7
wRCOfrcmMNvyG+Tq2aFXBSTsLFd+t6ug+YDdMHzJRh4CZ5VsqwKohQbG93GzzL/D
FzOSab3/RwKBwQCFf68/DyWHyn9kJ9l//vPOc7f45aR7OpzxjHtvJHSEbNn85f6K
pcJOueh55+XybDzKYnF67jiqYfl+3MELq+BAa+rqcEifWMbq6UciAL7IH1a2BdDu
Z4VnkrPP9WqJuY/43AVK39CGCFqUCdhB8ZqG2DgPCXfnsHn1R7YgM9mo+HpOK/pt
Uz7XjdFhm5Tj9O1GzaJVzaQNuc+EqxwVxdMqsRluwRUFcCIWoBBMVOPX4AHvOLwR
4u2hCTKMRtSUgwMCgcEAmARSUR5ljuLn52IIQ2oPpgx0w7NScaOExMRISseDEBy2
tRgm6RMNQl0HmNiG2PGZi+kx2eGvMY1+PgDSBwJEFDjFvZOqt4vUzp3omtp7x/05
f1F7FjuU4m9P+yDX0n4daP95YZLwRCRe/Y3JwXtyO6pEOMN4opIxfEN5rCa/IgNS
9rHAYhz00wwhGS7Uu+Wpvx6VdSX7Wwy5zXeZe7/TW6kwYLaPRPwdbFBLlckPVEvR
HnE+MRilbRFBnGB3V6qZAoHAF9zey3/q3Uk6vK0iC7Mt0l+4HWL4MPH8tkZ6fWlb
xdABRrqR9YphI0qx61dshyZ1FC9q1OcS9tNb4kmRC6JKA8r8N0KDUA6JZMUWfTzj
ciNYG+XInmR9eQyyPyMBSXmJSPw0sHL0RwIq1xD1DwrekuXkkktxkOXNOchvrYgc
l9ijOtBMoWaNeY906XPyzLzcBzNfqq6gSPAAtW8O6TXIRXl5vieKHwKWC6Vdco1l
engUWzOKkE7ilANwqchDzi6y
-----END PRIVATE KEY-----
""",
    "dave-encryption": """\
-----BEGIN PRIVATE KEY-----
MIIG/gIBADANBgkqhkiG9w0BAQEFAASCBugwggbkAgEAAoIBgQCw6mJ5XeqxlnuA
I5/IKXKSu16+sZFXC9UkL9O/fw9/jkIl0f7NVeTV/vmj8LPpsuaK0y7L05I0f5uT
ydn7vq5NdGKpC5/ljM8Yhn2/gUFiCQ26x5Hb5vjhJnrNGZezol/ydjqpnHD+JwyZ
KDCjo0E5GQ9rhhLel1SqyD6DuSiOulc45Uiw2bBEEHulIusNYvO7JvnQF8SFfbqN
vLBzNTDbUVGJta+XsYs+1HPaEirH5r8xPaVuKeE7oOe9Vkmm4zUAUYZPVI0xcCS5
pN3z0YtXQGzhiG5hmDwRO0tgMdTFjJxDLJ+aVCYa19XViW9Wn2ZkzRLWq2EWZxFI
qqWed2vDh46BNeY9jGwN+bVGNvXIDUc3AicvHvRXSZQW1h8Mc43wQ4r7AtJXb8G4
JlpAjORdKOSTbOVMgx6QWOMsHhv44xd39RujxnaemAu4zJTSUpZ4V3LIbsjxu/Cn
FfXP+4ZY1vD4Sqi11bC51nGA2QvPVgHhR8LZjMchgX1CzA6KMoUCAwEAAQKCAYBD
m764LNjktuJJbNPB9XzwcCRb8ZXeUwpIAvMDynXMxDupImAibkG+OeuC6BiJJbIO
uXe3swm7gEyfJNNl7k/ED8coXOXlHnOCJttlVOr8oQMbLushw1m3CTKCsNYVcucB
zIbMjJltttSMrxwvXNMvE9GdwKXzZJeZkF67jgXezX1Jo+2sj/RZfocR648yFW+Z
ROLQ0FRsw0iIo+Q2kswx9BiZ7NHGwbW59Ay1+J1auWa1VZ6jw+NsGyiUZaZN3aOe
DeLLQ/gftx3ijeRs50p8S6Ivge5O2b6sb1aw43tL4Qe1L+tWBcL2DvvLHV67+v11
IrDSnKkoqtuDbuor1T+o0Gt65mkUVXuqL5BS5FdJOersJjAinNpB34nnDUI9PH2N
Ir8Q964NRkNg7SZNCddSPxFvOxh8/nIQzfzLuFcA2CTvHADIExfVFn98eA5Cx4kq
hnOgs8Sy3CGH+LiEtUDh65+RZwNg3XvMSICrm9QfFLC7wufScZZrUUGSa3RPj50C
gcEA95wPpFdmxFRoCsJCR0wBNmW51U6J7acjZLdxgEcTnnrc4uxKblbnySd36vZq
Ll0PNDp7DwBCBi/45HPDbSoot03Cjn1tdHBr3coDiekUCrfbewDZ/y8Fx4CmdLBm
/tYHVMj0T336W2Hbl/R7H6O0D/LwbddVUIavR4GvDDuIdsdYaQP1g35/FRipmRue
WGX3wQajI4zFm1SIXdU3AH6vdHixM4OuJp7OkZCNcRxfuUPH9/9uukJ/Z/N6piq9
00W3AoHBALbpEu8ovcKeq2wW3HNF+kiyZqPNEzqra6vkMtdW3dINjPs0USUmZVD7
9QVvW8ggt555SN24wmF3cDuhWHgkt873husbS2JDnAUZlGpUldk/LVdPmzX1N8BJ
2GrjQVBitn/WLAqKoQDIntaf4mXFueyiEiJJlpDs+qIQf/DvlLZmjN4ibaqSCJr2
gpu+y55oQtLBHUFPaSYBoxml+Z8HhSNOv4c3grZf79Nzesxcf/seZuwtzsxeS6QC
ywpRX/mpowKBwQCQHjyYeeqtwTchc/nhx6I5CDKGrgTn101pdMBSWoxXxMlGJyQX
XuvgD+HjV3Nr8uxDiPpRO+Qx98AVMDACHPS/5Dmmd+i6SijuWYN/xLLOnj7YNCGu
Pq9NdFruNjJshySTO7e/gOK0R5vpsPns63qFgfBg7mGQ0iO5Kgk5xHjkMZkK3qwK
0hijrcwg+otKhmcS6YsQyQHHLAeHHe+6kQIMd6ckBbPadLpkzU8WE96/VW1RslG/
ha7kUToE94GvM7cCgcBr/BAMl63oD0q+5oRBnceUUZadD75RfdB0S6XkUcllcFCS
IaHiX9eixw0xpzu1W/NroMju9Vv0tNHSsn+Ldon5q1LAzH1lxup+bEqdt9A70LuQ
91N3uIywfihBemcd8RkzQZsAojVJRCfaJ8w+L0yDsm8oRO+aIf4Z3cna0WanhMWX
gxXhhJOGARC8qBiILZ990zrVSu+V25OR2dYUGBl27c/PIWuPBfaNjHir29RGyf0T
ZDvZlbXsXyXFsqMJvycCgcEAkZs9IWytgxwsPIO3/qG6Atz0jMO7zz8LL6GKeMf0
BVbLV3r54rqRYI2V+YRXJ+az94591Wb36tJut45qT7EzZqMPPW7FuKYyEpZdDZ/5
Hb4G3U2LHYn71JRC5/NplJTa9Dhi9xuNurvx4Wn1oy0PIV5uVQYGB/HN+cv8S6sq
6a8SqirSpd/BKvAub1+yHFvOZPPIw9J6YQSWNd0w6I1o02Ly3qB7f82YsRU7iIRW
ynZ1HiuP1v2JN6K3BrmCroAi
-----END PRIVATE KEY-----
""",
}
# 32-byte private keys: RFC 8032 §7.1 tests 1 and 2, RFC 7748 §6.1 Alice and Bob; the rest from labels.
RAW_KEYS = {
    "alice-signing": ("ed25519", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
    "alice-encryption": ("x25519", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
    "carol-signing": ("ed25519", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"),
    "carol-encryption": ("x25519", "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
    "alice-signing-new": ("ed25519", None),
    "carol-encryption-old": ("x25519", None),
}
USERS = {
    "alice": {"id": "a11ce000-0000-4000-8000-000000000001",
              "signing_key": "alice-signing", "encryption_key": "alice-encryption"},
    "bob": {"id": "b0b00000-0000-4000-8000-000000000002",
            "signing_key": "bob-signing", "encryption_key": "bob-encryption"},
    "carol": {"id": "ca201000-0000-4000-8000-000000000003",
              "signing_key": "carol-signing", "encryption_key": "carol-encryption"},
    "dave": {"id": "da7e0000-0000-4000-8000-000000000004",
             "signing_key": "dave-signing", "encryption_key": "dave-encryption"},
}
DIRECT_ALICE_CAROL = "c0de0001-5a1e-4c0a-8b1d-0000000000a1"
DIRECT_BOB_DAVE = "c0de0002-5a1e-4c0a-8b1d-0000000000b2"
GROUP_ALL = "c0de0003-5a1e-4c0a-8b1d-0000000000c3"
GROUP_ALICE_CAROL = "c0de0004-5a1e-4c0a-8b1d-0000000000d4"


def fixed(label: str, size: int = 32) -> bytes:
    """The fixed stand-in for a value a sender draws at random."""
    return hashlib.sha256(f"BeYou e2e vectors: {label}".encode()).digest()[:size]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fingerprint(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def raw_public(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- keys ----------------------------------------------------------------------------------

def load_keys() -> dict[str, object]:
    keys = {name: serialization.load_pem_private_key(pem.encode(), password=None) for name, pem in RSA_KEYS.items()}
    for name, (algorithm, hex_key) in RAW_KEYS.items():
        raw = bytes.fromhex(hex_key) if hex_key else fixed(name)
        kind = ed25519.Ed25519PrivateKey if algorithm == "ed25519" else x25519.X25519PrivateKey
        keys[name] = kind.from_private_bytes(raw)
    return keys


def algorithm_of(key) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    return "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "x25519"


def describe_keys(keys: dict) -> dict:
    described = {}
    for name in sorted(keys):
        key = keys[name]
        public = key.public_key()
        described[name] = {
            "purpose": "signing" if "signing" in name else "encryption",
            "algorithm": algorithm_of(key),
            "fingerprint": fingerprint(public),
            "public_pem": public.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
            "private_pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
        }
    return described


# --- RSA with a fixed seed / salt (RFC 8017) -----------------------------------------------

def mgf1(seed: bytes, length: int) -> bytes:
    out = b"".join(hashlib.sha256(seed + counter.to_bytes(4, "big")).digest() for counter in range((length + 31) // 32))
    return out[:length]


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def oaep_encrypt(public_key: rsa.RSAPublicKey, message: bytes, seed: bytes) -> bytes:
    """RSAES-OAEP-ENCRYPT, SHA-256, MGF1-SHA-256, empty label, with the given 32-byte seed."""
    numbers, k = public_key.public_numbers(), (public_key.key_size + 7) // 8
    data_block = hashlib.sha256(b"").digest() + bytes(k - len(message) - 66) + b"\x01" + message
    masked_db = xor(data_block, mgf1(seed, k - 33))
    encoded = b"\x00" + xor(seed, mgf1(masked_db, 32)) + masked_db
    return pow(int.from_bytes(encoded, "big"), numbers.e, numbers.n).to_bytes(k, "big")


def pss_sign(private_key: rsa.RSAPrivateKey, message: bytes, salt: bytes) -> bytes:
    """RSASSA-PSS-SIGN, SHA-256, MGF1-SHA-256, with the given 32-byte salt."""
    numbers = private_key.private_numbers()
    em_bits = private_key.key_size - 1
    em_len = (em_bits + 7) // 8
    digest = hashlib.sha256(bytes(8) + hashlib.sha256(message).digest() + salt).digest()
    data_block = bytes(em_len - 66) + b"\x01" + salt
    masked_db = bytearray(xor(data_block, mgf1(digest, em_len - 33)))
    masked_db[0] &= 0xFF >> (8 * em_len - em_bits)
    encoded = bytes(masked_db) + digest + b"\xbc"
    signature = pow(int.from_bytes(encoded, "big"), numbers.d, numbers.public_numbers.n)
    return signature.to_bytes((private_key.key_size + 7) // 8, "big")


PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def sign(private_key, message: bytes, salt_label: str) -> tuple[str, str | None]:
    """The signature (base64) and, for RSA, the PSS salt used (base64)."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        salt = fixed(salt_label)
        signature = pss_sign(private_key, message, salt)
        private_key.public_key().verify(signature, message, PSS, hashes.SHA256())  # our PSS is the library's
        return b64(signature), b64(salt)
    return b64(private_key.sign(message)), None


# --- the format ----------------------------------------------------------------------------

def content_aad(conversation_id: str, message_id: str) -> bytes:
    return f"BeYou e2e v1\n{conversation_id}\n{message_id}".encode()


def wrap(recipient_name: str, keys: dict, content_key: bytes, message_id: str, label: str) -> tuple[dict, dict]:
    """The recipient entry, and what went into it (for the vector's inputs and intermediates)."""
    public = keys[recipient_name].public_key()
    key_fingerprint = fingerprint(public)
    if isinstance(public, rsa.RSAPublicKey):
        seed = fixed(f"{label} oaep seed {recipient_name}")
        wrapped = oaep_encrypt(public, content_key, seed)
        assert keys[recipient_name].decrypt(wrapped, OAEP) == content_key  # our OAEP is the library's
        return ({"key": key_fingerprint, "alg": ALG_RSA, "wrapped_key": b64(wrapped)},
                {"recipient": recipient_name, "oaep_seed": b64(seed)})
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(fixed(f"{label} ephemeral {recipient_name}"))
    ephemeral_public = raw_public(ephemeral.public_key())
    shared = ephemeral.exchange(public)
    salt = ephemeral_public + raw_public(public)
    info = f"BeYou e2e v1 wrap\n{message_id}"
    wrap_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info.encode()).derive(shared)
    wrapped = AESGCM(wrap_key).encrypt(bytes(12), content_key, key_fingerprint.encode())
    entry = {"key": key_fingerprint, "alg": ALG_X25519, "ephemeral_key": b64(ephemeral_public),
             "wrapped_key": b64(wrapped)}
    details = {"recipient": recipient_name, "ephemeral_private_key": b64(ephemeral.private_bytes_raw()),
               "shared_secret": b64(shared), "hkdf_salt": b64(salt), "hkdf_info": info, "wrap_key": b64(wrap_key)}
    return entry, details


def signed_text(envelope: dict) -> str:
    lines = ["BeYou e2e envelope v1", envelope["conversation_id"], envelope["message_id"], envelope["sender_key"],
             envelope["nonce"], envelope["ciphertext"]]
    for entry in sorted(envelope["recipients"], key=lambda entry: entry["key"]):
        lines.append(":".join([entry["key"], entry["alg"], entry.get("ephemeral_key", ""), entry["wrapped_key"]]))
    return "\n".join(lines)


def resign(envelope: dict, keys: dict, signer: str, label: str) -> dict:
    envelope = copy.deepcopy(envelope)
    envelope["signature"], _ = sign(keys[signer], signed_text(envelope).encode(), f"{label} pss salt")
    return envelope


def encrypt_attachment(label: str, data: bytes) -> dict:
    key, nonce = fixed(f"{label} attachment key"), fixed(f"{label} attachment nonce", 12)
    return {"key": b64(key), "nonce": b64(nonce), "plaintext": b64(data),
            "ciphertext": b64(AESGCM(key).encrypt(nonce, data, b"BeYou e2e attachment v1"))}


def seal(keys: dict, *, name: str, description: str, conversation_id: str, message_id: str, sender: str,
         participants: list[str], body: str, files: list[dict] | None = None) -> dict:
    """A valid vector: the envelope `sender` sends to `participants` (each user's current keys)."""
    attachments, attachment_files = [], []
    for file in files or ():
        encrypted = encrypt_attachment(name, file["data"])
        attachments.append({"id": file["id"], "key": encrypted["key"], "nonce": encrypted["nonce"],
                            "name": file["name"], "content_type": file["content_type"]})
        attachment_files.append({"id": file["id"], **{k: encrypted[k] for k in ("plaintext", "ciphertext")}})
    message = {"body": body, **({"attachments": attachments} if attachments else {})}
    plaintext = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    content_key, nonce = fixed(f"{name} content key"), fixed(f"{name} nonce", 12)
    aad = content_aad(conversation_id, message_id)
    ciphertext = AESGCM(content_key).encrypt(nonce, plaintext.encode(), aad)
    entries, wraps = [], []
    for user in participants:
        entry, details = wrap(USERS[user]["encryption_key"], keys, content_key, message_id, name)
        entries.append(entry)
        wraps.append(details)
    signer = USERS[sender]["signing_key"]
    envelope = {"v": 1, "conversation_id": conversation_id, "message_id": message_id,
                "sender_key": fingerprint(keys[signer].public_key()), "nonce": b64(nonce),
                "ciphertext": b64(ciphertext), "recipients": sorted(entries, key=lambda entry: entry["key"])}
    text = signed_text(envelope)
    envelope["signature"], pss_salt = sign(keys[signer], text.encode(), f"{name} pss salt")
    return {
        "name": name, "description": description,
        "conversation_id": conversation_id,
        "sender": {"user": sender, "signing_key": signer},
        "participants": {user: USERS[user]["encryption_key"] for user in participants},
        "inputs": {"plaintext": plaintext, "content_key": b64(content_key), "nonce": b64(nonce),
                   "recipients": wraps, "pss_salt": pss_salt},
        "content_aad": aad.decode(),
        "signed_bytes": text,
        "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "envelope": envelope,
        "message": message,
        "attachment_files": attachment_files,
    }


def flip_bit(b64_value: str, index: int = 0) -> str:
    data = bytearray(base64.b64decode(b64_value))
    data[index] ^= 0x01
    return b64(bytes(data))


def refused(name: str, reason: str, base: dict, envelope: dict, *, server: list[str] | None,
            client: dict | None, conversation_id: str | None = None, participants: dict | None = None,
            signing_key: str | None = None) -> dict:
    """An invalid vector: what the server refuses (the `errors` fields, or null: it accepts) and what a
    reader's open refuses (the reader's encryption key and the error, or null: the reader cannot tell)."""
    return {
        "name": name, "reason": reason,
        "conversation_id": conversation_id or base["conversation_id"],
        "sender": {"user": base["sender"]["user"], "signing_key": signing_key or base["sender"]["signing_key"]},
        "participants": participants or base["participants"],
        "envelope": envelope,
        "server": {"accepts": server is None, "errors": server or []},
        "client": client,
    }


def invalid_envelopes(keys: dict, direct: dict) -> list[dict]:
    """Each a change to the Alice → Carol vector (Ed25519 signs deterministically, so re-signing is too)."""
    good = direct["envelope"]
    carol_reads = {"reader": "carol", "encryption_key": "carol-encryption"}
    carol_key = fingerprint(keys["carol-encryption"].public_key())
    carol = next(index for index, entry in enumerate(good["recipients"]) if entry["key"] == carol_key)

    def changed(**fields) -> dict:
        return {**copy.deepcopy(good), **fields}

    def with_carol_entry(**fields) -> dict:
        envelope = copy.deepcopy(good)
        envelope["recipients"][carol].update(fields)
        return envelope

    vectors = [
        refused("tampered-ciphertext",
                "One bit of the ciphertext flipped after signing: the signature no longer verifies.",
                direct, changed(ciphertext=flip_bit(good["ciphertext"])), server=["signature"],
                client={**carol_reads, "error": "BadSignature"}),
        refused("tampered-signature", "One bit of the signature flipped.",
                direct, changed(signature=flip_bit(good["signature"], 10)), server=["signature"],
                client={**carol_reads, "error": "BadSignature"}),
        refused("tampered-wrapped-key", "One bit of Carol's wrapped key flipped after signing.",
                direct, with_carol_entry(wrapped_key=flip_bit(good["recipients"][carol]["wrapped_key"])),
                server=["signature"], client={**carol_reads, "error": "BadSignature"}),
        refused("replayed-into-another-conversation",
                "The unchanged envelope sent to another conversation with the same participants: its signed "
                "conversation_id is not the target's.",
                direct, copy.deepcopy(good), conversation_id=GROUP_ALICE_CAROL, server=["conversation_id"],
                client={**carol_reads, "conversation_id": GROUP_ALICE_CAROL, "error": "Misplaced"}),
        refused("conversation-id-rewritten",
                "The envelope's conversation_id rewritten to the target's: the signature no longer verifies.",
                direct, changed(conversation_id=GROUP_ALICE_CAROL), conversation_id=GROUP_ALICE_CAROL,
                server=["signature"], client={**carol_reads, "error": "BadSignature"}),
        refused("missing-recipient", "Dave is a participant too, and the envelope has no wrapped key for him.",
                direct, copy.deepcopy(good), participants={**direct["participants"], "dave": "dave-encryption"},
                server=["recipients"], client=None),
        refused("extra-recipient",
                "Carol is no longer a participant (removed from the conversation), and the envelope still "
                "wraps the key for her.",
                direct, copy.deepcopy(good), participants={"alice": "alice-encryption"}, server=["recipients"],
                client=None),
        refused("stale-key", "Carol's wrapped key is for her previous encryption key, not her active one.",
                direct, resign(_rewrapped_for_old_carol(keys, direct, carol), keys, "alice-signing", "stale-key"),
                server=["recipients"], client={**carol_reads, "error": "NotForMe"}),
        refused("duplicate-recipient", "Carol's entry appears twice (both signed).",
                direct, resign({**good, "recipients": good["recipients"] + [good["recipients"][carol]]}, keys,
                               "alice-signing", "duplicate-recipient"),
                server=["recipients"], client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("non-canonical-base64-padding-bits",
                "The signature's base64 with non-zero unused bits before the padding: lenient decoders read the "
                "same bytes, a strict one refuses (the signed bytes must be unambiguous).",
                direct, changed(signature=_set_padding_bits(good["signature"])), server=["signature"],
                client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("non-canonical-base64-line-break", "The ciphertext's base64 broken into lines (MIME style).",
                direct, changed(ciphertext=good["ciphertext"][:76] + "\n" + good["ciphertext"][76:]),
                server=["ciphertext"], client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("non-canonical-base64-missing-padding", "An ephemeral key's base64 without its '=' padding.",
                direct, with_carol_entry(ephemeral_key=good["recipients"][carol]["ephemeral_key"].rstrip("=")),
                server=["recipients"], client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("alg-does-not-fit-key", "Carol's X25519 key named with the RSA algorithm (signed).",
                direct, resign(_as_rsa_entry(good, carol), keys, "alice-signing", "alg"), server=["recipients"],
                client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("signed-by-a-rotated-key", "Alice has rotated her signing key: the envelope names and is signed "
                                           "by her previous one.",
                direct, copy.deepcopy(good), signing_key="alice-signing-new", server=["sender_key"],
                client={**carol_reads, "sender_signing_key": "alice-signing-new", "error": "BadSignature"}),
        refused("unknown-field", "A top-level field the format does not define.",
                direct, changed(note="hello"), server=["note"], client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("unsupported-version", "\"v\": 2.",
                direct, changed(v=2), server=["v"], client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("uppercase-message-id", "The message id in upper case (signed as such): ids are lowercase.",
                direct, resign(changed(message_id=good["message_id"].upper()), keys, "alice-signing", "upper"),
                server=["message_id"], client={**carol_reads, "error": "MalformedEnvelope"}),
        refused("garbage-ciphertext-signed-by-sender",
                "The sender signed a ciphertext that does not decrypt. The server cannot tell (it holds no "
                "content key); every reader can.",
                direct, resign(changed(ciphertext=flip_bit(good["ciphertext"])), keys, "alice-signing", "garbage"),
                server=None, client={**carol_reads, "error": "TamperedCiphertext"}),
        refused("garbage-wrapped-key-signed-by-sender",
                "The sender signed a wrapped key for Carol that does not unwrap. The server cannot tell (it "
                "holds no private key); Carol can, and Alice's own entry still opens.",
                direct, resign(with_carol_entry(wrapped_key=flip_bit(good["recipients"][carol]["wrapped_key"])),
                               keys, "alice-signing", "garbage-wrap"),
                server=None, client={**carol_reads, "error": "TamperedCiphertext"}),
    ]
    return vectors


def _rewrapped_for_old_carol(keys: dict, direct: dict, carol: int) -> dict:
    envelope = copy.deepcopy(direct["envelope"])
    content_key = base64.b64decode(direct["inputs"]["content_key"])
    envelope["recipients"][carol], _ = wrap("carol-encryption-old", keys, content_key, envelope["message_id"],
                                            "stale-key")
    envelope["recipients"].sort(key=lambda entry: entry["key"])
    return envelope


def _as_rsa_entry(envelope: dict, index: int) -> dict:
    envelope = copy.deepcopy(envelope)
    entry = envelope["recipients"][index]
    envelope["recipients"][index] = {"key": entry["key"], "alg": ALG_RSA, "wrapped_key": entry["wrapped_key"]}
    return envelope


def _set_padding_bits(value: str) -> str:
    """The same bytes, with the unused low bits of the last character before the padding set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = value.rstrip("=")
    padding_count = len(value) - len(stripped)
    assert padding_count, "needs a value whose base64 has padding"
    unused_bits = 2 * padding_count  # "==" leaves 4 unused bits, "=" leaves 2
    last = alphabet.index(stripped[-1]) | ((1 << unused_bits) - 1)
    return stripped[:-1] + alphabet[last] + "=" * padding_count


# --- standard messages -----------------------------------------------------------------------

def standard_signed_text(conversation_id: str, message_id: str, sender_key: str, body: str) -> str:
    return "\n".join(["BeYou message v1", conversation_id, message_id, sender_key, b64(body.encode())])


def signed_standard(keys: dict, *, name: str, conversation_id: str, message_id: str, sender: str, body: str) -> dict:
    signer = USERS[sender]["signing_key"]
    sender_key = fingerprint(keys[signer].public_key())
    text = standard_signed_text(conversation_id, message_id, sender_key, body)
    signature, pss_salt = sign(keys[signer], text.encode(), f"{name} pss salt")
    return {"name": name, "conversation_id": conversation_id, "message_id": message_id,
            "sender": {"user": sender, "signing_key": signer}, "body": body, "pss_salt": pss_salt,
            "signed_bytes": text, "sender_key": sender_key, "signature": signature}


def standard_vectors(keys: dict) -> dict:
    alice = signed_standard(keys, name="standard-ed25519", conversation_id=DIRECT_ALICE_CAROL,
                            message_id="5d0c4b6e-8f1a-4e2b-9c3d-7a6b5c4d3e21", sender="alice",
                            body="Hi Carol 👋\nSee you at noon.")
    bob = signed_standard(keys, name="standard-rsa", conversation_id=GROUP_ALL,
                          message_id="6e1d5c7f-902b-4f3c-8d4e-8b7c6d5e4f32", sender="bob",
                          body="Hello group, from Bob (RSA-PSS).")

    def refused_standard(name: str, reason: str, errors: list[str], **changes) -> dict:
        vector = {**copy.deepcopy(alice), "name": name, "reason": reason, "errors": errors}
        vector.pop("signed_bytes")
        vector.pop("pss_salt")
        vector.update(changes)
        return vector

    invalid = [
        refused_standard("body-changed", "The body changed after signing.", ["signature"],
                         body="Hi Carol 👋\nSee you at one."),
        refused_standard("other-conversation", "Sent to another conversation than the one signed.", ["signature"],
                         conversation_id=GROUP_ALICE_CAROL),
        refused_standard("non-canonical-base64", "The signature's base64 with non-zero padding bits.",
                         ["signature"], signature=_set_padding_bits(alice["signature"])),
        refused_standard("signed-by-a-rotated-key", "Alice's active signing key is another one now.",
                         ["sender_key"], sender={"user": "alice", "signing_key": "alice-signing-new"}),
    ]
    return {"valid": [alice, bob], "invalid": invalid}


# --- all of it ---------------------------------------------------------------------------------

def build() -> dict:
    keys = load_keys()
    direct = seal(keys, name="ed25519-x25519-direct",
                  description="Alice (Ed25519, X25519) to Carol (Ed25519, X25519) in a direct conversation, "
                              "with one attachment. Fully deterministic: Ed25519 signatures are.",
                  conversation_id=DIRECT_ALICE_CAROL, message_id="3f2b8c1e-6d4a-4b9e-8f7c-1a2b3c4d5e6f",
                  sender="alice", participants=["alice", "carol"],
                  body="Hi Carol 👋\nLunch at noon? The menu is attached.",
                  files=[{"id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "name": "menu.txt",
                          "content_type": "text/plain", "data": "Soup of the day: tomato\n".encode()}])
    rsa_only = seal(keys, name="rsa-rsa-direct",
                    description="Bob (RSA-2048 signing and encryption) to Dave (RSA-3072 signing and encryption).",
                    conversation_id=DIRECT_BOB_DAVE, message_id="7c9d2e4f-1a3b-4c5d-9e6f-2b3c4d5e6f70",
                    sender="bob", participants=["bob", "dave"], body="Hello Dave: RSA on both ends.")
    mixed_ed = seal(keys, name="mixed-group-ed25519-sender",
                    description="Alice (Ed25519 signer) to a group of both families: X25519 and RSA wraps.",
                    conversation_id=GROUP_ALL, message_id="8d0e3f5a-2b4c-4d6e-af70-3c4d5e6f7081",
                    sender="alice", participants=["alice", "bob", "carol", "dave"], body="Group hello from Alice.")
    mixed_rsa = seal(keys, name="mixed-group-rsa-sender",
                     description="Bob (RSA-PSS signer) to the same group.",
                     conversation_id=GROUP_ALL, message_id="9e1f4a6b-3c5d-4e7f-b081-4d5e6f708192",
                     sender="bob", participants=["alice", "bob", "carol", "dave"], body="Group hello from Bob.")
    return {
        "format": "BeYou end-to-end envelope v1 and standard-message signature v1: docs/e2e-envelope.md",
        "generator": "docs/e2e-vectors.py (deterministic: fixed keys, and SHA-256 of labels for every "
                     "value a sender draws at random)",
        "notes": [
            "All base64 is RFC 4648 section 4, standard alphabet, with padding.",
            "RSA-OAEP and RSA-PSS are randomized: the RSA wrapped keys and RSA signatures here were made with "
            "the listed oaep_seed / pss_salt. Verify and decrypt them; a library without a way to fix the seed "
            "or salt cannot reproduce them, and need not.",
            "users/*/id, conversation ids and message ids are lowercase hyphenated UUIDs.",
            "invalid[*].server: accepts=false and the top-level fields its problem+json `errors` names; "
            "accepts=true where the server cannot tell. invalid[*].client: the reader's encryption key and "
            "the error opening the envelope raises (null where a reader cannot tell); conversation_id, when "
            "present, is the conversation the reader expected the envelope in; sender_signing_key, when "
            "present, is the signing key the reader holds for the sender (else sender.signing_key).",
        ],
        "keys": describe_keys(keys),
        "users": USERS,
        "envelopes": {"valid": [direct, rsa_only, mixed_ed, mixed_rsa], "invalid": invalid_envelopes(keys, direct)},
        "standard_messages": standard_vectors(keys),
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} differs from what {Path(__file__).name} writes: rerun it.", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
