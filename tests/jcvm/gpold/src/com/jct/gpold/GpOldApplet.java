package com.jct.gpold;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import org.globalplatform.GPSystem;
import org.globalplatform.SecureChannel;
import org.globalplatform.securechannel.SecureChannelProtocol;

/**
 * Uses only what org.globalplatform 1.0 has, plus a class reference into
 * org.globalplatform.securechannel, so that it converts against the oldest
 * GlobalPlatform API and still links on newer cards (tests/gp_api.rs).
 *
 * INS 20: the card life cycle state (GPSystem.getCardState).
 * INS 22: the security level of the applet's SecureChannel, and whether that
 *         object is a SecureChannelProtocol (1) or not (0).
 */
public class GpOldApplet extends Applet {
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new GpOldApplet().register();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x20:
                buf[0] = GPSystem.getCardState();
                apdu.setOutgoingAndSend((short) 0, (short) 1);
                return;
            case 0x22: {
                SecureChannel sc = GPSystem.getSecureChannel();
                buf[0] = sc.getSecurityLevel();
                buf[1] = (byte) (sc instanceof SecureChannelProtocol ? 1 : 0);
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            }
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
