package jct.harness;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * vsmartcard's vpcd framing, the card's side: each message is a 2-byte
 * big-endian length and that many bytes; a 1-byte message is a control
 * code (00 power off, 01 power on, 02 reset, 04 get ATR), a longer one an
 * APDU. Only get ATR and APDUs are answered. The same loop serves a reader
 * that connected to --listen and pcscd's driver that --vpcd connected to.
 */
final class Link {
    private Link() {}

    /** How a connection ended. */
    enum End { PEER_CLOSED, PROTOCOL_ERROR }

    static End serve(Card card, InputStream in, OutputStream out) throws IOException {
        byte[] header = new byte[2];
        while (true) {
            int got = readFully(in, header, true);
            if (got == 0) {
                return End.PEER_CLOSED;
            }
            int len = (header[0] & 0xFF) << 8 | (header[1] & 0xFF);
            if (len == 0) {
                Log.info("an empty frame (length 0): the peer does not speak vpcd; closing the connection");
                return End.PROTOCOL_ERROR;
            }
            byte[] payload = new byte[len];
            readFully(in, payload, false);
            byte[] reply = null;
            if (len == 1) {
                switch (payload[0]) {
                    case 0x00: card.powerOff(); break;
                    case 0x01: card.powerOn(); break;
                    case 0x02: card.powerOn(); break;
                    case 0x04: reply = Card.ATR; break;
                    default: Log.info(String.format("unknown control code %02X ignored", payload[0])); break;
                }
            } else {
                reply = card.process(payload);
            }
            if (reply != null) {
                byte[] frame = new byte[2 + reply.length];
                frame[0] = (byte) (reply.length >> 8);
                frame[1] = (byte) reply.length;
                System.arraycopy(reply, 0, frame, 2, reply.length);
                out.write(frame);
                out.flush();
            }
        }
    }

    /** Reads all of `buf`; returns 0 on a clean end before its first byte (if allowed). */
    private static int readFully(InputStream in, byte[] buf, boolean endAllowed) throws IOException {
        int n = 0;
        while (n < buf.length) {
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) {
                if (n == 0 && endAllowed) {
                    return 0;
                }
                throw new EOFException("connection closed inside a frame (" + n + " of " + buf.length + " bytes)");
            }
            n += r;
        }
        return n;
    }
}
