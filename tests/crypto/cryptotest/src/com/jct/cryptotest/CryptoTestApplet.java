package com.jct.cryptotest;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.AESKey;
import javacard.security.Checksum;
import javacard.security.CryptoException;
import javacard.security.DESKey;
import javacard.security.HMACKey;
import javacard.security.InitializedMessageDigest;
import javacard.security.Key;
import javacard.security.KeyBuilder;
import javacard.security.MessageDigest;
import javacard.security.RandomData;
import javacard.security.Signature;
import javacardx.crypto.AEADCipher;
import javacardx.crypto.Cipher;

/**
 * Runs the crypto API on the inputs the host sends and answers the
 * outputs, for known-answer tests of jct emu's crypto natives
 * (tests/crypto_emu.rs). A CryptoException answers 9Cxx, xx its reason.
 *
 * <pre>
 * 80 10 type 00 key          build a key of KeyBuilder type (length: the key's), setKey
 * 80 20 alg  mode iv-len iv chunk data   Cipher: init (with IV when iv-len &gt; 0 or
 *                                        mode bit 80), update in chunks (0: none), doFinal
 * 80 21 alg  mode iv-len iv data         the same, doFinal in place in the APDU buffer
 * 80 30 alg  00 chunk data               MessageDigest
 * 80 31 alg  00 slen state dlen done chunk data   InitializedMessageDigest:
 *                                        setInitialDigest(state, done), then as 80 30
 * 80 70 alg  mode nlen nonce alen aad tlen [tag] chunk data   AEADCipher: init
 *                                        (nonce, AAD and message lengths, tag size),
 *                                        updateAAD, update in chunks, doFinal; encrypt
 *                                        answers output || retrieveTag, decrypt
 *                                        output || verifyTag(tag): 01 or 00
 * 80 80 alg  00 ilen init chunk data     Checksum: init when ilen &gt; 0, update in chunks, doFinal
 * 80 40 alg  mode iv-len iv chunk data   Signature.sign
 * 80 41 alg  mode iv-len iv mac-len mac data   Signature.verify: 01 or 00
 * 80 50 alg  len                         RandomData, len bytes
 * 80 60 00 00                            key: size (2), type, initialized, getKey bytes
 * 80 61 00 00                            clearKey
 * </pre>
 */
public final class CryptoTestApplet extends Applet {
    private Key key;
    private final Object[] ciphers = new Object[64];
    private final Object[] digests = new Object[16];
    private final Object[] initialized = new Object[16];
    private final Object[] checksums = new Object[4];
    private final Object[] signatures = new Object[64];
    private final byte[] out;

    private CryptoTestApplet() {
        out = JCSystem.makeTransientByteArray((short) 600, JCSystem.CLEAR_ON_RESET);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new CryptoTestApplet();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_CLA] != (byte) 0x80) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        short len = apdu.setIncomingAndReceive();
        short off = ISO7816.OFFSET_CDATA;
        byte p1 = buf[ISO7816.OFFSET_P1];
        byte p2 = buf[ISO7816.OFFSET_P2];
        short n;
        try {
            switch (buf[ISO7816.OFFSET_INS]) {
                case 0x10:
                    setKey(p1, buf, off, len);
                    return;
                case 0x20:
                    n = cipher(p1, p2, buf, off, len);
                    break;
                case 0x21:
                    n = cipherInPlace(p1, p2, apdu, buf, off, len);
                    apdu.setOutgoingAndSend(off, n);
                    return;
                case 0x30:
                    n = digest(p1, buf, off, len);
                    break;
                case 0x31:
                    n = initializedDigest(p1, buf, off, len);
                    break;
                case 0x70:
                    n = aead(p1, p2, buf, off, len);
                    break;
                case (byte) 0x80:
                    n = checksum(p1, buf, off, len);
                    break;
                case 0x40:
                    n = sign(p1, p2, buf, off, len);
                    break;
                case 0x41:
                    n = verify(p1, p2, buf, off, len);
                    break;
                case 0x50:
                    RandomData r = RandomData.getInstance(p1);
                    n = (short) (p2 & 0xFF);
                    r.generateData(out, (short) 0, n);
                    break;
                case 0x60:
                    n = keyInfo();
                    break;
                case 0x61:
                    key.clearKey();
                    return;
                default:
                    ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
                    return;
            }
        } catch (CryptoException e) {
            ISOException.throwIt((short) (0x9C00 | e.getReason()));
            return;
        }
        Util.arrayCopyNonAtomic(out, (short) 0, buf, (short) 0, n);
        apdu.setOutgoingAndSend((short) 0, n);
    }

    private void setKey(byte type, byte[] buf, short off, short len) {
        short bits = (short) (len * 8);
        key = KeyBuilder.buildKey(type, bits, false);
        if (key instanceof AESKey) {
            ((AESKey) key).setKey(buf, off);
        } else if (key instanceof DESKey) {
            ((DESKey) key).setKey(buf, off);
        } else if (key instanceof HMACKey) {
            ((HMACKey) key).setKey(buf, off, len);
        }
    }

    private short keyInfo() {
        Util.setShort(out, (short) 0, key.getSize());
        out[2] = key.getType();
        out[3] = (byte) (key.isInitialized() ? 1 : 0);
        short n = 4;
        if (key.isInitialized()) {
            if (key instanceof AESKey) {
                n += ((AESKey) key).getKey(out, n);
            } else if (key instanceof DESKey) {
                n += ((DESKey) key).getKey(out, n);
            } else if (key instanceof HMACKey) {
                n += ((HMACKey) key).getKey(out, n);
            }
        }
        return n;
    }

    private Cipher cipherOf(byte alg) {
        Cipher c = (Cipher) ciphers[alg & 0x3F];
        if (c == null || c.getAlgorithm() != alg) {
            c = Cipher.getInstance(alg, false);
            ciphers[alg & 0x3F] = c;
        }
        return c;
    }

    /** Init with the IV at buf[off] (length byte first); returns the offset after it. */
    private short initCipher(Cipher c, byte mode, byte[] buf, short off) {
        short ivLen = (short) (buf[off] & 0xFF);
        if (ivLen > 0 || (mode & 0x80) != 0) {
            c.init(key, (byte) (mode & 0x7F), buf, (short) (off + 1), ivLen);
        } else {
            c.init(key, mode);
        }
        return (short) (off + 1 + ivLen);
    }

    private short cipher(byte alg, byte mode, byte[] buf, short off, short len) {
        Cipher c = cipherOf(alg);
        short end = (short) (off + len);
        off = initCipher(c, mode, buf, off);
        short chunk = (short) (buf[off] & 0xFF);
        off++;
        short n = 0;
        if (chunk > 0) {
            while ((short) (end - off) > chunk) {
                n += c.update(buf, off, chunk, out, n);
                off += chunk;
            }
        }
        n += c.doFinal(buf, off, (short) (end - off), out, n);
        return n;
    }

    private short cipherInPlace(byte alg, byte mode, APDU apdu, byte[] buf, short off, short len) {
        Cipher c = cipherOf(alg);
        short end = (short) (off + len);
        short data = initCipher(c, mode, buf, off);
        short n = c.doFinal(buf, data, (short) (end - data), buf, data);
        Util.arrayCopyNonAtomic(buf, data, buf, off, n);
        return n;
    }

    private short digest(byte alg, byte[] buf, short off, short len) {
        MessageDigest d = (MessageDigest) digests[alg & 0x0F];
        if (d == null) {
            d = MessageDigest.getInstance(alg, false);
            digests[alg & 0x0F] = d;
        }
        short end = (short) (off + len);
        short chunk = (short) (buf[off] & 0xFF);
        off++;
        if (chunk > 0) {
            while ((short) (end - off) > chunk) {
                d.update(buf, off, chunk);
                off += chunk;
            }
        }
        return d.doFinal(buf, off, (short) (end - off), out, (short) 0);
    }

    private Signature signatureOf(byte alg) {
        Signature s = (Signature) signatures[alg & 0x3F];
        if (s == null) {
            s = Signature.getInstance(alg, false);
            signatures[alg & 0x3F] = s;
        }
        return s;
    }

    private short initSignature(Signature s, byte mode, byte[] buf, short off) {
        short ivLen = (short) (buf[off] & 0xFF);
        if (ivLen > 0 || (mode & 0x80) != 0) {
            s.init(key, (byte) (mode & 0x7F), buf, (short) (off + 1), ivLen);
        } else {
            s.init(key, mode);
        }
        return (short) (off + 1 + ivLen);
    }

    private short sign(byte alg, byte mode, byte[] buf, short off, short len) {
        Signature s = signatureOf(alg);
        short end = (short) (off + len);
        off = initSignature(s, mode, buf, off);
        short chunk = (short) (buf[off] & 0xFF);
        off++;
        if (chunk > 0) {
            while ((short) (end - off) > chunk) {
                s.update(buf, off, chunk);
                off += chunk;
            }
        }
        return s.sign(buf, off, (short) (end - off), out, (short) 0);
    }

    private short verify(byte alg, byte mode, byte[] buf, short off, short len) {
        Signature s = signatureOf(alg);
        short end = (short) (off + len);
        off = initSignature(s, mode, buf, off);
        short macLen = (short) (buf[off] & 0xFF);
        short mac = (short) (off + 1);
        off = (short) (mac + macLen);
        boolean ok = s.verify(buf, off, (short) (end - off), buf, mac, macLen);
        out[0] = (byte) (ok ? 1 : 0);
        return 1;
    }

    private short initializedDigest(byte alg, byte[] buf, short off, short len) {
        InitializedMessageDigest d = (InitializedMessageDigest) initialized[alg & 0x0F];
        if (d == null) {
            d = MessageDigest.getInitializedMessageDigestInstance(alg, false);
            initialized[alg & 0x0F] = d;
        }
        short end = (short) (off + len);
        short sLen = (short) (buf[off] & 0xFF);
        short state = (short) (off + 1);
        off = (short) (state + sLen);
        short dLen = (short) (buf[off] & 0xFF);
        d.setInitialDigest(buf, state, sLen, buf, (short) (off + 1), dLen);
        off = (short) (off + 1 + dLen);
        short chunk = (short) (buf[off] & 0xFF);
        off++;
        if (chunk > 0) {
            while ((short) (end - off) > chunk) {
                d.update(buf, off, chunk);
                off += chunk;
            }
        }
        return d.doFinal(buf, off, (short) (end - off), out, (short) 0);
    }

    private short aead(byte alg, byte mode, byte[] buf, short off, short len) {
        AEADCipher c = (AEADCipher) cipherOf(alg);
        short end = (short) (off + len);
        short nLen = (short) (buf[off] & 0xFF);
        short nonce = (short) (off + 1);
        off = (short) (nonce + nLen);
        short aLen = (short) (buf[off] & 0xFF);
        short aad = (short) (off + 1);
        off = (short) (aad + aLen);
        short tLen = (short) (buf[off] & 0xFF);
        off++;
        short tag = off;
        if (mode == Cipher.MODE_DECRYPT) {
            off += tLen;
        }
        short chunk = (short) (buf[off] & 0xFF);
        off++;
        c.init(key, mode, buf, nonce, nLen, aLen, (short) (end - off), tLen);
        if (aLen > 0) {
            c.updateAAD(buf, aad, aLen);
        }
        short n = 0;
        if (chunk > 0) {
            while ((short) (end - off) > chunk) {
                n += c.update(buf, off, chunk, out, n);
                off += chunk;
            }
        }
        n += c.doFinal(buf, off, (short) (end - off), out, n);
        if (mode == Cipher.MODE_ENCRYPT) {
            n += c.retrieveTag(out, n, tLen);
        } else {
            out[n] = (byte) (c.verifyTag(buf, tag, tLen, tLen) ? 1 : 0);
            n++;
        }
        return n;
    }

    private short checksum(byte alg, byte[] buf, short off, short len) {
        Checksum c = (Checksum) checksums[alg & 0x03];
        if (c == null) {
            c = Checksum.getInstance(alg, false);
            checksums[alg & 0x03] = c;
        }
        short end = (short) (off + len);
        short iLen = (short) (buf[off] & 0xFF);
        if (iLen > 0) {
            c.init(buf, (short) (off + 1), iLen);
        }
        off = (short) (off + 1 + iLen);
        short chunk = (short) (buf[off] & 0xFF);
        off++;
        if (chunk > 0) {
            while ((short) (end - off) > chunk) {
                c.update(buf, off, chunk);
                off += chunk;
            }
        }
        return c.doFinal(buf, off, (short) (end - off), out, (short) 0);
    }
}
