package com.jct.fwserver;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.AppletEvent;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;

/**
 * A second applet of the server's package: the two share a context, so it
 * uses the server applet's objects freely (INS 30: the shared Secret's
 * value, then the shared array's first byte, after writing both). Its
 * uninstall() counts in a static of the package, and loops for ever once
 * INS 31 with P1 = 1 has set the package's spin flag (P1 = 0 clears it).
 */
public class PeerApplet extends Applet implements AppletEvent {
    private PeerApplet() {
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new PeerApplet().register(bArray, (short) (bOffset + 1), bArray[bOffset]);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_INS] == 0x31) {
            ServerApplet.spin = buf[ISO7816.OFFSET_P1] != 0;
            return;
        }
        if (buf[ISO7816.OFFSET_INS] != 0x30) {
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Secret s = ServerApplet.shared;
        s.value = (short) (s.get() + 1);
        ServerApplet.sharedArray[0]++;
        Util.setShort(buf, (short) 0, s.value);
        buf[2] = ServerApplet.sharedArray[0];
        buf[3] = (byte) ServerApplet.sharedArray.length;
        apdu.setOutgoingAndSend((short) 0, (short) 4);
    }

    public void uninstall() {
        ServerApplet.peerUninstalls++;
        while (ServerApplet.spin) {
            ServerApplet.peerUninstalls++;
        }
    }
}
