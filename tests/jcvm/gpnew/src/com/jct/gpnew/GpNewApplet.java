package com.jct.gpnew;

import javacard.framework.APDU;
import javacard.framework.Applet;
import org.globalplatform.GPSystem;

/**
 * Calls GPSystem.getCardInfo, which org.globalplatform has from 1.7 on
 * (tests/gp_api.rs: converting it against 1.6 names the version it needs).
 */
public class GpNewApplet extends Applet {
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new GpNewApplet().register();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        short n = GPSystem.getCardInfo(buf, (short) 0, (short) 64);
        apdu.setOutgoingAndSend((short) 0, n);
    }
}
