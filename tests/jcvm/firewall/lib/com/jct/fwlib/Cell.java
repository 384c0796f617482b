package com.jct.fwlib;

/**
 * A plain class of a library both test packages import
 * (tests/firewall.rs): an applet package exports only its Shareable
 * interfaces, so this is how the client can name a class whose instance
 * the server owns.
 */
public class Cell {
    /** The server's Cell, reachable by any context through this static. */
    public static Cell shared;

    public short value;

    public Cell(short value) {
        this.value = value;
    }

    public short get() {
        return value;
    }
}
