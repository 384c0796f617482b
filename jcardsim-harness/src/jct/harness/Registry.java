package jct.harness;

import java.util.ArrayList;
import java.util.Arrays;

/**
 * What the card manager remembers: the ISD, the card life cycle, the load
 * files (AID, version, package name, applets, imports) and the instances
 * (AID, load file, module, privileges, life cycle, the Java class running
 * them). Part of the {@link Snapshot}, so it persists with the applets.
 */
final class Registry {
    static final int OP_READY = 0x01;
    static final int INITIALIZED = 0x07;
    static final int SECURED = 0x0F;
    static final int CARD_LOCKED = 0x7F;
    static final int TERMINATED = 0xFF;
    static final int APP_INSTALLED = 0x03;
    static final int APP_SELECTABLE = 0x07;
    static final int APP_LOCKED_BIT = 0x80;
    static final byte[] ISD_PRIVILEGES = {(byte) 0x9E, (byte) 0xFE, (byte) 0x80};

    byte[] isd;
    int lifeCycle = OP_READY;
    /** SCP03's i and the key diversification data the ISD applet was given. */
    int scpI;
    byte[] kdd;
    String frontClass;
    ArrayList<Pkg> packages = new ArrayList<>();
    ArrayList<Inst> instances = new ArrayList<>();

    static final class Pkg {
        byte[] aid;
        int major;
        int minor;
        /** Dotted Java package name, from the Header (CAP 2.2+) or --package. */
        String name;
        ArrayList<byte[]> applets = new ArrayList<>();
        ArrayList<byte[]> imports = new ArrayList<>();
        byte[] securityDomain;
    }

    static final class Inst {
        byte[] aid;
        byte[] loadFile;
        byte[] module;
        byte[] privileges;
        int lifeCycle;
        String className;
    }

    Pkg pkg(byte[] aid) {
        for (Pkg p : packages) {
            if (Arrays.equals(p.aid, aid)) {
                return p;
            }
        }
        return null;
    }

    Inst inst(byte[] aid) {
        for (Inst i : instances) {
            if (Arrays.equals(i.aid, aid)) {
                return i;
            }
        }
        return null;
    }

    boolean aidInUse(byte[] aid) {
        return Arrays.equals(isd, aid) || pkg(aid) != null || inst(aid) != null;
    }

    boolean cardLocked() {
        return lifeCycle == CARD_LOCKED || lifeCycle == TERMINATED;
    }
}
