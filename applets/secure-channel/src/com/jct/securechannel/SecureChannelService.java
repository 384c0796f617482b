package com.jct.securechannel;

import javacard.framework.APDU;
import javacard.framework.Shareable;

/**
 * The secure channel (SCP03) of {@link SecureChannelApplet}, offered to other
 * applets so that they leave their secure messaging to it, as applets do with
 * the SecureChannel of their security domain on a GlobalPlatform card.
 *
 * <p>A client obtains it with
 * {@code JCSystem.getAppletShareableInterfaceObject(serviceAid, (byte) 0)}.
 * The session belongs to the applet that opened it (INITIALIZE UPDATE through
 * {@link #processSecurity}); other applets see no session. Because the
 * session state must be reachable while the client, not the service, is the
 * selected applet, it lives in CLEAR_ON_RESET memory: a client must call
 * {@link #resetSecurity} in its {@code select()} so that no session outlives
 * a selection.
 *
 * <p>Every array argument must be the APDU buffer (a global array): the
 * firewall lets the service read nothing else of the client's.
 */
public interface SecureChannelService extends Shareable {
    /** Bit of {@link #getSecurityLevel}: EXTERNAL AUTHENTICATE succeeded. */
    byte AUTHENTICATED = (byte) 0x80;
    /** Bit of {@link #getSecurityLevel}: commands carry a C-MAC. */
    byte C_MAC = (byte) 0x01;
    /** Bit of {@link #getSecurityLevel}: command data is encrypted. */
    byte C_DECRYPTION = (byte) 0x02;
    /** Bit of {@link #getSecurityLevel}: responses carry an R-MAC. */
    byte R_MAC = (byte) 0x10;
    /** Bit of {@link #getSecurityLevel}: response data is encrypted. */
    byte R_ENCRYPTION = (byte) 0x20;

    /**
     * Processes an INITIALIZE UPDATE (80 50) or EXTERNAL AUTHENTICATE (84 82)
     * the client received. The service receives the command data itself if
     * the client has not. Returns the length of the response data it wrote
     * into the APDU buffer at ISO7816.OFFSET_CDATA (0 for EXTERNAL
     * AUTHENTICATE); throws ISOException with the status word otherwise.
     */
    short processSecurity(APDU apdu);

    /**
     * Checks and removes the secure messaging of the command in
     * {@code buf[off..off+len)}: CLA INS P1 P2, then the Lc field (1 byte, or
     * 3 bytes 00 hi lo for an extended command) and the data; {@code len} is
     * 4 for a command without data. The plain command replaces it in place
     * (CLA without the secure messaging bit, Lc in the same form); returns
     * its length. A command without secure messaging passes unchanged when
     * no session with C-MAC is open. Throws ISOException 6982 when the C-MAC
     * is wrong or missing (the session is closed), 6A80 when the data does
     * not decrypt (closed as well), 6700 when {@code len} does not match the
     * Lc field.
     */
    short unwrap(byte[] buf, short off, short len);

    /**
     * Protects the response {@code buf[off..off+len)} that goes out with the
     * status word {@code sw}, for the command last unwrapped: R-ENCRYPTION
     * and R-MAC as the session's level says. Returns the length to send
     * (the buffer needs 24 bytes of room beyond {@code len}); 0 for an error
     * status word in an R-MAC session, since errors carry no data; {@code len}
     * unchanged without R-MAC. Throws ISOException 6985 when R-MAC is on and
     * no command was unwrapped since the last response.
     */
    short wrap(byte[] buf, short off, short len, short sw);

    /**
     * {@link #AUTHENTICATED} with the level bits of the caller's open
     * session, or 0 when the caller has none.
     */
    byte getSecurityLevel();

    /** Closes any session, whoever opened it. */
    void resetSecurity();
}
