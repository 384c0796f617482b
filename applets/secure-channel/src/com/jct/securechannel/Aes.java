package com.jct.securechannel;

import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.AESKey;
import javacard.security.CryptoException;
import javacardx.crypto.Cipher;

/**
 * The AES primitives SCP03 needs, built from the two AES ciphers the 3.0.4
 * API guarantees: AES-CMAC (NIST SP 800-38B; the API has no
 * ALG_AES_CMAC_128 before 3.0.5), the SP 800-108 counter-mode KDF over it,
 * and CBC with an explicit ICV. Every buffer is allocated once, at install.
 */
final class Aes {
    static final short BLOCK = 16;

    private final Cipher ecb;
    private final Cipher cbc;
    /** [0,16) the CMAC chaining value, [16,32) the pending block, [32,48) subkey. */
    private final byte[] st;
    /** [0] bytes in the pending block. */
    private final short[] fill;
    /** The KDF's fixed input for one iteration. */
    private final byte[] prefix;

    Aes() {
        ecb = cipher(Cipher.ALG_AES_BLOCK_128_ECB_NOPAD);
        cbc = cipher(Cipher.ALG_AES_BLOCK_128_CBC_NOPAD);
        // CLEAR_ON_RESET: the Shareable service uses these while its client,
        // not this applet, is selected.
        st = JCSystem.makeTransientByteArray((short) 48, JCSystem.CLEAR_ON_RESET);
        fill = JCSystem.makeTransientShortArray((short) 1, JCSystem.CLEAR_ON_RESET);
        prefix = JCSystem.makeTransientByteArray(BLOCK, JCSystem.CLEAR_ON_RESET);
    }

    /**
     * A cipher that may be used through the Shareable interface, where the
     * owner is not the selected applet; cards that cannot share one get an
     * ordinary instance.
     */
    private static Cipher cipher(byte algorithm) {
        try {
            return Cipher.getInstance(algorithm, true);
        } catch (CryptoException e) {
            return Cipher.getInstance(algorithm, false);
        }
    }

    /** Encrypts one block in place with AES-ECB. */
    void encryptBlock(AESKey key, byte[] buf, short off) {
        ecb.init(key, Cipher.MODE_ENCRYPT);
        ecb.doFinal(buf, off, BLOCK, buf, off);
    }

    /** AES-CBC in place over whole blocks with the ICV at icv[icvOff]. */
    void cbc(AESKey key, byte mode, byte[] icv, short icvOff, byte[] buf, short off, short len) {
        cbc.init(key, mode, icv, icvOff, BLOCK);
        if (len > 0) {
            cbc.doFinal(buf, off, len, buf, off);
        }
    }

    /** Starts a CMAC under {@code key}. */
    void cmacInit(AESKey key) {
        ecb.init(key, Cipher.MODE_ENCRYPT);
        Util.arrayFillNonAtomic(st, (short) 0, (short) 32, (byte) 0);
        fill[0] = 0;
    }

    /**
     * Feeds data. A full block is held back until more data arrives, because
     * the last block is the one CMAC treats differently.
     */
    void cmacUpdate(byte[] src, short off, short len) {
        while (len > 0) {
            short n = fill[0];
            if (n == BLOCK) {
                xor(st, BLOCK, st, (short) 0);
                ecb.doFinal(st, (short) 0, BLOCK, st, (short) 0);
                n = 0;
            }
            short take = (short) (BLOCK - n);
            if (take > len) {
                take = len;
            }
            Util.arrayCopyNonAtomic(src, off, st, (short) (BLOCK + n), take);
            fill[0] = (short) (n + take);
            off += take;
            len -= take;
        }
    }

    /** Finishes the CMAC; the 16-byte tag is left in st[0,16) and copied to out. */
    void cmacFinal(byte[] out, short outOff, short outLen) {
        short n = fill[0];
        // Subkey K1 = dbl(AES(K, 0)); K2 = dbl(K1) for a padded last block.
        Util.arrayFillNonAtomic(st, (short) 32, BLOCK, (byte) 0);
        ecb.doFinal(st, (short) 32, BLOCK, st, (short) 32);
        dbl(st, (short) 32);
        if (n < BLOCK) {
            dbl(st, (short) 32);
            st[(short) (BLOCK + n)] = (byte) 0x80;
            Util.arrayFillNonAtomic(st, (short) (BLOCK + n + 1), (short) (BLOCK - n - 1), (byte) 0);
        }
        xor(st, (short) 32, st, BLOCK);
        xor(st, BLOCK, st, (short) 0);
        ecb.doFinal(st, (short) 0, BLOCK, st, (short) 0);
        Util.arrayCopyNonAtomic(st, (short) 0, out, outOff, outLen);
    }

    /**
     * The SCP03 KDF (SP 800-108 counter mode, AES-CMAC PRF): {@code outLen}
     * bytes for a derivation constant and context, laid out as Amendment D
     * fixes it: 11 zero bytes, constant, 00, L in bits, counter, context.
     */
    void kdf(AESKey key, byte constant, byte[] ctx, short ctxOff, short ctxLen,
             byte[] out, short outOff, short outLen) {
        short bits = (short) (outLen * 8);
        Util.arrayFillNonAtomic(prefix, (short) 0, BLOCK, (byte) 0);
        prefix[11] = constant;
        Util.setShort(prefix, (short) 13, bits);
        byte i = 1;
        while (outLen > 0) {
            prefix[15] = i;
            cmacInit(key);
            cmacUpdate(prefix, (short) 0, BLOCK);
            cmacUpdate(ctx, ctxOff, ctxLen);
            short n = outLen > BLOCK ? BLOCK : outLen;
            cmacFinal(out, outOff, n);
            outOff += n;
            outLen -= n;
            i++;
        }
    }

    /** The key check value: AES-ECB of sixteen 01 bytes, first 3 bytes, into out. */
    void kcv(AESKey key, byte[] out, short outOff) {
        Util.arrayFillNonAtomic(st, (short) 0, BLOCK, (byte) 0x01);
        encryptBlock(key, st, (short) 0);
        Util.arrayCopyNonAtomic(st, (short) 0, out, outOff, (short) 3);
    }

    /** Wipes the intermediate values. */
    void clear() {
        Util.arrayFillNonAtomic(st, (short) 0, (short) 48, (byte) 0);
        fill[0] = 0;
    }

    /** dst[dOff..+16) ^= src[sOff..+16). */
    private static void xor(byte[] src, short sOff, byte[] dst, short dOff) {
        for (short i = 0; i < BLOCK; i++) {
            dst[(short) (dOff + i)] ^= src[(short) (sOff + i)];
        }
    }

    /** Doubling in GF(2^128): shift left one bit, reduce with 0x87. */
    private static void dbl(byte[] b, short off) {
        // Branch-free, so the time taken does not depend on the key.
        byte carry = (byte) ((b[off] >> 7) & 0x87);
        for (short i = 0; i < (short) (BLOCK - 1); i++) {
            b[(short) (off + i)] = (byte) ((b[(short) (off + i)] << 1)
                    | ((b[(short) (off + i + 1)] >> 7) & 0x01));
        }
        b[(short) (off + BLOCK - 1)] = (byte) ((b[(short) (off + BLOCK - 1)] << 1) ^ carry);
    }
}
