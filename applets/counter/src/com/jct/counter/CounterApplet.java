package com.jct.counter;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;

/**
 * A persistent counter, like the balance of a purse: GET reads it, CREDIT and
 * DEBIT add or subtract a two-byte amount. The balance never leaves
 * 0..MAX_BALANCE; a command that would take it out is refused and changes
 * nothing.
 *
 * <pre>
 * 80 10 00 00 02         GET     -> balance (2 bytes, big-endian) 9000
 * 80 12 00 00 02 hi lo   CREDIT  -> new balance 9000 | 6A84 overflow
 * 80 14 00 00 02 hi lo   DEBIT   -> new balance 9000 | 6985 not enough
 * </pre>
 * A negative amount is 6A80, a body that is not two bytes 6700.
 */
public class CounterApplet extends Applet {
    private static final byte CLA_PROPRIETARY = (byte) 0x80;
    private static final byte INS_GET = (byte) 0x10;
    private static final byte INS_CREDIT = (byte) 0x12;
    private static final byte INS_DEBIT = (byte) 0x14;

    /** The largest balance: a short cannot hold more. */
    public static final short MAX_BALANCE = (short) 0x7FFF;
    /** CREDIT would take the balance above MAX_BALANCE. */
    public static final short SW_BALANCE_OVERFLOW = (short) 0x6A84;
    /** DEBIT of more than the balance. */
    public static final short SW_BALANCE_TOO_LOW = (short) 0x6985;

    /** In persistent memory: it survives resets, and a single field write is atomic. */
    private short balance;

    private CounterApplet() {
        balance = 0;
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new CounterApplet().register(bArray, (short) (bOffset + 1), bArray[bOffset]);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_CLA] != CLA_PROPRIETARY) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        switch (buf[ISO7816.OFFSET_INS]) {
            case INS_GET:
                break;
            case INS_CREDIT:
                credit(amount(apdu));
                break;
            case INS_DEBIT:
                debit(amount(apdu));
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Util.setShort(buf, (short) 0, balance);
        apdu.setOutgoingAndSend((short) 0, (short) 2);
    }

    /** The two-byte, non-negative amount in the command body. */
    private static short amount(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        short lc = apdu.setIncomingAndReceive();
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
        // Both operands are non-negative, so the subtraction cannot overflow.
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
