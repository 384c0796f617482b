package com.jct.asymtest;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.CryptoException;
import javacard.security.ECKey;
import javacard.security.ECPrivateKey;
import javacard.security.ECPublicKey;
import javacard.security.Key;
import javacard.security.KeyAgreement;
import javacard.security.KeyBuilder;
import javacard.security.KeyPair;
import javacard.security.PrivateKey;
import javacard.security.PublicKey;
import javacard.security.RSAPrivateCrtKey;
import javacard.security.RSAPrivateKey;
import javacard.security.RSAPublicKey;
import javacard.security.Signature;
import javacardx.crypto.Cipher;

/**
 * Runs the asymmetric crypto API on what the host sends, for the tests
 * of jct emu's RSA and EC natives (tests/crypto_asym.rs). A
 * CryptoException answers 9Cxx, xx its reason.
 *
 * Operations take their input from the command data, or, when the command
 * has none, from the staging buffer (80 0F), for inputs longer than one
 * short APDU.
 *
 * <pre>
 * 80 0F reset 00 data          stage data (p1 = 1: start over)
 * 80 10 type slot bits(2)      KeyBuilder.buildKey(type, bits) into slot
 * 80 11 slot comp value        set a component (0 modulus, 1 exponent, 2..6 P Q DP1
 *                              DQ1 PQ, 10 field, 11 A, 12 B, 13 G, 14 R, 15 K, 16 W or S)
 * 80 12 slot comp              get a component
 * 80 13 slot                   size (2), type, initialized
 * 80 14 slot                   clearKey
 * 80 20 alg slot msg           Signature sign (init MODE_SIGN each time)
 * 80 21 alg slot len sig msg   Signature verify: 01 or 00
 * 80 22 alg slot hash          signPreComputedHash
 * 80 23 alg slot len sig hash  verifyPreComputedHash
 * 80 24 md cipher pad          Signature.getInstance by parts: its algorithm
 * 80 25 alg slot mode          Signature init and getLength
 * 80 26 alg slot msg           Signature sign again with no init (uses the last init)
 * 80 30 alg slot|mode data     Cipher init (mode: p2 bits 4-7) and doFinal
 * 80 31 alg slot|mode data     Cipher update then doFinal (for the error)
 * 80 40 alg 00 bits(2)         new KeyPair(alg, bits): public in slot 0, private in 1
 * 80 41 00 00                  genKeyPair
 * 80 42 00 00                  new KeyPair(slot 0, slot 1)
 * 80 50 alg slot point         KeyAgreement init (slot) and generateSecret
 * </pre>
 */
public final class AsymTestApplet extends Applet {
    private final Key[] keys = new Key[4];
    private final Object[] signatures = new Object[64];
    private final Object[] ciphers = new Object[16];
    private final Object[] agreements = new Object[8];
    private KeyPair pair;
    private final byte[] staged;
    private final short[] stagedLen;
    private final byte[] out;

    private AsymTestApplet() {
        staged = JCSystem.makeTransientByteArray((short) 1100, JCSystem.CLEAR_ON_DESELECT);
        stagedLen = JCSystem.makeTransientShortArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
        out = JCSystem.makeTransientByteArray((short) 600, JCSystem.CLEAR_ON_DESELECT);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new AsymTestApplet();
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
        byte ins = buf[ISO7816.OFFSET_INS];
        byte p1 = buf[ISO7816.OFFSET_P1];
        byte p2 = buf[ISO7816.OFFSET_P2];
        byte[] in = buf;
        short off = ISO7816.OFFSET_CDATA;
        if (ins == (byte) 0x0F) {
            if (p1 == 1) {
                stagedLen[0] = 0;
            }
            stagedLen[0] = Util.arrayCopyNonAtomic(buf, off, staged, stagedLen[0], len);
            return;
        }
        if (len == 0) {
            in = staged;
            off = 0;
            len = stagedLen[0];
        }
        short n = 0;
        try {
            switch (ins) {
                case 0x10:
                    keys[p2] = KeyBuilder.buildKey(p1, Util.getShort(in, off), false);
                    return;
                case 0x11:
                    setComponent(keys[p1], p2, in, off, len);
                    return;
                case 0x12:
                    n = getComponent(keys[p1], p2);
                    break;
                case 0x13:
                    Util.setShort(out, (short) 0, keys[p1].getSize());
                    out[2] = keys[p1].getType();
                    out[3] = (byte) (keys[p1].isInitialized() ? 1 : 0);
                    n = 4;
                    break;
                case 0x14:
                    keys[p1].clearKey();
                    return;
                case 0x20: {
                    Signature s = signature(p1);
                    s.init(keys[p2], Signature.MODE_SIGN);
                    n = s.sign(in, off, len, out, (short) 0);
                    break;
                }
                case 0x26: {
                    Signature s = signature(p1);
                    n = s.sign(in, off, len, out, (short) 0);
                    break;
                }
                case 0x21: {
                    Signature s = signature(p1);
                    s.init(keys[p2], Signature.MODE_VERIFY);
                    short sl = (short) (in[off] & 0xFF);
                    short mo = (short) (off + 1 + sl);
                    boolean ok = s.verify(in, mo, (short) (len - 1 - sl), in, (short) (off + 1), sl);
                    out[0] = (byte) (ok ? 1 : 0);
                    n = 1;
                    break;
                }
                case 0x22: {
                    Signature s = signature(p1);
                    s.init(keys[p2], Signature.MODE_SIGN);
                    n = s.signPreComputedHash(in, off, len, out, (short) 0);
                    break;
                }
                case 0x23: {
                    Signature s = signature(p1);
                    s.init(keys[p2], Signature.MODE_VERIFY);
                    short sl = (short) (in[off] & 0xFF);
                    short mo = (short) (off + 1 + sl);
                    boolean ok = s.verifyPreComputedHash(in, mo, (short) (len - 1 - sl), in,
                            (short) (off + 1), sl);
                    out[0] = (byte) (ok ? 1 : 0);
                    n = 1;
                    break;
                }
                case 0x24: {
                    Signature s = Signature.getInstance(p1, p2, in[off], false);
                    out[0] = s.getAlgorithm();
                    n = 1;
                    break;
                }
                case 0x25: {
                    Signature s = signature(p1);
                    s.init(keys[p2], in[off]);
                    Util.setShort(out, (short) 0, s.getLength());
                    n = 2;
                    break;
                }
                case 0x30:
                case 0x31: {
                    Cipher c = cipher(p1);
                    c.init(keys[p2 & 0x0F], (byte) ((p2 >> 4) & 0x0F));
                    if (ins == 0x31) {
                        c.update(in, off, len, out, (short) 0);
                    }
                    n = c.doFinal(in, off, len, out, (short) 0);
                    break;
                }
                case 0x40:
                    pair = new KeyPair(p1, Util.getShort(in, off));
                    keys[0] = pair.getPublic();
                    keys[1] = pair.getPrivate();
                    return;
                case 0x41:
                    pair.genKeyPair();
                    return;
                case 0x42:
                    pair = new KeyPair((PublicKey) keys[0], (PrivateKey) keys[1]);
                    return;
                case 0x50: {
                    KeyAgreement ka = agreement(p1);
                    ka.init((PrivateKey) keys[p2]);
                    n = ka.generateSecret(in, off, len, out, (short) 0);
                    break;
                }
                default:
                    ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
                    return;
            }
        } catch (CryptoException e) {
            ISOException.throwIt((short) (0x9C00 | e.getReason()));
            return;
        }
        apdu.setOutgoing();
        apdu.setOutgoingLength(n);
        apdu.sendBytesLong(out, (short) 0, n);
    }

    private Signature signature(byte alg) {
        Signature s = (Signature) signatures[alg & 0x3F];
        if (s == null) {
            s = Signature.getInstance(alg, false);
            signatures[alg & 0x3F] = s;
        }
        return s;
    }

    private Cipher cipher(byte alg) {
        Cipher c = (Cipher) ciphers[alg & 0x0F];
        if (c == null) {
            c = Cipher.getInstance(alg, false);
            ciphers[alg & 0x0F] = c;
        }
        return c;
    }

    private KeyAgreement agreement(byte alg) {
        KeyAgreement k = (KeyAgreement) agreements[alg & 0x07];
        if (k == null) {
            k = KeyAgreement.getInstance(alg, false);
            agreements[alg & 0x07] = k;
        }
        return k;
    }

    private static void setComponent(Key k, byte comp, byte[] b, short off, short len) {
        switch (comp) {
            case 0:
                if (k instanceof RSAPublicKey) {
                    ((RSAPublicKey) k).setModulus(b, off, len);
                } else {
                    ((RSAPrivateKey) k).setModulus(b, off, len);
                }
                return;
            case 1:
                if (k instanceof RSAPublicKey) {
                    ((RSAPublicKey) k).setExponent(b, off, len);
                } else {
                    ((RSAPrivateKey) k).setExponent(b, off, len);
                }
                return;
            case 2:
                ((RSAPrivateCrtKey) k).setP(b, off, len);
                return;
            case 3:
                ((RSAPrivateCrtKey) k).setQ(b, off, len);
                return;
            case 4:
                ((RSAPrivateCrtKey) k).setDP1(b, off, len);
                return;
            case 5:
                ((RSAPrivateCrtKey) k).setDQ1(b, off, len);
                return;
            case 6:
                ((RSAPrivateCrtKey) k).setPQ(b, off, len);
                return;
            case 10:
                ((ECKey) k).setFieldFP(b, off, len);
                return;
            case 11:
                ((ECKey) k).setA(b, off, len);
                return;
            case 12:
                ((ECKey) k).setB(b, off, len);
                return;
            case 13:
                ((ECKey) k).setG(b, off, len);
                return;
            case 14:
                ((ECKey) k).setR(b, off, len);
                return;
            case 15:
                ((ECKey) k).setK(Util.getShort(b, off));
                return;
            case 16:
                if (k instanceof ECPublicKey) {
                    ((ECPublicKey) k).setW(b, off, len);
                } else {
                    ((ECPrivateKey) k).setS(b, off, len);
                }
                return;
            default:
                ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
    }

    private short getComponent(Key k, byte comp) {
        switch (comp) {
            case 0:
                if (k instanceof RSAPublicKey) {
                    return ((RSAPublicKey) k).getModulus(out, (short) 0);
                }
                return ((RSAPrivateKey) k).getModulus(out, (short) 0);
            case 1:
                if (k instanceof RSAPublicKey) {
                    return ((RSAPublicKey) k).getExponent(out, (short) 0);
                }
                return ((RSAPrivateKey) k).getExponent(out, (short) 0);
            case 2:
                return ((RSAPrivateCrtKey) k).getP(out, (short) 0);
            case 3:
                return ((RSAPrivateCrtKey) k).getQ(out, (short) 0);
            case 4:
                return ((RSAPrivateCrtKey) k).getDP1(out, (short) 0);
            case 5:
                return ((RSAPrivateCrtKey) k).getDQ1(out, (short) 0);
            case 6:
                return ((RSAPrivateCrtKey) k).getPQ(out, (short) 0);
            case 10:
                return ((ECKey) k).getField(out, (short) 0);
            case 11:
                return ((ECKey) k).getA(out, (short) 0);
            case 12:
                return ((ECKey) k).getB(out, (short) 0);
            case 13:
                return ((ECKey) k).getG(out, (short) 0);
            case 14:
                return ((ECKey) k).getR(out, (short) 0);
            case 15:
                Util.setShort(out, (short) 0, ((ECKey) k).getK());
                return 2;
            case 16:
                if (k instanceof ECPublicKey) {
                    return ((ECPublicKey) k).getW(out, (short) 0);
                }
                return ((ECPrivateKey) k).getS(out, (short) 0);
            default:
                ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
                return 0;
        }
    }
}
