package com.jct.tearing;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * Persistent data with invariants a power cut must not break, for the
 * emulator's tearing tests. {@code a} and {@code b} only ever change
 * together inside a transaction, so they are always equal; {@code seq}
 * changes by single writes; {@code block} is rewritten whole by
 * Util.arrayCopy (atomic) with the low byte of {@code seq} after each
 * increment, so all its bytes are always equal and one of seq's last two
 * values. Every command answers a, b, seq and block.
 */
public class TearingApplet extends Applet {
    private static final byte INS_TRANSACTION = 0x10;
    private static final byte INS_ABORTED = 0x12;
    private static final byte INS_SINGLE_WRITES = 0x14;
    private static final byte INS_READ = 0x16;
    private static final short BLOCK = 32;

    private short a;
    private short b;
    private short seq;
    private final byte[] block;
    private final byte[] scratch;

    private TearingApplet() {
        block = new byte[BLOCK];
        scratch = JCSystem.makeTransientByteArray(BLOCK, JCSystem.CLEAR_ON_RESET);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new TearingApplet();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case INS_TRANSACTION:
                JCSystem.beginTransaction();
                a++;
                // Work between the two writes, so a cut can fall there.
                for (short i = 0; i < BLOCK; i++) {
                    scratch[i] = (byte) (scratch[i] + i);
                }
                b++;
                JCSystem.commitTransaction();
                break;
            case INS_ABORTED:
                JCSystem.beginTransaction();
                a++;
                b++;
                JCSystem.abortTransaction();
                break;
            case INS_SINGLE_WRITES:
                seq++;
                Util.arrayFillNonAtomic(scratch, (short) 0, BLOCK, (byte) seq);
                Util.arrayCopy(scratch, (short) 0, block, (short) 0, BLOCK);
                break;
            case INS_READ:
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Util.setShort(buf, (short) 0, a);
        Util.setShort(buf, (short) 2, b);
        Util.setShort(buf, (short) 4, seq);
        Util.arrayCopyNonAtomic(block, (short) 0, buf, (short) 6, BLOCK);
        apdu.setOutgoingAndSend((short) 0, (short) (6 + BLOCK));
    }
}
