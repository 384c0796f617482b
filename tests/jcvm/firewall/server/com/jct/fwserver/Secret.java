package com.jct.fwserver;

/** A plain object of the server's package, with a public field. */
public class Secret {
    public short value;

    Secret(short value) {
        this.value = value;
    }

    public short get() {
        return value;
    }
}
