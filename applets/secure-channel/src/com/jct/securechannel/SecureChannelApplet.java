package com.jct.securechannel;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Shareable;
import javacard.framework.Util;
import javacard.security.AESKey;
import javacard.security.CryptoException;
import javacard.security.KeyBuilder;
import javacard.security.RandomData;
import javacardx.apdu.ExtendedLength;
import javacardx.crypto.Cipher;

/**
 * The card side of SCP03 (GlobalPlatform Card Specification 2.3.1 Amendment
 * D, S8 mode) as a Java Card applet: INITIALIZE UPDATE, EXTERNAL
 * AUTHENTICATE, then C-MAC, C-DECRYPTION, R-MAC and R-ENCRYPTION on every
 * later command; PUT KEY and GET DATA (key information) for its one key set;
 * the same session as a {@link SecureChannelService} for other applets; and,
 * when installed in front mode, ENVELOPE and WRAP so that a host-side
 * GlobalPlatform front (jct's jCardSim harness) leaves every security
 * decision to this code.
 *
 * <p>It follows the card side of jct's scp crate and emulator rule for rule
 * (status words, padding, counters, which failures close the session), so
 * the same host code talks to both. Install parameters and AIDs are in
 * applets/README.md.
 *
 * <p>Real-card rules: nothing is allocated after install; static keys live in
 * AESKey objects that nothing reads out; session state and session keys are
 * CLEAR_ON_RESET transients (CLEAR_ON_DESELECT memory may only be touched
 * while its owner is selected, and the Shareable service runs while its
 * client is), so every selection starts by closing the session.
 */
public class SecureChannelApplet extends Applet implements ExtendedLength, SecureChannelService {
    private static final byte INS_INITIALIZE_UPDATE = (byte) 0x50;
    private static final byte INS_EXTERNAL_AUTHENTICATE = (byte) 0x82;
    private static final byte INS_PUT_KEY = (byte) 0xD8;
    private static final byte INS_GET_DATA = (byte) 0xCA;
    private static final byte INS_SELECT = (byte) 0xA4;
    /** Front mode: a whole host command in, checked and stripped. */
    private static final byte INS_ENVELOPE = (byte) 0xE0;
    /** Front mode: the harness's response out, protected. */
    private static final byte INS_WRAP = (byte) 0xE2;
    private static final byte CLA_GP = (byte) 0x80;

    private static final short SW_AUTH_FAILED = (short) 0x6300;
    private static final short SW_CHANNEL_NOT_SUPPORTED = (short) 0x6881;
    private static final short SW_BLOCKED = (short) 0x6983;
    /** 6A88: no key set with that version, no data object with that tag (not in ISO7816). */
    private static final short SW_REFERENCED_DATA_NOT_FOUND = (short) 0x6A88;
    private static final short SW_ALGORITHM_NOT_SUPPORTED = (short) 0x9484;
    private static final short SW_INVALID_KCV = (short) 0x9485;

    private static final byte KEY_TYPE_AES = (byte) 0x88;
    /** Key roles, in key identifier order minus one. */
    private static final byte ENC = 0;
    private static final byte MAC = 1;
    private static final byte DEK = 2;

    // Persistent configuration: cfg[CFG_KVN], then per role its slot and length index.
    private static final short CFG_KVN = 0;
    private static final short CFG_SLOT = 1;
    private static final short CFG_LEN = 4;

    // Session state in ss (CLEAR_ON_RESET).
    private static final byte ST_NONE = 0;
    private static final byte ST_AUTHENTICATING = 1;
    private static final byte ST_OPEN = 2;
    private static final short S_STATE = 0;
    private static final short S_LEVEL = 1;
    private static final short S_PENDING = 2;
    private static final short S_ENC_LEN = 3;
    private static final short S_MAC_LEN = 4;
    private static final short S_DEK = 5;
    private static final short S_OWNER_LEN = 6;
    private static final short S_OWNER = 7;
    private static final short S_CHAIN = 23;
    private static final short S_COUNTER = 39;
    private static final short S_HOST_CRYPTOGRAM = 47;
    private static final short SS_SIZE = 55;

    // Scratch layout in kb (CLEAR_ON_RESET).
    private static final short K_OUT = 0;
    private static final short K_BLOCK = 32;
    private static final short K_CONTEXT = 48;
    private static final short K_HOST_CHALLENGE = 48;
    private static final short K_CARD_CHALLENGE = 56;
    private static final short K_SEED = 64;
    private static final short KB_SIZE = 96;

    private static final short RB_SIZE = 80;
    /** Front mode: room for one enveloped command or wrapped response. */
    private static final short WORK_SIZE = 1040;
    /** dispatch: the command is the harness's to execute. */
    private static final short FORWARD = -1;
    private static final short T_SW = 0;
    private static final short T_PLAIN_LEN = 1;

    /** Static keys: [slot 0..1][length 128/192/256][role ENC/MAC/DEK]. */
    private final AESKey[] pool;
    /** Session keys: [length][S-ENC/S-MAC/S-RMAC], CLEAR_ON_RESET. */
    private final AESKey[] sessionKeys;
    private final byte[] cfg;
    /** Which of AES-128, -192, -256 the card offers (all key objects built). */
    private final boolean[] lengths;
    private final byte[] kdd;
    /** The SCP03 sequence counter, 4 bytes so that exhaustion (above FFFFFF) shows. */
    private final byte[] sequence;
    private final byte[] ownAid;
    private final byte ownAidLength;
    private final byte option;
    private final byte failureLimit;
    private final boolean front;
    /** Failed authentications since the last success. */
    private short failures;

    private final Aes aes;
    private final RandomData random;
    private final byte[] ss;
    private final byte[] kb;
    private final byte[] rb;
    private final short[] tv;
    /** The slot each replaced key goes to in PUT KEY, per role. */
    private final byte[] newLength;
    private final byte[] work;

    /**
     * bArray holds the GlobalPlatform install data: instance AID, control
     * information, then the application parameters (the C9 value): TLVs as
     * applets/README.md lists them.
     */
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new SecureChannelApplet(bArray, bOffset, bLength);
    }

    private SecureChannelApplet(byte[] b, short off, byte len) {
        aes = new Aes();
        random = RandomData.getInstance(RandomData.ALG_SECURE_RANDOM);
        ss = JCSystem.makeTransientByteArray(SS_SIZE, JCSystem.CLEAR_ON_RESET);
        kb = JCSystem.makeTransientByteArray(KB_SIZE, JCSystem.CLEAR_ON_RESET);
        rb = JCSystem.makeTransientByteArray(RB_SIZE, JCSystem.CLEAR_ON_RESET);
        tv = JCSystem.makeTransientShortArray((short) 2, JCSystem.CLEAR_ON_RESET);
        newLength = JCSystem.makeTransientByteArray((short) 3, JCSystem.CLEAR_ON_RESET);
        pool = new AESKey[18];
        sessionKeys = new AESKey[9];
        lengths = new boolean[3];
        for (byte l = 0; l < 3; l++) {
            short bits = (short) (KeyBuilder.LENGTH_AES_128 + 64 * l);
            try {
                for (byte r = 0; r < 3; r++) {
                    pool[(short) (l * 3 + r)] = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, bits, false);
                    pool[(short) (9 + l * 3 + r)] = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, bits, false);
                    sessionKeys[(short) (l * 3 + r)] =
                            (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES_TRANSIENT_RESET, bits, false);
                }
                lengths[l] = true;
            } catch (CryptoException e) {
                // Many cards have no AES-192 (some no AES-256): keys of that
                // length are then refused, at install and by PUT KEY. AES-128
                // is a must.
                if (l == 0) {
                    throw e;
                }
            }
        }
        cfg = new byte[7];
        kdd = new byte[10];
        sequence = new byte[4];
        ownAid = new byte[16];

        // GlobalPlatform install data: Li AID, Lc control information, La parameters.
        short aidOff = 0;
        byte aidLen = 0;
        short parOff = 0;
        short parLen = 0;
        if (len > 0) {
            aidLen = b[off];
            aidOff = (short) (off + 1);
            short p = (short) (aidOff + aidLen);
            p = (short) (p + 1 + (b[p] & 0xFF));
            parLen = (short) (b[p] & 0xFF);
            parOff = (short) (p + 1);
        }
        byte kvn = (byte) 0x30;
        byte i = (byte) 0x70;
        byte limit = 10;
        boolean frontMode = false;
        boolean keysGiven = false;
        short end = (short) (parOff + parLen);
        short p = parOff;
        while (p < end) {
            if ((short) (p + 2) > end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            byte tag = b[p];
            short l = (short) (b[(short) (p + 1)] & 0xFF);
            short v = (short) (p + 2);
            if ((short) (v + l) > end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            switch (tag) {
                case (byte) 0x80:
                    requireLength(l, (short) 1);
                    kvn = b[v];
                    if (kvn == 0 || (kvn < 0 && kvn != (byte) 0xFF)) {
                        ISOException.throwIt(ISO7816.SW_WRONG_DATA);
                    }
                    break;
                case (byte) 0x81:
                case (byte) 0x82:
                case (byte) 0x83: {
                    byte role = (byte) (tag - (byte) 0x81);
                    byte li = lengthIndex(l);
                    if (li < 0) {
                        ISOException.throwIt(ISO7816.SW_WRONG_DATA);
                    }
                    cfg[(short) (CFG_LEN + role)] = li;
                    pool[(short) (li * 3 + role)].setKey(b, v);
                    keysGiven = true;
                    newLength[role] = 1;
                    break;
                }
                case (byte) 0x84:
                    requireLength(l, (short) 1);
                    i = b[v];
                    break;
                case (byte) 0x85:
                    requireLength(l, (short) 1);
                    limit = b[v];
                    break;
                case (byte) 0x86:
                    requireLength(l, (short) 1);
                    if (b[v] != 0 && b[v] != 1) {
                        ISOException.throwIt(ISO7816.SW_WRONG_DATA);
                    }
                    frontMode = b[v] == 1;
                    break;
                case (byte) 0x87:
                    requireLength(l, (short) 10);
                    Util.arrayCopy(b, v, kdd, (short) 0, (short) 10);
                    break;
                default:
                    ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            p = (short) (v + l);
        }
        // Either all three keys or none: a key set of one key and two test keys is a mistake.
        if (keysGiven && (newLength[ENC] == 0 || newLength[MAC] == 0 || newLength[DEK] == 0)) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        if (!keysGiven) {
            // The GlobalPlatform test key 40..4F as AES-128 ENC, MAC and DEK:
            // for development cards only.
            for (short k = 0; k < 16; k++) {
                kb[k] = (byte) (0x40 + k);
            }
            for (byte r = 0; r < 3; r++) {
                pool[r].setKey(kb, (short) 0);
            }
            Util.arrayFillNonAtomic(kb, (short) 0, (short) 16, (byte) 0);
        }
        Util.arrayFillNonAtomic(newLength, (short) 0, (short) 3, (byte) 0);
        // S16 (01) and the RFU bits are not offered.
        if ((i & (byte) 0x8F) != 0) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        cfg[CFG_KVN] = kvn;
        option = i;
        failureLimit = limit;
        front = frontMode;
        work = frontMode ? JCSystem.makeTransientByteArray(WORK_SIZE, JCSystem.CLEAR_ON_RESET) : null;
        if (len > 0) {
            Util.arrayCopy(b, aidOff, ownAid, (short) 0, aidLen);
            ownAidLength = aidLen;
            register(b, aidOff, aidLen);
        } else {
            register();
            ownAidLength = JCSystem.getAID().getBytes(ownAid, (short) 0);
        }
    }

    private static void requireLength(short l, short expected) {
        if (l != expected) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
    }

    /** 0, 1, 2 for AES-128, -192, -256 key bytes; -1 for another length or one the card lacks. */
    private byte lengthIndex(short bytes) {
        byte li = -1;
        if (bytes == 16) {
            li = 0;
        } else if (bytes == 24) {
            li = 1;
        } else if (bytes == 32) {
            li = 2;
        }
        return li >= 0 && lengths[li] ? li : -1;
    }

    private static short keyBytes(byte lengthIndex) {
        return (short) (16 + 8 * lengthIndex);
    }

    /** The static key of a role, as the configuration says now. */
    private AESKey staticKey(byte role) {
        return pool[poolIndex(cfg[(short) (CFG_SLOT + role)], cfg[(short) (CFG_LEN + role)], role)];
    }

    private static short poolIndex(byte slot, byte lengthIndex, byte role) {
        return (short) (slot * 9 + lengthIndex * 3 + role);
    }

    public boolean select() {
        // A session never outlives a selection (GP: selecting ends it).
        closeSession();
        return true;
    }

    public void deselect() {
        closeSession();
    }

    public Shareable getShareableInterfaceObject(AID clientAID, byte parameter) {
        return this;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (front && buf[ISO7816.OFFSET_CLA] == CLA_GP) {
            if (buf[ISO7816.OFFSET_INS] == INS_ENVELOPE) {
                envelope(apdu);
                return;
            }
            if (buf[ISO7816.OFFSET_INS] == INS_WRAP) {
                wrapForHarness(apdu);
                return;
            }
        }
        short dLen = receiveAll(apdu, buf, (short) 0);
        short dOff = apdu.getOffsetCdata();
        short r = dispatch(buf, (short) 0, dOff, dLen, dOff == ISO7816.OFFSET_EXT_CDATA, false);
        short sw = tv[T_SW];
        if (r > 0) {
            Util.arrayCopyNonAtomic(rb, (short) 0, buf, (short) 0, r);
            apdu.setOutgoingAndSend((short) 0, r);
        }
        if (sw != ISO7816.SW_NO_ERROR) {
            ISOException.throwIt(sw);
        }
    }

    /**
     * Receives the whole command data at {@code to} plus the data offset
     * (or at {@code to} exactly, when {@code to} is not 0); returns its length.
     */
    private static short receiveAll(APDU apdu, byte[] dst, short to) {
        short got = apdu.setIncomingAndReceive();
        short total = apdu.getIncomingLength();
        short cdata = apdu.getOffsetCdata();
        byte[] buf = apdu.getBuffer();
        if (dst != buf || to != 0) {
            if ((short) (to + total) > (short) dst.length || (short) (to + total) < 0) {
                ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
            }
            short at = to;
            Util.arrayCopyNonAtomic(buf, cdata, dst, at, got);
            at += got;
            while ((short) (at - to) < total) {
                short n = apdu.receiveBytes(cdata);
                Util.arrayCopyNonAtomic(buf, cdata, dst, at, n);
                at += n;
            }
            return total;
        }
        // A card's APDU buffer is at most 32767 bytes; jCardSim's extended one
        // is longer, and its length reads as negative here: no limit then.
        short room = (short) buf.length;
        if (room > 0 && ((short) (cdata + total) > room || (short) (cdata + total) < 0)) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        short at = (short) (cdata + got);
        while ((short) (at - cdata) < total) {
            at += apdu.receiveBytes(at);
        }
        return total;
    }

    // ---- the command flow, shared by direct commands and envelopes ----

    /**
     * Runs one command (header at cOff, data at dOff) as jct's emulator runs
     * an ISD command: INITIALIZE UPDATE and EXTERNAL AUTHENTICATE first, then
     * the session's secure messaging, then the command itself. Returns the
     * response data length in rb with the status word in tv[T_SW], or
     * FORWARD (enveloped commands this applet does not execute), the plain
     * data length then in tv[T_PLAIN_LEN].
     */
    private short dispatch(byte[] buf, short cOff, short dOff, short dLen, boolean ext, boolean envelope) {
        tv[T_SW] = ISO7816.SW_NO_ERROR;
        byte cla = buf[cOff];
        byte ins = buf[(short) (cOff + 1)];
        if (ss[S_STATE] != ST_NONE && !ownerIsSelf()) {
            // A client applet's session is not this applet's to use.
            closeSession();
        }
        boolean secured = false;
        try {
            if (envelope) {
                if (cla == (byte) 0xFF) {
                    ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
                }
                if (logicalChannel(cla) != 0) {
                    ISOException.throwIt(SW_CHANNEL_NOT_SUPPORTED);
                }
            }
            if (ins == INS_SELECT && !isSecured(cla)) {
                // SELECT comes before secure messaging and leaves the session
                // alone; it ends when this applet is selected again.
                if (envelope) {
                    tv[T_PLAIN_LEN] = dLen;
                    return FORWARD;
                }
                ISOException.throwIt(ISO7816.SW_FILE_NOT_FOUND);
            }
            if (ins == INS_INITIALIZE_UPDATE) {
                short r = initializeUpdate(buf, cOff, dOff, dLen);
                setOwnerSelf();
                return r;
            }
            if (ins == INS_EXTERNAL_AUTHENTICATE) {
                externalAuthenticate(buf, cOff, dOff, dLen);
                return 0;
            }
            if (ss[S_STATE] == ST_OPEN) {
                dLen = unwrapCommand(buf, cOff, dOff, dLen, ext);
                secured = true;
            } else {
                // Anything but EXTERNAL AUTHENTICATE ends an authentication in progress.
                closeSession();
                if (isSecured(cla)) {
                    ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
                }
            }
            short r = execute(buf, cOff, dOff, dLen, envelope);
            if (r == FORWARD) {
                tv[T_PLAIN_LEN] = dLen;
                return FORWARD;
            }
            return wrapResponse(rb, (short) 0, r, ISO7816.SW_NO_ERROR);
        } catch (ISOException e) {
            short sw = e.getReason();
            tv[T_SW] = sw;
            if (secured) {
                // An error carries no data; under R-MAC it uses up the pending command.
                wrapResponse(rb, (short) 0, (short) 0, sw);
            }
            return 0;
        }
    }

    /** The commands this applet executes itself, once secure messaging is off. */
    private short execute(byte[] buf, short cOff, short dOff, short dLen, boolean envelope) {
        byte ins = buf[(short) (cOff + 1)];
        byte cls = classOf(buf[cOff]);
        if (ins == INS_PUT_KEY) {
            // Card content management needs C-MAC before anything else is looked at.
            if (ss[S_STATE] != ST_OPEN || (ss[S_LEVEL] & C_MAC) == 0) {
                ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
            }
            if (cls != CLA_GP) {
                ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
            }
            return putKey(buf, cOff, dOff, dLen);
        }
        if (ins == INS_GET_DATA) {
            boolean keyInformation = buf[(short) (cOff + 2)] == 0 && buf[(short) (cOff + 3)] == (byte) 0xE0;
            // C1: the sequence counter the next INITIALIZE UPDATE uses, which
            // a key holder needs to build offline scripts (GP Amendment D).
            boolean counter = buf[(short) (cOff + 2)] == 0 && buf[(short) (cOff + 3)] == (byte) 0xC1;
            if (keyInformation || counter || !envelope) {
                if (cls != CLA_GP && cls != 0) {
                    ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
                }
                if (counter) {
                    return sequenceCounter();
                }
                if (!keyInformation) {
                    ISOException.throwIt(SW_REFERENCED_DATA_NOT_FOUND);
                }
                return keyInformation();
            }
        }
        if (envelope) {
            return FORWARD;
        }
        ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        return 0;
    }

    // ---- INITIALIZE UPDATE and EXTERNAL AUTHENTICATE ----

    /**
     * INITIALIZE UPDATE (80 50 KVN 00 08 host-challenge): derives the session
     * keys and answers key diversification data, key information, card
     * challenge, card cryptogram and (pseudo-random challenges) the sequence
     * counter, into rb. The counter advances on every challenge issued.
     */
    private short initializeUpdate(byte[] buf, short cOff, short dOff, short dLen) {
        closeSession();
        byte cla = buf[cOff];
        if (cla != CLA_GP) {
            ISOException.throwIt(classOf(cla) == CLA_GP
                    ? ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED : ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        byte p1 = buf[(short) (cOff + 2)];
        byte kvn = cfg[CFG_KVN];
        if (p1 != 0 && p1 != kvn) {
            ISOException.throwIt(SW_REFERENCED_DATA_NOT_FOUND);
        }
        if (failureLimit != 0 && failures >= (short) (failureLimit & 0xFF)) {
            ISOException.throwIt(SW_BLOCKED);
        }
        if (buf[(short) (cOff + 3)] != 0) {
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        if (dLen != 8) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        boolean pseudo = (option & 0x10) != 0;
        if (pseudo && sequence[0] != 0) {
            // Every 3-byte counter value has been used.
            ISOException.throwIt(ISO7816.SW_UNKNOWN);
        }
        Util.arrayCopyNonAtomic(buf, dOff, kb, K_HOST_CHALLENGE, (short) 8);
        if (pseudo) {
            // Amendment D 6.2.2.1: KDF under Key-ENC, constant 02, context
            // sequence counter || AID of the security domain.
            Util.arrayCopyNonAtomic(sequence, (short) 1, kb, K_SEED, (short) 3);
            Util.arrayCopyNonAtomic(ownAid, (short) 0, kb, (short) (K_SEED + 3), ownAidLength);
            aes.kdf(staticKey(ENC), (byte) 0x02, kb, K_SEED, (short) (3 + ownAidLength),
                    kb, K_CARD_CHALLENGE, (short) 8);
        } else {
            random.generateData(kb, K_CARD_CHALLENGE, (short) 8);
        }
        byte encLen = cfg[(short) (CFG_LEN + ENC)];
        byte macLen = cfg[(short) (CFG_LEN + MAC)];
        AESKey sEnc = sessionKeys[(short) (encLen * 3)];
        AESKey sMac = sessionKeys[(short) (macLen * 3 + 1)];
        AESKey sRmac = sessionKeys[(short) (macLen * 3 + 2)];
        deriveKey(staticKey(ENC), (byte) 0x04, sEnc, keyBytes(encLen));
        deriveKey(staticKey(MAC), (byte) 0x06, sMac, keyBytes(macLen));
        deriveKey(staticKey(MAC), (byte) 0x07, sRmac, keyBytes(macLen));
        short r = 0;
        r = Util.arrayCopyNonAtomic(kdd, (short) 0, rb, r, (short) 10);
        rb[r++] = kvn;
        rb[r++] = 0x03;
        rb[r++] = option;
        r = Util.arrayCopyNonAtomic(kb, K_CARD_CHALLENGE, rb, r, (short) 8);
        aes.kdf(sMac, (byte) 0x00, kb, K_CONTEXT, (short) 16, rb, r, (short) 8);
        r += 8;
        aes.kdf(sMac, (byte) 0x01, kb, K_CONTEXT, (short) 16, ss, S_HOST_CRYPTOGRAM, (short) 8);
        if (pseudo) {
            r = Util.arrayCopyNonAtomic(sequence, (short) 1, rb, r, (short) 3);
        }
        advanceSequence();
        ss[S_ENC_LEN] = encLen;
        ss[S_MAC_LEN] = macLen;
        ss[S_DEK] = (byte) poolIndex(cfg[(short) (CFG_SLOT + DEK)], cfg[(short) (CFG_LEN + DEK)], DEK);
        ss[S_STATE] = ST_AUTHENTICATING;
        Util.arrayFillNonAtomic(kb, (short) 0, KB_SIZE, (byte) 0);
        aes.clear();
        return r;
    }

    /** A session key: the KDF under a static key with context host || card challenge. */
    private void deriveKey(AESKey base, byte constant, AESKey out, short bytes) {
        aes.kdf(base, constant, kb, K_CONTEXT, (short) 16, kb, K_OUT, bytes);
        out.setKey(kb, K_OUT);
        Util.arrayFillNonAtomic(kb, K_OUT, (short) 32, (byte) 0);
    }

    /** The sequence counter plus one, saturating, written in one atomic copy. */
    private void advanceSequence() {
        Util.arrayCopyNonAtomic(sequence, (short) 0, kb, K_BLOCK, (short) 4);
        for (short i = 3; i >= 0; i--) {
            short at = (short) (K_BLOCK + i);
            kb[at]++;
            if (kb[at] != 0) {
                break;
            }
            if (i == 0) {
                // Past FFFFFFFF: stay there.
                Util.arrayFillNonAtomic(kb, K_BLOCK, (short) 4, (byte) 0xFF);
            }
        }
        Util.arrayCopy(kb, K_BLOCK, sequence, (short) 0, (short) 4);
    }

    /**
     * EXTERNAL AUTHENTICATE (84 82 level 00 10 host-cryptogram C-MAC). The
     * failure counter goes up before the check and back to 0 after a
     * success, so that cutting the power during the check cannot hide a
     * wrong guess.
     */
    private void externalAuthenticate(byte[] buf, short cOff, short dOff, short dLen) {
        if (ss[S_STATE] != ST_AUTHENTICATING) {
            closeSession();
            ISOException.throwIt(ISO7816.SW_CONDITIONS_NOT_SATISFIED);
        }
        // The handshake is used up, whatever happens next.
        ss[S_STATE] = ST_NONE;
        if (!isSecured(buf[cOff]) || buf[(short) (cOff + 3)] != 0) {
            closeSession();
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        if (dLen != 16) {
            closeSession();
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        byte level = buf[(short) (cOff + 2)];
        if (!levelOffered(level)) {
            closeSession();
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        if (failures != (short) 0x7FFF) {
            failures++;
        }
        // The C-MAC of EXTERNAL AUTHENTICATE starts from a zero chaining value.
        Util.arrayFillNonAtomic(ss, S_CHAIN, (short) 16, (byte) 0);
        kb[K_BLOCK] = (byte) 0x84;
        kb[(short) (K_BLOCK + 1)] = INS_EXTERNAL_AUTHENTICATE;
        kb[(short) (K_BLOCK + 2)] = level;
        kb[(short) (K_BLOCK + 3)] = 0x00;
        kb[(short) (K_BLOCK + 4)] = 0x10;
        aes.cmacInit(sessionMac());
        aes.cmacUpdate(ss, S_CHAIN, (short) 16);
        aes.cmacUpdate(kb, K_BLOCK, (short) 5);
        aes.cmacUpdate(buf, dOff, (short) 8);
        aes.cmacFinal(kb, K_BLOCK, (short) 16);
        boolean cryptogramOk = equalsCT(buf, dOff, ss, S_HOST_CRYPTOGRAM, (short) 8);
        boolean macOk = equalsCT(buf, (short) (dOff + 8), kb, K_BLOCK, (short) 8);
        if (!cryptogramOk) {
            closeSession();
            ISOException.throwIt(SW_AUTH_FAILED);
        }
        if (!macOk) {
            closeSession();
            ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
        }
        failures = 0;
        Util.arrayCopyNonAtomic(kb, K_BLOCK, ss, S_CHAIN, (short) 16);
        Util.arrayFillNonAtomic(ss, S_COUNTER, (short) 8, (byte) 0);
        Util.arrayFillNonAtomic(ss, S_HOST_CRYPTOGRAM, (short) 8, (byte) 0);
        ss[S_LEVEL] = level;
        ss[S_PENDING] = 0;
        ss[S_STATE] = ST_OPEN;
        aes.clear();
    }

    /** A GlobalPlatform level (00, 01, 03, 11, 13, 33) that the card's i offers. */
    private boolean levelOffered(byte level) {
        if (level != 0x00 && level != 0x01 && level != 0x03 && level != 0x11 && level != 0x13
                && level != 0x33) {
            return false;
        }
        if ((level & R_MAC) != 0 && (option & 0x20) == 0) {
            return false;
        }
        return (level & R_ENCRYPTION) == 0 || (option & 0x40) != 0;
    }

    private AESKey sessionMac() {
        return sessionKeys[(short) (ss[S_MAC_LEN] * 3 + 1)];
    }

    // ---- secure messaging ----

    /**
     * Checks the C-MAC of a command (over the chaining value, the header as
     * sent, the Lc counting the MAC, and the data) and decrypts its data in
     * place; returns the plain data length and clears the CLA's secure
     * messaging bit. Any failure closes the session.
     */
    private short unwrapCommand(byte[] buf, short cOff, short dOff, short dLen, boolean ext) {
        byte level = ss[S_LEVEL];
        if ((level & C_MAC) == 0) {
            return dLen;
        }
        byte cla = buf[cOff];
        if (!isSecured(cla) || dLen < 8) {
            closeSession();
            ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
        }
        short body = (short) (dLen - 8);
        short lcLen;
        if (ext || dLen > 255) {
            kb[K_BLOCK] = 0;
            Util.setShort(kb, (short) (K_BLOCK + 1), dLen);
            lcLen = 3;
        } else {
            kb[K_BLOCK] = (byte) dLen;
            lcLen = 1;
        }
        aes.cmacInit(sessionMac());
        aes.cmacUpdate(ss, S_CHAIN, (short) 16);
        aes.cmacUpdate(buf, cOff, (short) 4);
        aes.cmacUpdate(kb, K_BLOCK, lcLen);
        aes.cmacUpdate(buf, dOff, body);
        aes.cmacFinal(kb, K_BLOCK, (short) 16);
        if (!equalsCT(kb, K_BLOCK, buf, (short) (dOff + body), (short) 8)) {
            closeSession();
            ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
        }
        Util.arrayCopyNonAtomic(kb, K_BLOCK, ss, S_CHAIN, (short) 16);
        for (short i = 7; i >= 0; i--) {
            short at = (short) (S_COUNTER + i);
            ss[at]++;
            if (ss[at] != 0) {
                break;
            }
        }
        short plain = body;
        if ((level & C_DECRYPTION) != 0 && body > 0) {
            if ((short) (body % 16) != 0) {
                closeSession();
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            icv(false);
            aes.cbc(sessionKeys[(short) (ss[S_ENC_LEN] * 3)], Cipher.MODE_DECRYPT, kb, K_BLOCK, buf, dOff, body);
            // ISO 9797-1 method 2: trailing zeros, then one 80, within the last block.
            short m = (short) (body - 1);
            while (m >= 0 && buf[(short) (dOff + m)] == 0) {
                m--;
            }
            if (m < 0 || buf[(short) (dOff + m)] != (byte) 0x80 || (short) (body - m) > 16) {
                closeSession();
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            plain = m;
        }
        ss[S_PENDING] = (byte) ((level & R_MAC) != 0 ? 1 : 0);
        buf[cOff] = plainCla(cla);
        aes.clear();
        return plain;
    }

    /**
     * Protects a response in place (R-ENCRYPTION, then the R-MAC over the
     * chaining value, the data and the status word); returns its new length.
     * Errors (anything but 9000, 62xx, 63xx) go out as bare status words.
     */
    private short wrapResponse(byte[] buf, short off, short len, short sw) {
        byte level = ss[S_LEVEL];
        if (ss[S_STATE] != ST_OPEN || (level & R_MAC) == 0) {
            return len;
        }
        if (ss[S_PENDING] == 0) {
            ISOException.throwIt(ISO7816.SW_CONDITIONS_NOT_SATISFIED);
        }
        ss[S_PENDING] = 0;
        byte sw1 = (byte) (sw >> 8);
        if (sw != ISO7816.SW_NO_ERROR && sw1 != 0x62 && sw1 != 0x63) {
            return 0;
        }
        if ((level & R_ENCRYPTION) != 0 && len > 0) {
            short padded = (short) ((short) (len / 16 + 1) * 16);
            buf[(short) (off + len)] = (byte) 0x80;
            Util.arrayFillNonAtomic(buf, (short) (off + len + 1), (short) (padded - len - 1), (byte) 0);
            len = padded;
            icv(true);
            aes.cbc(sessionKeys[(short) (ss[S_ENC_LEN] * 3)], Cipher.MODE_ENCRYPT, kb, K_BLOCK, buf, off, len);
        }
        Util.setShort(kb, K_BLOCK, sw);
        aes.cmacInit(sessionKeys[(short) (ss[S_MAC_LEN] * 3 + 2)]);
        aes.cmacUpdate(ss, S_CHAIN, (short) 16);
        aes.cmacUpdate(buf, off, len);
        aes.cmacUpdate(kb, K_BLOCK, (short) 2);
        aes.cmacFinal(buf, (short) (off + len), (short) 8);
        aes.clear();
        return (short) (len + 8);
    }

    /**
     * The ICV of command (C-DECRYPTION) or response (R-ENCRYPTION, first
     * byte 80) encryption: AES under S-ENC of the 16-byte counter block,
     * into kb[K_BLOCK].
     */
    private void icv(boolean response) {
        Util.arrayFillNonAtomic(kb, K_BLOCK, (short) 8, (byte) 0);
        if (response) {
            kb[K_BLOCK] = (byte) 0x80;
        }
        Util.arrayCopyNonAtomic(ss, S_COUNTER, kb, (short) (K_BLOCK + 8), (short) 8);
        aes.encryptBlock(sessionKeys[(short) (ss[S_ENC_LEN] * 3)], kb, K_BLOCK);
    }

    // ---- PUT KEY and GET DATA ----

    /**
     * PUT KEY (GP 2.3.1 11.8) for the one key set: P1 00 (a new version) or
     * the current version replaces it; P2 the first key identifier (bit 8:
     * several keys). Each key: type 88, length, the real key length, the key
     * padded to whole blocks encrypted under the static Key-DEK (AES-CBC,
     * zero ICV), then its check value. The new keys go to the inactive slot
     * of their role and one transaction switches to them, so tearing leaves
     * either the old set or the new one. Answers the version and the check
     * values.
     */
    private short putKey(byte[] buf, short cOff, short dOff, short dLen) {
        byte replace = (byte) (buf[(short) (cOff + 2)] & 0x7F);
        byte firstId = (byte) (buf[(short) (cOff + 3)] & 0x7F);
        boolean several = (buf[(short) (cOff + 3)] & 0x80) != 0;
        short pos = dOff;
        short end = (short) (dOff + dLen);
        if (pos >= end) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        byte newKvn = buf[pos++];
        short count = 0;
        AESKey dek = pool[ss[S_DEK]];
        while (pos < end) {
            byte type = buf[pos++];
            if (pos >= end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            short fieldLen = (short) (buf[pos++] & 0xFF);
            if ((short) (pos + fieldLen) > end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            if (type != KEY_TYPE_AES) {
                // This applet holds AES keys only (SCP03).
                ISOException.throwIt(SW_ALGORITHM_NOT_SUPPORTED);
            }
            if (fieldLen < 1) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            short keyLen = (short) (buf[pos] & 0xFF);
            short encOff = (short) (pos + 1);
            short encLen = (short) (fieldLen - 1);
            pos = (short) (pos + fieldLen);
            if ((short) (encLen % 16) != 0) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            Util.arrayFillNonAtomic(kb, K_BLOCK, (short) 16, (byte) 0);
            aes.cbc(dek, Cipher.MODE_DECRYPT, kb, K_BLOCK, buf, encOff, encLen);
            byte li = lengthIndex(keyLen);
            if (keyLen > encLen || li < 0) {
                Util.arrayFillNonAtomic(buf, encOff, encLen, (byte) 0);
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            if (pos >= end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            short kcvLen = (short) (buf[pos++] & 0xFF);
            if ((short) (pos + kcvLen) > end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            short role = (short) (firstId - 1 + count);
            if (firstId >= 1 && role <= 2) {
                // Into the inactive slot of the role: nothing uses it.
                byte slot = (byte) (1 - cfg[(short) (CFG_SLOT + role)]);
                AESKey k = pool[poolIndex(slot, li, (byte) role)];
                k.setKey(buf, encOff);
                Util.arrayFillNonAtomic(buf, encOff, encLen, (byte) 0);
                aes.kcv(k, rb, (short) (1 + 3 * count));
                newLength[role] = li;
                if (kcvLen == 3) {
                    if (!equalsCT(rb, (short) (1 + 3 * count), buf, pos, (short) 3)) {
                        ISOException.throwIt(SW_INVALID_KCV);
                    }
                } else if (kcvLen != 0) {
                    ISOException.throwIt(ISO7816.SW_WRONG_DATA);
                }
            } else {
                Util.arrayFillNonAtomic(buf, encOff, encLen, (byte) 0);
                if (kcvLen != 0 && kcvLen != 3) {
                    ISOException.throwIt(ISO7816.SW_WRONG_DATA);
                }
            }
            pos = (short) (pos + kcvLen);
            count++;
        }
        if (count == 0) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        if (!several && count != 1) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        if (firstId == 0 || (short) (firstId - 1 + count) > 3) {
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        if (newKvn < 1) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        byte kvn = cfg[CFG_KVN];
        if (replace == 0) {
            if (count != 3 || firstId != 1) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            if (newKvn == kvn) {
                // That version exists: replace it with P1 = its version.
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
        } else if (replace != kvn) {
            ISOException.throwIt(SW_REFERENCED_DATA_NOT_FOUND);
        }
        JCSystem.beginTransaction();
        for (short i = 0; i < count; i++) {
            short role = (short) (firstId - 1 + i);
            cfg[(short) (CFG_SLOT + role)] = (byte) (1 - cfg[(short) (CFG_SLOT + role)]);
            cfg[(short) (CFG_LEN + role)] = newLength[role];
        }
        cfg[CFG_KVN] = newKvn;
        failures = 0;
        // Util.arrayCopy, not arrayFillNonAtomic: only it joins the transaction.
        Util.arrayFillNonAtomic(kb, K_BLOCK, (short) 4, (byte) 0);
        Util.arrayCopy(kb, K_BLOCK, sequence, (short) 0, (short) 4);
        JCSystem.commitTransaction();
        rb[0] = newKvn;
        return (short) (1 + 3 * count);
    }

    /** GET DATA E0: a C0 entry (id, version, type 88, length) per key. */
    /** GET DATA C1: {@code C1 03} and the 3-byte sequence counter, into rb. */
    private short sequenceCounter() {
        rb[0] = (byte) 0xC1;
        rb[1] = 3;
        Util.arrayCopyNonAtomic(sequence, (short) 1, rb, (short) 2, (short) 3);
        return 5;
    }

    private short keyInformation() {
        short r = 0;
        rb[r++] = (byte) 0xE0;
        rb[r++] = 18;
        for (byte role = 0; role < 3; role++) {
            rb[r++] = (byte) 0xC0;
            rb[r++] = 4;
            rb[r++] = (byte) (role + 1);
            rb[r++] = cfg[CFG_KVN];
            rb[r++] = KEY_TYPE_AES;
            rb[r++] = (byte) keyBytes(cfg[(short) (CFG_LEN + role)]);
        }
        return r;
    }

    // ---- front mode ----

    /**
     * ENVELOPE (80 E0 00 00, extended Lc, a whole host command): answers
     * {@code 00 || response || SW} for a command this applet executes or
     * refuses, {@code 01 || level || plain command} for one the harness must
     * execute and then hand to WRAP.
     */
    private void envelope(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_P1] != 0 || buf[ISO7816.OFFSET_P2] != 0) {
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        short total = receiveAll(apdu, work, (short) 2);
        short c = 2;
        short end = (short) (c + total);
        short body = (short) (total - 4);
        short dOff = (short) (c + 4);
        short dLen = 0;
        boolean ext = false;
        boolean ok = true;
        if (total < 4) {
            ok = false;
        } else if (body == 0 || body == 1) {
            dLen = 0;
        } else if (work[dOff] == 0) {
            ext = true;
            if (body == 3) {
                dLen = 0;
            } else if (body < 3) {
                ok = false;
            } else {
                dLen = Util.getShort(work, (short) (dOff + 1));
                short rest = (short) (body - 3);
                if (dLen <= 0 || (rest != dLen && rest != (short) (dLen + 2))) {
                    ok = false;
                }
                dOff = (short) (dOff + 3);
            }
        } else {
            dLen = (short) (work[dOff] & 0xFF);
            short rest = (short) (body - 1);
            if (rest != dLen && rest != (short) (dLen + 1)) {
                ok = false;
            }
            dOff = (short) (dOff + 1);
        }
        short n;
        if (!ok) {
            work[0] = 0;
            Util.setShort(work, (short) 1, ISO7816.SW_WRONG_LENGTH);
            n = 3;
        } else {
            short r = dispatch(work, c, dOff, dLen, ext, true);
            if (r == FORWARD) {
                short plain = tv[T_PLAIN_LEN];
                work[0] = 1;
                work[1] = ss[S_STATE] == ST_OPEN ? ss[S_LEVEL] : 0;
                work[c] = plainCla(work[c]);
                short at = (short) (c + 4);
                if (plain > 255) {
                    work[at] = 0;
                    Util.setShort(work, (short) (at + 1), plain);
                    at += 3;
                } else if (plain > 0) {
                    work[at++] = (byte) plain;
                }
                if (plain > 0) {
                    Util.arrayCopyNonAtomic(work, dOff, work, at, plain);
                }
                n = (short) (at + plain);
            } else {
                work[0] = 0;
                Util.arrayCopyNonAtomic(rb, (short) 0, work, (short) 1, r);
                Util.setShort(work, (short) (1 + r), tv[T_SW]);
                n = (short) (r + 3);
            }
        }
        if (end > n) {
            Util.arrayFillNonAtomic(work, n, (short) (end - n), (byte) 0);
        }
        send(apdu, n);
    }

    /**
     * WRAP (80 E2 00 00, data = response data || SW of the command the
     * harness executed): answers the protected response || SW.
     */
    private void wrapForHarness(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_P1] != 0 || buf[ISO7816.OFFSET_P2] != 0) {
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        short total = receiveAll(apdu, work, (short) 0);
        if (total < 2 || (short) (total + 24) > WORK_SIZE) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        short len = (short) (total - 2);
        short sw = Util.getShort(work, len);
        short out = wrapResponse(work, (short) 0, len, sw);
        Util.setShort(work, out, sw);
        send(apdu, (short) (out + 2));
    }

    private void send(APDU apdu, short n) {
        apdu.setOutgoing();
        apdu.setOutgoingLength(n);
        apdu.sendBytesLong(work, (short) 0, n);
    }

    // ---- the Shareable service ----

    public short processSecurity(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        if (apdu.getCurrentState() == APDU.STATE_INITIAL) {
            apdu.setIncomingAndReceive();
        }
        short dOff = apdu.getOffsetCdata();
        short dLen = apdu.getIncomingLength();
        byte ins = buf[ISO7816.OFFSET_INS];
        AID caller = caller();
        if (ins == INS_INITIALIZE_UPDATE) {
            short r = initializeUpdate(buf, (short) 0, dOff, dLen);
            ss[S_OWNER_LEN] = caller.getBytes(ss, S_OWNER);
            Util.arrayCopyNonAtomic(rb, (short) 0, buf, ISO7816.OFFSET_CDATA, r);
            return r;
        }
        if (ins == INS_EXTERNAL_AUTHENTICATE) {
            if (!owns(caller)) {
                ISOException.throwIt(ISO7816.SW_CONDITIONS_NOT_SATISFIED);
            }
            externalAuthenticate(buf, (short) 0, dOff, dLen);
            return 0;
        }
        ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        return 0;
    }

    public short unwrap(byte[] buf, short off, short len) {
        short dOff;
        short dLen;
        boolean ext = false;
        if (len == 4) {
            dOff = (short) (off + 4);
            dLen = 0;
        } else if (len >= 7 && buf[(short) (off + 4)] == 0) {
            ext = true;
            dOff = (short) (off + 7);
            dLen = Util.getShort(buf, (short) (off + 5));
        } else if (len >= 5) {
            dOff = (short) (off + 5);
            dLen = (short) (buf[(short) (off + 4)] & 0xFF);
        } else {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
            return 0;
        }
        if ((short) (dOff + dLen) != (short) (off + len)) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        boolean mine = owns(caller());
        if (mine && ss[S_STATE] == ST_AUTHENTICATING) {
            closeSession();
        }
        if (!mine || ss[S_STATE] != ST_OPEN) {
            if (isSecured(buf[off])) {
                ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
            }
            return len;
        }
        short plain = unwrapCommand(buf, off, dOff, dLen, ext);
        if (len == 4) {
            return 4;
        }
        if (ext) {
            Util.setShort(buf, (short) (off + 5), plain);
            return (short) (7 + plain);
        }
        buf[(short) (off + 4)] = (byte) plain;
        return (short) (5 + plain);
    }

    public short wrap(byte[] buf, short off, short len, short sw) {
        if (!owns(caller())) {
            return len;
        }
        return wrapResponse(buf, off, len, sw);
    }

    public byte getSecurityLevel() {
        if (ss[S_STATE] != ST_OPEN || !owns(caller())) {
            return 0;
        }
        return (byte) (AUTHENTICATED | ss[S_LEVEL]);
    }

    public void resetSecurity() {
        closeSession();
    }

    /**
     * The applet calling the service: the previous context on a card with a
     * firewall; where there is none (jCardSim), the selected applet.
     */
    private static AID caller() {
        AID c = JCSystem.getPreviousContextAID();
        if (c == null) {
            c = JCSystem.getAID();
        }
        return c;
    }

    private boolean owns(AID caller) {
        return ss[S_STATE] != ST_NONE && caller != null
                && caller.equals(ss, S_OWNER, ss[S_OWNER_LEN]);
    }

    private boolean ownerIsSelf() {
        return ss[S_OWNER_LEN] == ownAidLength
                && Util.arrayCompare(ss, S_OWNER, ownAid, (short) 0, ownAidLength) == 0;
    }

    private void setOwnerSelf() {
        Util.arrayCopyNonAtomic(ownAid, (short) 0, ss, S_OWNER, ownAidLength);
        ss[S_OWNER_LEN] = ownAidLength;
    }

    // ---- helpers ----

    /** Ends the session and wipes its keys and chaining value. */
    private void closeSession() {
        // Unconditionally: EXTERNAL AUTHENTICATE marks the handshake used
        // before it fails, and its keys must go too.
        sessionKeys[(short) (ss[S_ENC_LEN] * 3)].clearKey();
        sessionKeys[(short) (ss[S_MAC_LEN] * 3 + 1)].clearKey();
        sessionKeys[(short) (ss[S_MAC_LEN] * 3 + 2)].clearKey();
        Util.arrayFillNonAtomic(ss, (short) 0, SS_SIZE, (byte) 0);
    }

    /** Equality that takes the same time wherever the first difference is. */
    private static boolean equalsCT(byte[] a, short aOff, byte[] b, short bOff, short n) {
        byte d = 0;
        for (short i = 0; i < n; i++) {
            d |= (byte) (a[(short) (aOff + i)] ^ b[(short) (bOff + i)]);
        }
        return d == 0;
    }

    /** b3 (first interindustry coding) or b6 (further coding) announces secure messaging. */
    private static boolean isSecured(byte cla) {
        return (cla & 0x40) == 0 ? (cla & 0x04) != 0 : (cla & 0x20) != 0;
    }

    private static byte plainCla(byte cla) {
        return (byte) ((cla & 0x40) == 0 ? cla & ~0x04 : cla & ~0x20);
    }

    /** The CLA without channel and secure messaging bits: 00 ISO, 80 GlobalPlatform. */
    private static byte classOf(byte cla) {
        return (byte) ((cla & 0x40) == 0 ? cla & ~0x07 : cla & ~0x2F);
    }

    private static byte logicalChannel(byte cla) {
        return (byte) ((cla & 0x40) == 0 ? cla & 0x03 : 4 + (cla & 0x0F));
    }
}
