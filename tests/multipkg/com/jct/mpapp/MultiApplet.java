package com.jct.mpapp;

import com.jct.mplib.Counter;
import com.jct.mplib.MathLib;
import com.jct.mplib.Shape;
import javacard.framework.*;

/**
 * An applet whose every command reaches into com.jct.mplib, a package of
 * the same extended CAP file: INS 10 a static method, 20 a virtual method
 * of an object of the other package, 30 an override of its class, 40 its
 * static field.
 */
public class MultiApplet extends Applet {
    private final Counter counter = new Counter((short) 100);
    private final Shape square = new Square();

    public static void install(byte[] b, short o, byte l) {
        new MultiApplet().register();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        apdu.setIncomingAndReceive();
        short x = Util.getShort(buf, ISO7816.OFFSET_CDATA);
        short r;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x10:
                r = MathLib.triple(x);
                break;
            case 0x20:
                r = counter.bump(x);
                break;
            case 0x30:
                r = square.area(x);
                break;
            case 0x40:
                r = MathLib.calls;
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
                return;
        }
        Util.setShort(buf, (short) 0, r);
        apdu.setOutgoingAndSend((short) 0, (short) 2);
    }
}
