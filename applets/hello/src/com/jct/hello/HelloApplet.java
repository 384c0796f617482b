package com.jct.hello;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;

/**
 * The smallest useful applet: SELECT succeeds with no data, and
 * {@code 80 01 00 00 00} answers the five bytes "Hello" with 9000.
 */
public class HelloApplet extends Applet {
    /** Class byte of the applet's own commands. */
    private static final byte CLA_PROPRIETARY = (byte) 0x80;
    /** Instruction that returns the greeting. */
    private static final byte INS_HELLO = (byte) 0x01;

    private static final byte[] GREETING = {'H', 'e', 'l', 'l', 'o'};

    private HelloApplet() {
        // Nothing to allocate.
    }

    /** Called by the card manager at INSTALL [for install]. */
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        // The install parameters start with the instance AID (length-prefixed).
        new HelloApplet().register(bArray, (short) (bOffset + 1), bArray[bOffset]);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_CLA] != CLA_PROPRIETARY) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        if (buf[ISO7816.OFFSET_INS] != INS_HELLO) {
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        short len = (short) GREETING.length;
        Util.arrayCopyNonAtomic(GREETING, (short) 0, buf, (short) 0, len);
        apdu.setOutgoingAndSend((short) 0, len);
    }
}
