package com.jct.vmtest;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.OwnerPIN;
import javacard.framework.SystemException;
import javacard.framework.TransactionException;
import javacard.framework.Util;

/**
 * Exercises the emulator's virtual machine: runtime exceptions caught and
 * uncaught, budgets, transactions, transient arrays and memory limits. Each
 * command answers a two-byte result (see tests/jcvm_applets.rs).
 */
public class VmTestApplet extends Applet {
    private short value;
    private final byte[] store;
    private final byte[] big;
    private final byte[] tReset;
    private final byte[] tDeselect;
    private final OwnerPIN pin;
    private static final byte[] PIN = {1, 2, 3, 4};
    private static final byte[] ABC = {1, 2, 3};

    private VmTestApplet() {
        store = new byte[4];
        big = new byte[400];
        tReset = JCSystem.makeTransientByteArray((short) 4, JCSystem.CLEAR_ON_RESET);
        tDeselect = JCSystem.makeTransientByteArray((short) 4, JCSystem.CLEAR_ON_DESELECT);
        pin = new OwnerPIN((byte) 3, (byte) 8);
        pin.update(PIN, (short) 0, (byte) PIN.length);
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new VmTestApplet().register();
    }

    private static short recurse(short n) {
        return (short) (recurse((short) (n + 1)) + 1);
    }

    private static void spin(byte[] buf) {
        short i = 0;
        for (;;) {
            buf[0] = (byte) i;
            i++;
        }
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        short p1 = (short) (buf[ISO7816.OFFSET_P1] & 0xFF);
        short p1p2 = Util.getShort(buf, ISO7816.OFFSET_P1);
        short out = 0;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x01:
                try {
                    byte[] none = null;
                    none[0] = 1;
                } catch (NullPointerException e) {
                    out = 1;
                }
                break;
            case 0x02:
                try {
                    out = buf[(short) (300 + p1)];
                } catch (ArrayIndexOutOfBoundsException e) {
                    out = 2;
                }
                break;
            case 0x03:
                try {
                    out = (short) (100 / p1);
                } catch (ArithmeticException e) {
                    out = 3;
                }
                break;
            case 0x04:
                try {
                    Object o = apdu;
                    AID aid = (AID) o;
                    out = aid.getBytes(buf, (short) 0);
                } catch (ClassCastException e) {
                    out = 4;
                }
                break;
            case 0x05:
                try {
                    byte[] b = new byte[(short) (p1 - 1)];
                    out = (short) b.length;
                } catch (NegativeArraySizeException e) {
                    out = 5;
                }
                break;
            case 0x06: {
                byte[] none = null;
                out = none[0];
                break;
            }
            case 0x07:
                ISOException.throwIt(p1p2);
                break;
            case 0x08:
                try {
                    JCSystem.makeTransientByteArray((short) 1, (byte) 9);
                } catch (SystemException e) {
                    out = e.getReason();
                }
                break;
            case 0x09:
                spin(buf);
                break;
            case 0x0A:
                try {
                    out = recurse((short) 0);
                } catch (SystemException e) {
                    out = (short) (0x0A00 | e.getReason());
                }
                break;
            case 0x10:
                JCSystem.beginTransaction();
                value = p1p2;
                store[0] = (byte) p1;
                JCSystem.commitTransaction();
                out = value;
                break;
            case 0x11:
                JCSystem.beginTransaction();
                value = p1p2;
                store[0] = (byte) p1;
                JCSystem.abortTransaction();
                out = value;
                break;
            case 0x12:
                JCSystem.beginTransaction();
                try {
                    JCSystem.beginTransaction();
                } catch (TransactionException e) {
                    out = e.getReason();
                }
                JCSystem.abortTransaction();
                break;
            case 0x13:
                JCSystem.beginTransaction();
                try {
                    Util.arrayFill(big, (short) 0, (short) big.length, (byte) p1);
                } catch (TransactionException e) {
                    out = e.getReason();
                }
                JCSystem.abortTransaction();
                out = (short) ((out << 8) | (big[0] & 0xFF));
                break;
            case 0x14:
                JCSystem.beginTransaction();
                value = p1p2;
                out = JCSystem.getTransactionDepth();
                break;
            case 0x15:
                out = value;
                break;
            case 0x16:
                try {
                    JCSystem.commitTransaction();
                } catch (TransactionException e) {
                    out = e.getReason();
                }
                break;
            case 0x17:
                out = (short) (store[0] & 0xFF);
                break;
            case 0x18:
                // Non-atomic writes are not undone by an abort.
                JCSystem.beginTransaction();
                Util.arrayFillNonAtomic(store, (short) 0, (short) 1, (byte) p1);
                JCSystem.abortTransaction();
                out = (short) (store[0] & 0xFF);
                break;
            case 0x20:
                tReset[0] = buf[ISO7816.OFFSET_P1];
                tDeselect[0] = buf[ISO7816.OFFSET_P2];
                break;
            case 0x21:
                out = Util.makeShort(tReset[0], tDeselect[0]);
                break;
            case 0x22:
                out = Util.makeShort(JCSystem.isTransient(tReset), JCSystem.isTransient(tDeselect));
                out |= JCSystem.isTransient(store);
                break;
            case 0x30:
                try {
                    byte[] huge = new byte[p1p2];
                    out = (short) huge.length;
                } catch (SystemException e) {
                    out = e.getReason();
                }
                break;
            case 0x31:
                out = JCSystem.getAvailableMemory(JCSystem.MEMORY_TYPE_TRANSIENT_RESET);
                break;
            case 0x32:
                out = JCSystem.getMaxCommitCapacity();
                break;
            case 0x40: {
                // Garbage, then (P1 = 1) a request to delete it.
                out = JCSystem.getAvailableMemory(JCSystem.MEMORY_TYPE_PERSISTENT);
                byte[] garbage = new byte[200];
                garbage[0] = 1;
                if (p1 == 1 && JCSystem.isObjectDeletionSupported()) {
                    JCSystem.requestObjectDeletion();
                }
                break;
            }
            case 0x50: {
                short lc = apdu.setIncomingAndReceive();
                out = (short) (pin.check(buf, ISO7816.OFFSET_CDATA, (byte) lc) ? 0x100 : 0);
                out |= pin.getTriesRemaining();
                break;
            }
            case 0x51:
                out = (short) ((pin.isValidated() ? 0x100 : 0) | pin.getTriesRemaining());
                break;
            case 0x52:
                pin.resetAndUnblock();
                out = pin.getTriesRemaining();
                break;
            case 0x53:
                pin.reset();
                break;
            case 0x54: {
                byte n = JCSystem.getAID().getBytes(buf, (short) 0);
                apdu.setOutgoingAndSend((short) 0, n);
                return;
            }
            case 0x55: {
                short lc = apdu.setIncomingAndReceive();
                AID me = JCSystem.getAID();
                if (me.partialEquals(buf, ISO7816.OFFSET_CDATA, (byte) lc)) {
                    out = 0x10;
                }
                AID found = JCSystem.lookupAID(buf, ISO7816.OFFSET_CDATA, (byte) lc);
                if (found != null) {
                    out |= 1;
                    if (found.equals(me) && me.RIDEquals(found)) {
                        out |= 2;
                    }
                }
                break;
            }
            case 0x56:
                apdu.setIncomingAndReceive();
                out = Util.arrayCompare(buf, ISO7816.OFFSET_CDATA, ABC, (short) 0, (short) 3);
                break;
            case 0x41:
                out = JCSystem.getAvailableMemory(JCSystem.MEMORY_TYPE_PERSISTENT);
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Util.setShort(buf, (short) 0, out);
        apdu.setOutgoingAndSend((short) 0, (short) 2);
    }
}
