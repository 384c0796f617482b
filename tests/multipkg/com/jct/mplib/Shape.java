package com.jct.mplib;

/** A superclass that a class of the other package extends. */
public class Shape {
    public short area(short x) {
        return (short) (x * x);
    }
}
