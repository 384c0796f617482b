package jct.harness;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a complete Load File (what the LOAD blocks carried) with a card's
 * rules: optional DAP blocks (E2) and exactly one Load File Data Block
 * (C4) whose length matches what was received; the hash INSTALL [for load]
 * announced (SHA-1 or SHA-256 of the C4 value); the components as a
 * sequence of tag/size/body with no byte left over; a Header with the
 * DECAFFED magic, CAP format 2.1 to 2.3 (compact), and the package AID
 * announced; the Applet and Import components. Any failure is a
 * {@link Refused} carrying the status word, and the caller stores nothing.
 */
final class LoadFileReader {
    static final class Refused extends Exception {
        final int sw;

        Refused(int sw, String message) {
            super(message);
            this.sw = sw;
        }
    }

    static final class Result {
        byte[] aid;
        int major;
        int minor;
        int capMajor;
        int capMinor;
        /** Dotted package name, null for CAP 2.1 (its Header has none). */
        String name;
        List<byte[]> applets = new ArrayList<>();
        List<byte[]> imports = new ArrayList<>();
    }

    private LoadFileReader() {}

    static Result read(byte[] loadFile, byte[] announcedAid, byte[] hash) throws Refused {
        List<Tlv> objects;
        try {
            objects = Tlv.parse(loadFile);
        } catch (Tlv.Malformed e) {
            throw new Refused(0x6A80, "the Load File is not BER-TLV: " + e.getMessage());
        }
        if (objects.isEmpty()) {
            throw new Refused(0x6A80, "the Load File is empty");
        }
        Tlv last = objects.get(objects.size() - 1);
        if (last.tag != 0xC4) {
            throw new Refused(0x6A80, "the Load File ends with tag " + Integer.toHexString(last.tag).toUpperCase() + " instead of C4");
        }
        for (Tlv t : objects.subList(0, objects.size() - 1)) {
            if (t.tag != 0xE2) {
                throw new Refused(0x6A80, "tag " + Integer.toHexString(t.tag).toUpperCase() + " before the Load File Data Block; only DAP blocks (E2) may precede it");
            }
        }
        byte[] block = last.value;
        checkHash(hash, block);
        Result r = new Result();
        boolean header = false;
        int p = 0;
        while (p < block.length) {
            if (block.length - p < 3) {
                throw new Refused(0x6A80, "a component header truncated at offset " + p);
            }
            int tag = block[p] & 0xFF;
            int size = (block[p + 1] & 0xFF) << 8 | (block[p + 2] & 0xFF);
            int body = p + 3;
            if (size > block.length - body) {
                throw new Refused(0x6A80, "component " + tag + " at offset " + p + " declares " + size + " bytes, " + (block.length - body) + " remain");
            }
            if (!header && tag != 1) {
                throw new Refused(0x6A80, "the Load File starts with component " + tag + ", not the Header (1)");
            }
            if (tag < 1 || (tag > 13 && tag < 128)) {
                throw new Refused(0x6A80, "unknown component tag " + tag + " at offset " + p);
            }
            Cursor c = new Cursor(block, body, size, tag);
            switch (tag) {
                case 1:
                    if (header) {
                        throw new Refused(0x6A80, "a second Header component");
                    }
                    header = true;
                    readHeader(c, r, announcedAid);
                    break;
                case 3:
                    readApplet(c, r);
                    break;
                case 4:
                    readImport(c, r);
                    break;
                default:
                    break;
            }
            p = body + size;
        }
        if (!header) {
            throw new Refused(0x6A80, "the Load File Data Block has no Header component");
        }
        return r;
    }

    private static void checkHash(byte[] expected, byte[] block) throws Refused {
        if (expected == null || expected.length == 0) {
            return;
        }
        String alg = expected.length == 20 ? "SHA-1" : expected.length == 32 ? "SHA-256" : null;
        if (alg == null) {
            throw new Refused(0x6A80, "a Load File Data Block hash of " + expected.length + " bytes");
        }
        byte[] actual;
        try {
            actual = MessageDigest.getInstance(alg).digest(block);
        } catch (NoSuchAlgorithmException e) {
            throw new Refused(0x6F00, alg + " is not available: " + e);
        }
        if (!MessageDigest.isEqual(actual, expected)) {
            throw new Refused(0x6A80, "Load File Data Block hash mismatch: INSTALL [for load] gave " + Hex.of(expected) + ", the block hashes to " + Hex.of(actual));
        }
    }

    private static void readHeader(Cursor c, Result r, byte[] announcedAid) throws Refused {
        long magic = (long) c.u2("magic") << 16 | c.u2("magic");
        if (magic != 0xDECAFFEDL) {
            throw new Refused(0x6A80, String.format("Header magic is %08X, a CAP Header starts with DECAFFED", magic));
        }
        r.capMinor = c.u1("minor_version");
        r.capMajor = c.u1("major_version");
        int flags = c.u1("flags");
        if (r.capMajor != 2 || r.capMinor < 1 || r.capMinor > 3) {
            throw new Refused(0x6A80, "CAP format " + r.capMajor + "." + r.capMinor + " (2.1 to 2.3 are read)");
        }
        if ((flags & 0x08) != 0) {
            throw new Refused(0x6A80, "an extended CAP file (CAP 2.3 ACC_EXTENDED): the harness reads compact CAP files");
        }
        r.minor = c.u1("package minor_version");
        r.major = c.u1("package major_version");
        r.aid = c.aid("package AID");
        if (!java.util.Arrays.equals(r.aid, announcedAid)) {
            throw new Refused(0x6A80, "the load file defines " + Hex.of(r.aid) + ", but INSTALL [for load] announced " + Hex.of(announcedAid));
        }
        if (r.capMinor >= 2 && !c.done()) {
            int n = c.u1("package_name length");
            byte[] name = c.take(n, "package_name");
            String internal = new String(name, StandardCharsets.UTF_8);
            if (!internal.isEmpty()) {
                r.name = internal.replace('/', '.');
            }
        }
        if (!c.done()) {
            throw new Refused(0x6A80, "Header component: " + c.left() + " byte(s) after its last field");
        }
    }

    private static void readApplet(Cursor c, Result r) throws Refused {
        int count = c.u1("Applet count");
        if (count == 0) {
            throw new Refused(0x6A80, "Applet component with no applet");
        }
        for (int i = 0; i < count; i++) {
            r.applets.add(c.aid("applet AID"));
            c.u2("install_method_offset");
        }
        if (!c.done()) {
            throw new Refused(0x6A80, "Applet component: " + c.left() + " byte(s) after its last applet");
        }
    }

    private static void readImport(Cursor c, Result r) throws Refused {
        int count = c.u1("Import count");
        for (int i = 0; i < count; i++) {
            c.u1("minor_version");
            c.u1("major_version");
            r.imports.add(c.aid("imported package AID"));
        }
        if (!c.done()) {
            throw new Refused(0x6A80, "Import component: " + c.left() + " byte(s) after its last package");
        }
    }

    /** Reads one component's body; every overrun is a refusal naming the field. */
    private static final class Cursor {
        final byte[] b;
        int p;
        final int end;
        final int tag;

        Cursor(byte[] b, int off, int len, int tag) {
            this.b = b;
            this.p = off;
            this.end = off + len;
            this.tag = tag;
        }

        boolean done() {
            return p >= end;
        }

        int left() {
            return end - p;
        }

        byte[] take(int n, String what) throws Refused {
            if (n > end - p) {
                throw new Refused(0x6A80, "component " + tag + " ends inside " + what);
            }
            byte[] out = java.util.Arrays.copyOfRange(b, p, p + n);
            p += n;
            return out;
        }

        int u1(String what) throws Refused {
            return take(1, what)[0] & 0xFF;
        }

        int u2(String what) throws Refused {
            byte[] t = take(2, what);
            return (t[0] & 0xFF) << 8 | (t[1] & 0xFF);
        }

        byte[] aid(String what) throws Refused {
            int n = u1(what + " length");
            if (n < 5 || n > 16) {
                throw new Refused(0x6A80, "component " + tag + ": " + what + " of " + n + " bytes (5 to 16)");
            }
            return take(n, what);
        }
    }
}
