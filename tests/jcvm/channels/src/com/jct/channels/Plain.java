package com.jct.channels;

import javacard.framework.APDU;
import javacard.framework.APDUException;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;

/**
 * An applet that is not multiselectable (F000000001D402), in the same
 * package as Multi: the JCRE refuses to select it while its package is
 * active on another logical channel (see tests/channels.rs). The API asks
 * that a package's applets be all multiselectable or none; this package
 * mixes them on purpose, to test that the JCRE checks both the applet
 * being selected and those of its package active elsewhere. A re-SELECT
 * sets bit 0x40 of its CLEAR_ON_DESELECT byte (INS 10 shows it).
 */
public class Plain extends Applet {
    private final byte[] cod;

    private Plain() {
        cod = JCSystem.makeTransientByteArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
    }

    public static void install(byte[] b, short o, byte l) {
        new Plain().register(b, (short) (o + 1), b[o]);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            // A SELECT of this applet while it is selected on the channel:
            // it was deselected (its CLEAR_ON_DESELECT byte cleared) and is
            // told it is re-selected.
            if (reSelectingApplet()) {
                cod[0] |= 0x40;
            }
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x10:
                buf[0] = JCSystem.getAssignedChannel();
                buf[1] = APDU.getCLAChannel();
                buf[2] = cod[0];
                apdu.setOutgoingAndSend((short) 0, (short) 3);
                return;
            case 0x11:
                cod[0] = buf[ISO7816.OFFSET_P1];
                return;
            case 0x12:
                // More than 256 bytes without ExtendedLength: BAD_LENGTH.
                try {
                    apdu.setOutgoing();
                    apdu.setOutgoingLength((short) 300);
                } catch (APDUException e) {
                    ISOException.throwIt((short) (0x6400 | e.getReason()));
                }
                ISOException.throwIt((short) 0x6400);
                return;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
