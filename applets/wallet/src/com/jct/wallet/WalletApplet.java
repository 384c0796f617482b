package com.jct.wallet;

import com.jct.securechannel.SecureChannelService;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.OwnerPIN;
import javacard.framework.Shareable;
import javacard.framework.Util;

/**
 * A small wallet that leaves all its secure messaging to the secure-channel
 * applet's {@link SecureChannelService}: the host opens SCP03 with the
 * wallet selected (INITIALIZE UPDATE and EXTERNAL AUTHENTICATE go to the
 * service), every later command is unwrapped by the service and every
 * answer wrapped by it. Changing the balance needs an authenticated session
 * with at least C-MAC, so nobody on the line can alter or replay a credit;
 * reading it does not.
 *
 * <pre>
 * 80 50 KVN 00 08 challenge   INITIALIZE UPDATE     (service)
 * 84 82 level 00 10 ...       EXTERNAL AUTHENTICATE (service)
 * 80 10 00 00                 GET BALANCE -> balance (2 bytes) 9000
 * 80 12 00 00 02 hi lo        CREDIT      -> new balance 9000 | 6A84 overflow
 * 80 14 00 00 02 hi lo        DEBIT       -> new balance 9000 | 6985 not enough
 * 00 20 00 80 Lc PIN          VERIFY      -> 9000 | 63Cx tries left | 6983 blocked
 * </pre>
 * (CLA 84 / 04 with secure messaging.) CREDIT and DEBIT outside a C-MAC
 * session answer 6982; with a PIN installed, DEBIT also needs VERIFY first.
 */
public class WalletApplet extends Applet {
    private static final byte CLA_PROPRIETARY = (byte) 0x80;
    private static final byte INS_INITIALIZE_UPDATE = (byte) 0x50;
    private static final byte INS_EXTERNAL_AUTHENTICATE = (byte) 0x82;
    private static final byte INS_GET_BALANCE = (byte) 0x10;
    private static final byte INS_CREDIT = (byte) 0x12;
    private static final byte INS_DEBIT = (byte) 0x14;
    private static final byte INS_VERIFY = (byte) 0x20;

    public static final short MAX_BALANCE = (short) 0x7FFF;
    public static final short SW_BALANCE_OVERFLOW = (short) 0x6A84;
    public static final short SW_BALANCE_TOO_LOW = (short) 0x6985;
    private static final byte PIN_TRIES = 3;
    private static final byte PIN_MAX = 8;

    private short balance;
    /** Null when the wallet was installed without a PIN. */
    private final OwnerPIN pin;
    /** The service's AID: from the install parameters, else the defaults below. */
    private final byte[] serviceAid;
    private final byte serviceAidLength;
    /** The secure-channel applet on a real card, then the ISD the harness fronts with it. */
    private final byte[] fallbackAid;
    /** [0] the service, looked up at selection (CLEAR_ON_DESELECT). */
    private final Object[] service;

    /**
     * Install parameters (the C9 value), TLVs: 01 L the service's AID
     * (default F000000001A301, then A000000151000000); 02 L a PIN of 1 to 8
     * bytes (default: none).
     */
    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new WalletApplet(bArray, bOffset, bLength);
    }

    private WalletApplet(byte[] b, short off, byte len) {
        serviceAid = new byte[16];
        fallbackAid = new byte[] {(byte) 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};
        service = JCSystem.makeTransientObjectArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
        byte aidLen = 0;
        short aidOff = 0;
        short p = 0;
        short end = 0;
        if (len > 0) {
            aidLen = b[off];
            aidOff = (short) (off + 1);
            p = (short) (aidOff + aidLen);
            p = (short) (p + 1 + (b[p] & 0xFF));
            end = (short) (p + 1 + (b[p] & 0xFF));
            p++;
        }
        byte sLen = 0;
        OwnerPIN owner = null;
        while (p < end) {
            if ((short) (p + 2) > end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            byte tag = b[p];
            byte l = b[(short) (p + 1)];
            short v = (short) (p + 2);
            if (l < 0 || (short) (v + l) > end) {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            if (tag == 0x01 && l >= 5 && l <= 16) {
                Util.arrayCopy(b, v, serviceAid, (short) 0, l);
                sLen = l;
            } else if (tag == 0x02 && l >= 1 && l <= PIN_MAX) {
                owner = new OwnerPIN(PIN_TRIES, PIN_MAX);
                owner.update(b, v, l);
            } else {
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            }
            p = (short) (v + l);
        }
        if (sLen == 0) {
            serviceAid[0] = (byte) 0xF0;
            serviceAid[4] = 0x01;
            serviceAid[5] = (byte) 0xA3;
            serviceAid[6] = 0x01;
            sLen = 7;
        }
        serviceAidLength = sLen;
        pin = owner;
        if (len > 0) {
            register(b, aidOff, aidLen);
        } else {
            register();
        }
    }

    public boolean select() {
        SecureChannelService s = lookup();
        if (s == null) {
            return false;
        }
        service[0] = s;
        // The service's session memory is CLEAR_ON_RESET: whatever session
        // was open before this selection is over.
        s.resetSecurity();
        if (pin != null) {
            pin.reset();
        }
        return true;
    }

    public void deselect() {
        SecureChannelService s = (SecureChannelService) service[0];
        if (s != null) {
            s.resetSecurity();
        }
        if (pin != null) {
            pin.reset();
        }
    }

    private SecureChannelService lookup() {
        AID aid = JCSystem.lookupAID(serviceAid, (short) 0, serviceAidLength);
        if (aid == null) {
            aid = JCSystem.lookupAID(fallbackAid, (short) 0, (byte) fallbackAid.length);
        }
        if (aid == null) {
            return null;
        }
        Shareable s = JCSystem.getAppletShareableInterfaceObject(aid, (byte) 0);
        if (!(s instanceof SecureChannelService)) {
            return null;
        }
        return (SecureChannelService) s;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        SecureChannelService sc = (SecureChannelService) service[0];
        byte[] buf = apdu.getBuffer();
        byte ins = buf[ISO7816.OFFSET_INS];
        if (ins == INS_INITIALIZE_UPDATE || ins == INS_EXTERNAL_AUTHENTICATE) {
            short r = sc.processSecurity(apdu);
            if (r > 0) {
                apdu.setOutgoingAndSend(ISO7816.OFFSET_CDATA, r);
            }
            return;
        }
        short lc = apdu.setIncomingAndReceive();
        // A command without data is its header alone: P3 is then Le, not Lc.
        short len = lc == 0 ? (short) 4 : (short) (ISO7816.OFFSET_CDATA + lc);
        len = sc.unwrap(buf, (short) 0, len);
        lc = len > 4 ? (short) (len - ISO7816.OFFSET_CDATA) : 0;
        byte cla = buf[ISO7816.OFFSET_CLA];
        if (ins == INS_VERIFY && cla == 0x00) {
            verify(sc, apdu, lc);
            return;
        }
        if (cla != CLA_PROPRIETARY) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        switch (ins) {
            case INS_GET_BALANCE:
                break;
            case INS_CREDIT:
                requireMac(sc);
                credit(amount(buf, lc));
                break;
            case INS_DEBIT:
                requireMac(sc);
                if (pin != null && !pin.isValidated()) {
                    ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
                }
                debit(amount(buf, lc));
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Util.setShort(buf, (short) 0, balance);
        short out = sc.wrap(buf, (short) 0, (short) 2, ISO7816.SW_NO_ERROR);
        apdu.setOutgoingAndSend((short) 0, out);
    }

    /** Authenticated, with every command MACed: nobody on the line changes the balance. */
    private static void requireMac(SecureChannelService sc) {
        byte level = sc.getSecurityLevel();
        byte needed = (byte) (SecureChannelService.AUTHENTICATED | SecureChannelService.C_MAC);
        if ((byte) (level & needed) != needed) {
            ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
        }
    }

    private void verify(SecureChannelService sc, APDU apdu, short lc) {
        byte[] buf = apdu.getBuffer();
        if (pin == null) {
            ISOException.throwIt(ISO7816.SW_CONDITIONS_NOT_SATISFIED);
        }
        if (buf[ISO7816.OFFSET_P1] != 0 || buf[ISO7816.OFFSET_P2] != (byte) 0x80) {
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        if (pin.getTriesRemaining() == 0) {
            ISOException.throwIt(ISO7816.SW_FILE_INVALID);
        }
        if (lc < 1 || lc > PIN_MAX) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        if (pin.check(buf, ISO7816.OFFSET_CDATA, (byte) lc)) {
            short out = sc.wrap(buf, (short) 0, (short) 0, ISO7816.SW_NO_ERROR);
            if (out > 0) {
                apdu.setOutgoingAndSend((short) 0, out);
            }
            return;
        }
        // 63Cx is a warning: under R-MAC it carries its MAC.
        short sw = (short) (0x63C0 | pin.getTriesRemaining());
        short out = sc.wrap(buf, (short) 0, (short) 0, sw);
        if (out > 0) {
            apdu.setOutgoingAndSend((short) 0, out);
        }
        ISOException.throwIt(sw);
    }

    private static short amount(byte[] buf, short lc) {
        if (lc != 2) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        short amount = Util.getShort(buf, ISO7816.OFFSET_CDATA);
        if (amount < 0) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        return amount;
    }

    private void credit(short amount) {
        if (amount > (short) (MAX_BALANCE - balance)) {
            ISOException.throwIt(SW_BALANCE_OVERFLOW);
        }
        balance += amount;
    }

    private void debit(short amount) {
        if (amount > balance) {
            ISOException.throwIt(SW_BALANCE_TOO_LOW);
        }
        balance -= amount;
    }
}
