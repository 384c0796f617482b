#!/usr/bin/env python3
"""Cross-computed SCP11a reference values for scp/tests/scp11.rs.

No public SCP11 known-answer vector (key agreement through receipt) was
found, so these values come from an independent implementation: Python's
`cryptography` package (ECDH on P-256, X963KDF with SHA-256, AES-CMAC),
following GP Amendment F as scp/src/scp11 reads it. Run:

    pip install cryptography && python3 scp/tests/vectors/scp11_reference.py
"""
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes, cmac, serialization
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF


def key(hexscalar):
    return ec.derive_private_key(int(hexscalar, 16), ec.SECP256R1())


def point(k):
    return k.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


ESK_OCE = key("01" * 32)
SK_OCE = key("02" * 32)
ESK_SD = key("03" * 32)
SK_SD = key("04" * 32)

# MUTUAL AUTHENTICATE data for SCP11a: A6{90 11 01, 95 3C, 80 88, 81 10} 5F49 ePK.OCE
crt = bytes.fromhex("A60D" "90021101" "95013C" "800188" "810110")
data = crt + bytes.fromhex("5F4941") + point(ESK_OCE)
epk_sd_tlv = bytes.fromhex("5F4941") + point(ESK_SD)

sh_see = ESK_OCE.exchange(ec.ECDH(), ESK_SD.public_key())
sh_ses = SK_OCE.exchange(ec.ECDH(), SK_SD.public_key())
out = X963KDF(algorithm=hashes.SHA256(), length=80,
              sharedinfo=bytes.fromhex("3C8810")).derive(sh_see + sh_ses)
names = ["receipt_key", "s_enc", "s_mac", "s_rmac", "s_dek"]
for i, n in enumerate(names):
    print(f"{n} = {out[16 * i:16 * i + 16].hex()}")
c = cmac.CMAC(algorithms.AES(out[:16]))
c.update(data + epk_sd_tlv)
print(f"receipt = {c.finalize().hex()}")
print(f"command_data = {data.hex()}")
