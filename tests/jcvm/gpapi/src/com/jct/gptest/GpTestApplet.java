package com.jct.gptest;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import org.globalplatform.CVM;
import org.globalplatform.GPRegistryEntry;
import org.globalplatform.GPSystem;
import org.globalplatform.SecureChannel;

/**
 * Drives org.globalplatform for tests/gp_api.rs: GPSystem's card and
 * application life cycle, lockCard/terminateCard, the global PIN (CVM),
 * and a secure channel with the security domain's keys through
 * SecureChannel (processSecurity, unwrap, wrap, decryptData, encryptData).
 *
 * Commands (CLA 80, or 84 when secured):
 *   50/82 INITIALIZE UPDATE / EXTERNAL AUTHENTICATE: handed to processSecurity
 *   10 echo: unwrap, answer the data and the security level, wrapped
 *   20 states: card life cycle, application life cycle
 *   22 setCardContentState(P1): result, new application state
 *   24 lockCard, 26 terminateCard: result
 *   30 CVM update(data, format P1), 32 verify(data, format P1): result, then the CVM status
 *   34 CVM status: active, submitted, verified, blocked, tries remaining
 *   36 resetState, 38 resetAndUnblockState, 3A setTryLimit(P1), 3C blockState
 *   40 getSecurityLevel, 46 resetSecurity
 *   42 decryptData / 44 encryptData of the unwrapped data, answered wrapped
 *   48 getCVM of an unknown CVM identifier: 01 when null
 *   4A own GPRegistryEntry: state, CVM Management?, privileges (3), getPrivileges'
 *      end offset, getAID equals the applet's, associated with the ISD?
 *   4C getRegistryEntry of the applet whose AID is the data: 01 when null
 *   4E own GPRegistryEntry.setState(P1): result, new state
 */
public class GpTestApplet extends Applet {

    private static final byte[] ISD = {
        (byte) 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00
    };

    /** The ISD's AID, made at install: no allocation while processing. */
    private final AID isd = new AID(ISD, (short) 0, (byte) ISD.length);

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new GpTestApplet().register(bArray, (short) (bOffset + 1), bArray[bOffset]);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        SecureChannel sc = GPSystem.getSecureChannel();
        CVM cvm = GPSystem.getCVM(GPSystem.CVM_GLOBAL_PIN);
        switch (buf[ISO7816.OFFSET_INS]) {
            case (byte) 0x50:
            case (byte) 0x82: {
                short len = sc.processSecurity(apdu);
                if (len > 0) {
                    apdu.setOutgoingAndSend(ISO7816.OFFSET_CDATA, len);
                }
                return;
            }
            case 0x10: {
                short data = unwrapped(apdu, sc);
                buf[(short) (ISO7816.OFFSET_CDATA + data)] = sc.getSecurityLevel();
                sendWrapped(apdu, sc, ISO7816.OFFSET_CDATA, (short) (data + 1));
                return;
            }
            case 0x20:
                buf[0] = GPSystem.getCardState();
                buf[1] = GPSystem.getCardContentState();
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            case 0x22:
                buf[0] = bool(GPSystem.setCardContentState(buf[ISO7816.OFFSET_P1]));
                buf[1] = GPSystem.getCardContentState();
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            case 0x24:
                answer(apdu, bool(GPSystem.lockCard()));
                return;
            case 0x26:
                answer(apdu, bool(GPSystem.terminateCard()));
                return;
            case 0x30: {
                short len = apdu.setIncomingAndReceive();
                boolean ok = cvm.update(buf, ISO7816.OFFSET_CDATA, (byte) len, buf[ISO7816.OFFSET_P1]);
                status(apdu, cvm, bool(ok));
                return;
            }
            case 0x32: {
                short len = apdu.setIncomingAndReceive();
                short r = cvm.verify(buf, ISO7816.OFFSET_CDATA, (byte) len, buf[ISO7816.OFFSET_P1]);
                status(apdu, cvm, (byte) r);
                return;
            }
            case 0x34:
                status(apdu, cvm, (byte) 0);
                return;
            case 0x36:
                status(apdu, cvm, bool(cvm.resetState()));
                return;
            case 0x38:
                status(apdu, cvm, bool(cvm.resetAndUnblockState()));
                return;
            case 0x3A:
                status(apdu, cvm, bool(cvm.setTryLimit(buf[ISO7816.OFFSET_P1])));
                return;
            case 0x3C:
                status(apdu, cvm, bool(cvm.blockState()));
                return;
            case 0x40:
                answer(apdu, sc.getSecurityLevel());
                return;
            case 0x42:
            case 0x44: {
                short data = unwrapped(apdu, sc);
                short len = buf[ISO7816.OFFSET_INS] == 0x42
                        ? sc.decryptData(buf, ISO7816.OFFSET_CDATA, data)
                        : sc.encryptData(buf, ISO7816.OFFSET_CDATA, data);
                sendWrapped(apdu, sc, ISO7816.OFFSET_CDATA, len);
                return;
            }
            case 0x46:
                sc.resetSecurity();
                answer(apdu, sc.getSecurityLevel());
                return;
            case 0x48:
                answer(apdu, bool(GPSystem.getCVM((byte) 0x01) == null));
                return;
            case 0x4A: {
                GPRegistryEntry entry = GPSystem.getRegistryEntry(null);
                buf[0] = entry.getState();
                buf[1] = bool(entry.isPrivileged(GPRegistryEntry.PRIVILEGE_CVM_MANAGEMENT));
                buf[5] = (byte) entry.getPrivileges(buf, (short) 2);
                buf[6] = bool(entry.getAID().equals(JCSystem.getAID()));
                buf[7] = bool(entry.isAssociated(isd));
                apdu.setOutgoingAndSend((short) 0, (short) 8);
                return;
            }
            case 0x4C: {
                short len = apdu.setIncomingAndReceive();
                AID other = JCSystem.lookupAID(buf, ISO7816.OFFSET_CDATA, (byte) len);
                answer(apdu, bool(GPSystem.getRegistryEntry(other) == null));
                return;
            }
            case 0x4E: {
                GPRegistryEntry entry = GPSystem.getRegistryEntry(JCSystem.getAID());
                buf[0] = bool(entry.setState(buf[ISO7816.OFFSET_P1]));
                buf[1] = entry.getState();
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            }
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }

    /** Receives the command data, unwraps the command; the length of its plain data. */
    private static short unwrapped(APDU apdu, SecureChannel sc) {
        short len = apdu.setIncomingAndReceive();
        short all = sc.unwrap(apdu.getBuffer(), (short) 0, (short) (ISO7816.OFFSET_CDATA + len));
        return (short) (all - ISO7816.OFFSET_CDATA);
    }

    /** Appends 9000, wraps and sends buf[off..off+len]. */
    private static void sendWrapped(APDU apdu, SecureChannel sc, short off, short len) {
        byte[] buf = apdu.getBuffer();
        Util.setShort(buf, (short) (off + len), ISO7816.SW_NO_ERROR);
        short wrapped = sc.wrap(buf, off, (short) (len + 2));
        apdu.setOutgoingAndSend(off, wrapped);
    }

    private static byte bool(boolean b) {
        return b ? (byte) 1 : (byte) 0;
    }

    private static void answer(APDU apdu, byte b) {
        apdu.getBuffer()[0] = b;
        apdu.setOutgoingAndSend((short) 0, (short) 1);
    }

    /** result, active, submitted, verified, blocked, tries remaining. */
    private static void status(APDU apdu, CVM cvm, byte result) {
        byte[] buf = apdu.getBuffer();
        buf[0] = result;
        buf[1] = bool(cvm.isActive());
        buf[2] = bool(cvm.isSubmitted());
        buf[3] = bool(cvm.isVerified());
        buf[4] = bool(cvm.isBlocked());
        buf[5] = cvm.getTriesRemaining();
        apdu.setOutgoingAndSend((short) 0, (short) 6);
    }
}
