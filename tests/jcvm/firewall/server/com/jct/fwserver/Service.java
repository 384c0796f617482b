package com.jct.fwserver;

import com.jct.fwlib.Cell;
import javacard.framework.Shareable;
import javacard.framework.UserException;

/**
 * What the server applet shares through the firewall. Some methods are
 * honest services; others hand out references that the firewall must keep
 * the client from using (tests/firewall.rs).
 */
public interface Service extends Shareable {
    /** a + b, computed in the server's context. */
    short add(short a, short b);

    /**
     * Writes, at buf[off], the AID of the previous context (the caller)
     * and then the AID of the running applet (the server), each
     * length-prefixed; returns the bytes written. buf must be global.
     */
    short identify(byte[] buf, short off);

    /** A byte array of the server's: the client may not touch it. */
    byte[] leakArray();

    /** An object of the server's that is not Shareable. */
    Cell leakCell();

    /** Throws ISOException (a JCRE-owned exception) with the reason. */
    void fail(short reason);

    /** Throws a UserException the server owns. */
    void failOwn(short reason) throws UserException;

    /**
     * Uses the server's CLEAR_ON_DESELECT memory while a client is the
     * selected applet (JCRE 6.1.5): what 0 reads its array, what 1 makes
     * one. Answers 1 when allowed, 0x5E for a SecurityException,
     * 0x5100 | reason for a SystemException.
     */
    short transientAccess(byte what);

    /** Called by clients from their AppletEvent.uninstall(). */
    void uninstalled();
}
