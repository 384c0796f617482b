package com.jct.channels;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacardx.apdu.ExtendedLength;

/**
 * An extended length echo (F000000001D403): INS 50 receives the command
 * data in chunks (setIncomingAndReceive, receiveBytes) into a transient
 * array and sends it back with sendBytesLong; INS 51 reports the APDU
 * states and offsets of an extended command (see tests/channels.rs).
 */
public class Echo extends Applet implements ExtendedLength {
    private static final short MAX = 1100;
    private final byte[] data;

    private Echo() {
        data = JCSystem.makeTransientByteArray(MAX, JCSystem.CLEAR_ON_DESELECT);
    }

    public static void install(byte[] b, short o, byte l) {
        new Echo().register(b, (short) (o + 1), b[o]);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        byte ins = buf[ISO7816.OFFSET_INS];
        if (ins != 0x50 && ins != 0x51) {
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        byte s0 = apdu.getCurrentState();
        short total = apdu.getIncomingLength();
        if (total > MAX) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        short off = apdu.getOffsetCdata();
        short len = apdu.setIncomingAndReceive();
        byte s1 = apdu.getCurrentState();
        short got = 0;
        short chunks = 0;
        while (len > 0) {
            Util.arrayCopyNonAtomic(buf, off, data, got, len);
            got += len;
            chunks++;
            len = apdu.receiveBytes(off);
        }
        byte s2 = apdu.getCurrentState();
        short le = apdu.setOutgoing();
        if (ins == 0x50) {
            apdu.setOutgoingLength(got);
            apdu.sendBytesLong(data, (short) 0, got);
            return;
        }
        buf[0] = s0;
        buf[1] = s1;
        buf[2] = s2;
        Util.setShort(buf, (short) 3, off);
        Util.setShort(buf, (short) 5, total);
        Util.setShort(buf, (short) 7, chunks);
        Util.setShort(buf, (short) 9, le);
        apdu.setOutgoingLength((short) 11);
        apdu.sendBytes((short) 0, (short) 11);
    }
}
