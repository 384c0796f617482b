package com.jct.fwserver;

import com.jct.fwlib.Cell;
import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Shareable;
import javacard.framework.SystemException;
import javacard.framework.UserException;
import javacard.framework.Util;

/**
 * The server of the firewall test (tests/firewall.rs). It shares itself as
 * a {@link Service} with any client that asks with parameter 0 and refuses
 * (null) otherwise, recording what getShareableInterfaceObject saw.
 *
 * <p>INS 01: the last request: parameter, then the client AID passed in
 * and the previous context's AID, each length-prefixed (length 0: null).
 * INS 02: uninstall counters: the peer applet's (a static, two bytes),
 * the clients' notices (two bytes), then the last notifier's AID,
 * length-prefixed. INS 03: the first byte of the array it leaks and the
 * value of the Cell it leaks (also in the library's static Cell.shared).
 */
public class ServerApplet extends Applet implements Service {
    /** Objects of this package that PeerApplet (same package) uses. */
    static Secret shared;
    static byte[] sharedArray;
    /** Incremented by PeerApplet.uninstall(). */
    static short peerUninstalls;
    /** Makes PeerApplet.uninstall() loop for ever. */
    static boolean spin;

    private final byte[] request = new byte[40];
    private final byte[] notifier = new byte[17];
    private short notices;
    private final byte[] secretArray = {1, 2, 3, 4};
    private final Cell cell = new Cell((short) 0x1234);
    private final UserException own = new UserException();
    /** CLEAR_ON_DESELECT: usable only while this applet is the selected one. */
    private final byte[] selectedOnly =
            JCSystem.makeTransientByteArray((short) 1, JCSystem.CLEAR_ON_DESELECT);

    private ServerApplet() {
        shared = new Secret((short) 0x5678);
        Cell.shared = cell;
        sharedArray = new byte[] {9, 8, 7};
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new ServerApplet().register(bArray, (short) (bOffset + 1), bArray[bOffset]);
    }

    public Shareable getShareableInterfaceObject(AID clientAID, byte parameter) {
        request[0] = parameter;
        short off = put(clientAID, request, (short) 1);
        put(JCSystem.getPreviousContextAID(), request, off);
        if (parameter != 0) {
            return null;
        }
        return this;
    }

    /** Writes an AID length-prefixed (0 for null); returns the next offset. */
    private static short put(AID aid, byte[] buf, short off) {
        if (aid == null) {
            buf[off] = 0;
            return (short) (off + 1);
        }
        byte n = aid.getBytes(buf, (short) (off + 1));
        buf[off] = n;
        return (short) (off + 1 + n);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        short len;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x01:
                len = (short) request.length;
                Util.arrayCopyNonAtomic(request, (short) 0, buf, (short) 0, len);
                break;
            case 0x02:
                Util.setShort(buf, (short) 0, peerUninstalls);
                Util.setShort(buf, (short) 2, notices);
                len = (short) (5 + notifier[0]);
                Util.arrayCopyNonAtomic(notifier, (short) 0, buf, (short) 4, (short) (1 + notifier[0]));
                break;
            case 0x03:
                buf[0] = secretArray[0];
                Util.setShort(buf, (short) 1, cell.value);
                len = 3;
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
                return;
        }
        apdu.setOutgoingAndSend((short) 0, len);
    }

    public short add(short a, short b) {
        return (short) (a + b);
    }

    public short identify(byte[] buf, short off) {
        short end = put(JCSystem.getPreviousContextAID(), buf, off);
        end = put(JCSystem.getAID(), buf, end);
        return (short) (end - off);
    }

    public byte[] leakArray() {
        return secretArray;
    }

    public Cell leakCell() {
        return cell;
    }

    public void fail(short reason) {
        ISOException.throwIt(reason);
    }

    public void failOwn(short reason) throws UserException {
        own.setReason(reason);
        throw own;
    }

    public short transientAccess(byte what) {
        try {
            if (what == 0) {
                selectedOnly[0] = 1;
                return selectedOnly[0];
            }
            // Test code: the allocation the JCRE must refuse.
            JCSystem.makeTransientByteArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
            return 1;
        } catch (SecurityException e) {
            return 0x5E;
        } catch (SystemException e) {
            return (short) (0x5100 | e.getReason());
        }
    }

    public void uninstalled() {
        notices++;
        put(JCSystem.getPreviousContextAID(), notifier, (short) 0);
    }
}
