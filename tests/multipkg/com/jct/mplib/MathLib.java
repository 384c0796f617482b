package com.jct.mplib;

/** Static methods and a static field another package of the same CAP file uses. */
public class MathLib {
    /** How many times triple ran. */
    public static short calls;

    public static short triple(short x) {
        calls++;
        return (short) (x * 3 + Helper.bias());
    }
}
