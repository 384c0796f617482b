package com.jct.mplib;

/** An object with state and a virtual method, created by the other package. */
public class Counter {
    private short n;

    public Counter(short start) {
        n = start;
    }

    public short bump(short by) {
        n = (short) (n + by);
        return n;
    }
}
