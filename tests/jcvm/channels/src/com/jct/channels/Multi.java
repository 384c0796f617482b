package com.jct.channels;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.APDUException;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.MultiSelectable;
import javacard.framework.Util;

/**
 * A multiselectable applet (F000000001D401): it records how the JCRE
 * selected and deselected it (Applet.select or MultiSelectable.select with
 * its flag), reports its logical channel, keeps one CLEAR_ON_DESELECT
 * byte, and exercises the APDU class (see tests/channels.rs).
 */
public class Multi extends Applet implements MultiSelectable {
    private static final byte[] PLAIN = {(byte) 0xF0, 0, 0, 0, 1, (byte) 0xD4, 2};

    private final byte[] cod;
    private final AID plain;
    /** 1: select(), 2: select(false), 3: select(true). */
    private byte lastSelect;
    /** 1: deselect(), 2: deselect(false), 3: deselect(true). */
    private byte lastDeselect;

    private Multi() {
        cod = JCSystem.makeTransientByteArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
        plain = new AID(PLAIN, (short) 0, (byte) PLAIN.length);
    }

    public static void install(byte[] b, short o, byte l) {
        new Multi().register(b, (short) (o + 1), b[o]);
    }

    public boolean select() {
        lastSelect = 1;
        return true;
    }

    public void deselect() {
        lastDeselect = 1;
    }

    public boolean select(boolean appInstAlreadyActive) {
        lastSelect = appInstAlreadyActive ? (byte) 3 : (byte) 2;
        return true;
    }

    public void deselect(boolean appInstStillActive) {
        lastDeselect = appInstStillActive ? (byte) 3 : (byte) 2;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x10:
                report(apdu, buf);
                return;
            case 0x11:
                cod[0] = buf[ISO7816.OFFSET_P1];
                return;
            case 0x20:
                misuse(apdu, buf[ISO7816.OFFSET_P1]);
                return;
            case 0x21:
                states(apdu, buf);
                return;
            case 0x30:
                info(apdu, buf);
                return;
            case 0x40:
                counting(apdu, buf);
                return;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }

    /** Channel, CLA channel, how selected/deselected, the CLEAR_ON_DESELECT byte, who is active. */
    private void report(APDU apdu, byte[] buf) {
        buf[0] = JCSystem.getAssignedChannel();
        buf[1] = APDU.getCLAChannel();
        buf[2] = lastSelect;
        buf[3] = lastDeselect;
        buf[4] = cod[0];
        buf[5] = JCSystem.isAppletActive(plain) ? (byte) 1 : (byte) 0;
        buf[6] = JCSystem.isAppletActive(JCSystem.getAID()) ? (byte) 1 : (byte) 0;
        apdu.setOutgoingAndSend((short) 0, (short) 7);
    }

    /** One misuse of the APDU state machine per P1: SW 64xx with xx the APDUException reason. */
    private void misuse(APDU apdu, byte which) {
        try {
            switch (which) {
                case 1:
                    apdu.sendBytes((short) 0, (short) 1);
                    break;
                case 2:
                    apdu.setOutgoing();
                    apdu.setOutgoing();
                    break;
                case 3:
                    apdu.setOutgoing();
                    apdu.setOutgoingLength((short) 257);
                    break;
                case 4:
                    apdu.receiveBytes((short) 5);
                    break;
                case 5:
                    apdu.setOutgoing();
                    apdu.setOutgoingLength((short) 2);
                    apdu.sendBytes((short) 0, (short) 3);
                    break;
                case 6:
                    apdu.setOutgoing();
                    apdu.setOutgoingLength((short) 2);
                    apdu.sendBytes((short) 260, (short) 2);
                    break;
                case 7:
                    apdu.setOutgoingLength((short) 1);
                    break;
                case 8:
                    apdu.setIncomingAndReceive();
                    apdu.setIncomingAndReceive();
                    break;
                case 9:
                    apdu.setOutgoing();
                    apdu.setIncomingAndReceive();
                    break;
                case 10:
                    apdu.setOutgoingNoChaining();
                    APDU.waitExtension();
                    break;
                default:
                    ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
            }
        } catch (APDUException e) {
            ISOException.throwIt((short) (0x6400 | e.getReason()));
        }
        // No exception: the caller expected one.
        ISOException.throwIt((short) 0x6400);
    }

    /** getCurrentState along a case 4 command: INITIAL, FULL_INCOMING, OUTGOING, LENGTH_KNOWN, PARTIAL_OUTGOING; then the protocol. */
    private void states(APDU apdu, byte[] buf) {
        byte s0 = apdu.getCurrentState();
        apdu.setIncomingAndReceive();
        byte s1 = apdu.getCurrentState();
        apdu.setOutgoing();
        byte s2 = apdu.getCurrentState();
        apdu.setOutgoingLength((short) 6);
        byte s3 = apdu.getCurrentState();
        buf[0] = s0;
        buf[1] = s1;
        buf[2] = s2;
        buf[3] = s3;
        apdu.sendBytes((short) 0, (short) 4);
        buf[4] = apdu.getCurrentState();
        buf[5] = APDU.getProtocol();
        apdu.sendBytes((short) 4, (short) 2);
    }

    /** The APDU's view of the command and the link. */
    private void info(APDU apdu, byte[] buf) {
        byte protocol = APDU.getProtocol();
        short in = APDU.getInBlockSize();
        short out = APDU.getOutBlockSize();
        short cdata = apdu.getOffsetCdata();
        short lc = apdu.getIncomingLength();
        boolean chaining = apdu.isCommandChainingCLA();
        boolean sm = apdu.isSecureMessagingCLA();
        boolean iso = apdu.isISOInterindustryCLA();
        byte nad = apdu.getNAD();
        buf[0] = protocol;
        Util.setShort(buf, (short) 1, in);
        Util.setShort(buf, (short) 3, out);
        Util.setShort(buf, (short) 5, cdata);
        Util.setShort(buf, (short) 7, lc);
        buf[9] = chaining ? (byte) 1 : (byte) 0;
        buf[10] = sm ? (byte) 1 : (byte) 0;
        buf[11] = iso ? (byte) 1 : (byte) 0;
        buf[12] = nad;
        apdu.setOutgoingAndSend((short) 0, (short) 13);
    }

    /** P1P2 bytes 00 01 02 ..., whatever Le says (the JCRE cuts them to the protocol). */
    private void counting(APDU apdu, byte[] buf) {
        short n = Util.getShort(buf, ISO7816.OFFSET_P1);
        apdu.setOutgoing();
        apdu.setOutgoingLength(n);
        for (short i = 0; i < n; i++) {
            buf[i] = (byte) i;
        }
        apdu.sendBytes((short) 0, n);
    }
}
