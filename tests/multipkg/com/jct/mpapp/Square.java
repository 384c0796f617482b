package com.jct.mpapp;

import com.jct.mplib.Shape;

/** Overrides a method of a class of the other package, and calls it. */
public class Square extends Shape {
    public short area(short x) {
        return (short) (super.area(x) + 1);
    }
}
