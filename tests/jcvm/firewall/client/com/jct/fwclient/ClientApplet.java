package com.jct.fwclient;

import com.jct.fwlib.Cell;
import com.jct.fwserver.Service;
import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.AppletEvent;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.UserException;
import javacard.framework.Util;

/**
 * The client of the firewall test (tests/firewall.rs): each command tries
 * one access across the firewall. A SecurityException it catches answers
 * {@link #SW_SECURITY}; what is allowed answers its result.
 *
 * <p>INS 10 (P1 = parameter): 01 when the server shares its Service, 00
 * when it answers null. INS 11: add(P1, P2), then 01 if getAID() is this
 * applet again after the call. INS 12: the leaked array (P1 0 read, 1
 * write, 2 length, 3 Util.arrayCopyNonAtomic from it, 4 Util.arrayFillNonAtomic
 * of it). INS 13: the server's Cell, leaked by the Service (P2
 * 0) or read from the library's static (P2 1): P1 0 getfield, 1 putfield,
 * 2 invokevirtual, 3 checkcast, 4 instanceof. INS 14: the APDU buffer kept
 * (P1 0 field, 1 static, 2 array element). INS 15: the APDU object kept (P1
 * 0 static, 1 field). INS 16: exceptions from the server (P1 0 an
 * ISOException: its reason and a counter in this applet's field; P1 1 the
 * server's own UserException: caught, its reason denied:
 * {@link #SW_CAUGHT_DENIED}). INS 17: identify() through the Service.
 * INS 18: getPreviousContextAID() is null, isAppletActive(self),
 * isAppletActive(server). INS 19: the server's CLEAR_ON_DESELECT memory
 * used while this applet is selected (P1 0 read, 1 make).
 */
public class ClientApplet extends Applet implements AppletEvent {
    static final short SW_SECURITY = (short) 0x6F5E;
    static final short SW_CAUGHT_DENIED = (short) 0x6F5F;
    private static final byte[] SERVER = {(byte) 0xF0, 0, 0, 0, 1, (byte) 0xD1, 1};
    private static final byte[] SELF = {(byte) 0xF0, 0, 0, 0, 1, (byte) 0xD2, 1};

    private static byte[] keptStatic;
    private static APDU keptApdu;
    private byte[] keptBuffer;
    private APDU keptApduField;
    private final Object[] slots = new Object[1];
    private short counter;

    private ClientApplet() {
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new ClientApplet().register(bArray, (short) (bOffset + 1), bArray[bOffset]);
    }

    private static Service lookup(byte parameter) {
        AID server = JCSystem.lookupAID(SERVER, (short) 0, (byte) SERVER.length);
        if (server == null) {
            return null;
        }
        return (Service) JCSystem.getAppletShareableInterfaceObject(server, parameter);
    }

    private static Service service() {
        Service s = lookup((byte) 0);
        if (s == null) {
            ISOException.throwIt(ISO7816.SW_CONDITIONS_NOT_SATISFIED);
        }
        return s;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        try {
            run(apdu);
        } catch (SecurityException e) {
            ISOException.throwIt(SW_SECURITY);
        }
    }

    private void run(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        byte p1 = buf[ISO7816.OFFSET_P1];
        byte p2 = buf[ISO7816.OFFSET_P2];
        short len = 1;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x10:
                buf[0] = (byte) (lookup(p1) == null ? 0 : 1);
                break;
            case 0x11: {
                short sum = service().add(p1, p2);
                Util.setShort(buf, (short) 0, sum);
                buf[2] = (byte) (JCSystem.getAID().equals(SELF, (short) 0, (byte) SELF.length) ? 1 : 0);
                len = 3;
                break;
            }
            case 0x12: {
                byte[] a = service().leakArray();
                if (p1 == 0) {
                    buf[0] = a[0];
                } else if (p1 == 1) {
                    a[0] = 0x55;
                } else if (p1 == 3) {
                    // An API method reaches only what its caller could.
                    Util.arrayCopyNonAtomic(a, (short) 0, buf, (short) 0, (short) 1);
                } else if (p1 == 4) {
                    Util.arrayFillNonAtomic(a, (short) 0, (short) 1, (byte) 0x55);
                } else {
                    buf[0] = (byte) a.length;
                }
                break;
            }
            case 0x13: {
                Cell c = Cell.shared;
                if (p2 == 0) {
                    c = service().leakCell();
                }
                Object o = c;
                if (p1 == 0) {
                    buf[0] = (byte) c.value;
                } else if (p1 == 1) {
                    c.value = 0;
                } else if (p1 == 2) {
                    buf[0] = (byte) c.get();
                } else if (p1 == 3) {
                    Cell back = (Cell) o;
                    buf[0] = (byte) (back == null ? 0 : 1);
                } else {
                    buf[0] = (byte) (o instanceof Cell ? 1 : 0);
                }
                break;
            }
            case 0x14:
                if (p1 == 0) {
                    keptBuffer = buf;
                } else if (p1 == 1) {
                    keptStatic = buf;
                } else {
                    slots[0] = buf;
                }
                buf[0] = 1;
                break;
            case 0x15:
                if (p1 == 0) {
                    keptApdu = apdu;
                } else {
                    keptApduField = apdu;
                }
                buf[0] = 1;
                break;
            case 0x16:
                if (p1 == 0) {
                    try {
                        service().fail((short) 0x6A88);
                    } catch (ISOException e) {
                        Util.setShort(buf, (short) 0, e.getReason());
                        counter++;
                        buf[2] = (byte) counter;
                        len = 3;
                    }
                } else {
                    try {
                        service().failOwn((short) 0x42);
                    } catch (UserException e) {
                        try {
                            buf[0] = (byte) e.getReason();
                        } catch (SecurityException denied) {
                            ISOException.throwIt(SW_CAUGHT_DENIED);
                        }
                    }
                }
                break;
            case 0x17:
                len = service().identify(buf, (short) 0);
                break;
            case 0x18: {
                buf[0] = (byte) (JCSystem.getPreviousContextAID() == null ? 1 : 0);
                buf[1] = (byte) (JCSystem.isAppletActive(JCSystem.getAID()) ? 1 : 0);
                AID server = JCSystem.lookupAID(SERVER, (short) 0, (byte) SERVER.length);
                buf[2] = (byte) (JCSystem.isAppletActive(server) ? 1 : 0);
                len = 3;
                break;
            }
            case 0x19:
                Util.setShort(buf, (short) 0, service().transientAccess(p1));
                len = 2;
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, len);
    }

    public void uninstall() {
        Service s = lookup((byte) 0);
        if (s != null) {
            s.uninstalled();
        }
    }
}
