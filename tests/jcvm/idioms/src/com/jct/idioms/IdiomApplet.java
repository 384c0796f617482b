package com.jct.idioms;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;

/**
 * Two APDU idioms of real applets that cards and jCardSim honour
 * (tests/differential_jcardsim.rs):
 *
 * INS 10: reads the command data at OFFSET_CDATA without
 *         setIncomingAndReceive (under T=1 it is there), answers its XOR and Lc.
 * INS 20: sends three bytes, then throws ISOException 6310: the data goes
 *         out with the warning.
 * INS 22: sends two bytes with setOutgoing/setOutgoingLength/sendBytes, then
 *         throws 6102 (more data to come, the GET RESPONSE idiom).
 */
public class IdiomApplet extends Applet {
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new IdiomApplet().register();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x10: {
                short lc = (short) (buf[ISO7816.OFFSET_LC] & 0xFF);
                byte x = 0;
                for (short i = 0; i < lc; i++) {
                    x ^= buf[(short) (ISO7816.OFFSET_CDATA + i)];
                }
                buf[0] = x;
                buf[1] = (byte) lc;
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            }
            case 0x20:
                buf[0] = 1;
                buf[1] = 2;
                buf[2] = 3;
                apdu.setOutgoingAndSend((short) 0, (short) 3);
                ISOException.throwIt((short) 0x6310);
                return;
            case 0x22:
                apdu.setOutgoing();
                apdu.setOutgoingLength((short) 2);
                buf[0] = (byte) 0xAA;
                buf[1] = (byte) 0xBB;
                apdu.sendBytes((short) 0, (short) 2);
                ISOException.throwIt((short) 0x6102);
                return;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
