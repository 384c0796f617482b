package com.jct.mplib;

/** A package-private class: reached only from its own package. */
class Helper {
    static short bias() {
        return 7;
    }
}
