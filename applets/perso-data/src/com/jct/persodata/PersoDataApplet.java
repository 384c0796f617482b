package com.jct.persodata;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import org.globalplatform.Application;

/**
 * Personalization data received from the security domain.
 *
 * <p>The security domain forwards each STORE DATA block (after an INSTALL
 * [for personalization] naming this instance) to {@link #processData}: the
 * whole command, header and data, in the APDU buffer. The data field is a
 * sequence of records, one-byte tag (01 to FE), one-byte length (0 to
 * {@link #MAX_VALUE}), value; a record replaces an earlier one with the same
 * tag. A block is stored whole or not at all (a transaction), so a refused
 * or torn block leaves the records as they were. {@code 80 CA 00 tag 00}
 * reads a record back; an absent one is 6A88. A malformed record is 6A80,
 * more records than {@link #MAX_RECORDS} 6A84.
 *
 * <p>All storage is allocated at install time.
 */
public final class PersoDataApplet extends Applet implements Application {
    /** The number of records the applet keeps. */
    static final short MAX_RECORDS = 16;
    /** The longest value of a record. */
    static final short MAX_VALUE = 64;

    private static final byte INS_GET_DATA = (byte) 0xCA;
    private static final byte CLA_PROPRIETARY = (byte) 0x80;
    private static final short OFFSET_LC = 4;
    private static final short HEADER = 5;
    /** ISO/IEC 7816-4 "referenced data not found". */
    private static final short SW_REFERENCED_DATA_NOT_FOUND = (short) 0x6A88;

    /** The tag of each slot, 0 when the slot is free. */
    private final byte[] tags;
    /** The length of each slot's value. */
    private final byte[] lengths;
    /** The values, MAX_VALUE bytes per slot. */
    private final byte[] values;

    private PersoDataApplet() {
        tags = new byte[MAX_RECORDS];
        lengths = new byte[MAX_RECORDS];
        values = new byte[(short) (MAX_RECORDS * MAX_VALUE)];
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new PersoDataApplet();
    }

    /**
     * One STORE DATA block: {@code baBuffer[sOffset]} is the command's CLA,
     * its data field follows the five-byte header.
     */
    public void processData(byte[] baBuffer, short sOffset, short sLength) {
        if (sLength < HEADER) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        short lc = (short) (baBuffer[(short) (sOffset + OFFSET_LC)] & 0xFF);
        if ((short) (HEADER + lc) != sLength) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        short pos = (short) (sOffset + HEADER);
        short end = (short) (pos + lc);
        // Everything is checked before anything is written.
        short free = freeSlots();
        for (short p = pos; p < end; ) {
            short next = recordEnd(baBuffer, p, end);
            if (find(baBuffer[p]) < 0) {
                free--;
            }
            p = next;
        }
        if (free < 0) {
            ISOException.throwIt(ISO7816.SW_FILE_FULL);
        }
        JCSystem.beginTransaction();
        for (short p = pos; p < end; ) {
            short next = recordEnd(baBuffer, p, end);
            put(baBuffer[p], baBuffer, (short) (p + 2), (short) (baBuffer[(short) (p + 1)] & 0xFF));
            p = next;
        }
        JCSystem.commitTransaction();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_CLA] != CLA_PROPRIETARY) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        if (buf[ISO7816.OFFSET_INS] != INS_GET_DATA) {
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        byte tag = buf[ISO7816.OFFSET_P2];
        if (buf[ISO7816.OFFSET_P1] != 0 || tag == 0 || tag == (byte) 0xFF) {
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        short slot = find(tag);
        if (slot < 0) {
            ISOException.throwIt(SW_REFERENCED_DATA_NOT_FOUND);
        }
        short len = (short) (lengths[slot] & 0xFF);
        Util.arrayCopyNonAtomic(values, (short) (slot * MAX_VALUE), buf, (short) 0, len);
        apdu.setOutgoingAndSend((short) 0, len);
    }

    /** The end of the record at p, after checking its tag and length. */
    private static short recordEnd(byte[] buf, short p, short end) {
        if ((short) (p + 2) > end) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        byte tag = buf[p];
        short len = (short) (buf[(short) (p + 1)] & 0xFF);
        if (tag == 0 || tag == (byte) 0xFF || len > MAX_VALUE || (short) (p + 2 + len) > end) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        return (short) (p + 2 + len);
    }

    private void put(byte tag, byte[] src, short off, short len) {
        short slot = find(tag);
        if (slot < 0) {
            slot = find((byte) 0);
        }
        tags[slot] = tag;
        lengths[slot] = (byte) len;
        Util.arrayCopy(src, off, values, (short) (slot * MAX_VALUE), len);
    }

    private short find(byte tag) {
        for (short i = 0; i < MAX_RECORDS; i++) {
            if (tags[i] == tag) {
                return i;
            }
        }
        return -1;
    }

    private short freeSlots() {
        short n = 0;
        for (short i = 0; i < MAX_RECORDS; i++) {
            if (tags[i] == 0) {
                n++;
            }
        }
        return n;
    }
}
