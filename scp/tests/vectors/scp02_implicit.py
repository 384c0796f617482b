#!/usr/bin/env python3
"""Independent computation of SCP02 implicit-initiation C-MACs (i=0A, 1A)
for scp/tests/implicit.rs, with the `cryptography` package only (no jct
code). GP Card Specification 2.3.1 Appendix E: session keys are the
3DES-CBC (zero IV) encryption of constant || counter || 12 x 00 under the
base key (one base key for i bits 01 clear); the C-MAC is the retail MAC
(ISO 9797-1 algorithm 3, padding method 2) of the unmodified APDU (i bit 02)
chained on the previous C-MAC; the first ICV is the retail MAC of the AID
(i bit 08, zero ICV); with i bit 10 each chained ICV is single-DES encrypted
under the left half of the C-MAC key (the AID ICV is used as it is).

Run: python3 scp/tests/vectors/scp02_implicit.py
"""
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # older cryptography
    TripleDES = algorithms.TripleDES

KEY = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
AID = bytes.fromhex("A000000151000000")
COUNTER = bytes.fromhex("002A")


def tdes_cbc(key, iv, data):
    e = Cipher(TripleDES(key + key[:8]), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def des_ecb(key8, block):
    # Single DES as 3DES with K1 = K2 = K3.
    e = Cipher(TripleDES(key8 * 3), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def pad(data):
    data = data + b"\x80"
    while len(data) % 8:
        data += b"\x00"
    return data


def retail_mac(key, icv, data):
    data = pad(data)
    chain = icv
    for n in range(0, len(data) - 8, 8):
        block = bytes(a ^ b for a, b in zip(chain, data[n:n + 8]))
        chain = des_ecb(key[:8], block)
    last = bytes(a ^ b for a, b in zip(chain, data[-8:]))
    return tdes_cbc(key, b"\x00" * 8, last)


c_mac_key = tdes_cbc(KEY, b"\x00" * 8, b"\x01\x01" + COUNTER + b"\x00" * 12)
print("C-MAC session key", c_mac_key.hex().upper())
icv0 = retail_mac(c_mac_key, b"\x00" * 8, AID)
print("ICV (MAC of the AID)", icv0.hex().upper())
# What each C-MAC covers: header, Lc and data as without secure messaging;
# a command without data (GET DATA 80CA0066, Le 00) has no Lc to cover.
commands = [bytes.fromhex("80F24002024F00"), bytes.fromhex("80CA0066")]
for i in (0x0A, 0x1A):
    icv = icv0
    first = True
    for apdu in commands:
        if i & 0x10 and not first:
            icv = des_ecb(c_mac_key[:8], icv)
        mac = retail_mac(c_mac_key, icv, apdu)
        print(f"i={i:02X} {apdu.hex().upper()} C-MAC {mac.hex().upper()}")
        icv = mac
        first = False
