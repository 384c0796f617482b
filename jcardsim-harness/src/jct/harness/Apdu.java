package jct.harness;

/**
 * A command APDU split into its fields (ISO/IEC 7816-3 cases 1 to 4, short
 * and extended). The harness parses every command it acts on itself, so a
 * malformed one is refused with 6700 rather than misread.
 */
final class Apdu {
    final int cla;
    final int ins;
    final int p1;
    final int p2;
    final byte[] data;

    private Apdu(byte[] raw, byte[] data) {
        cla = raw[0] & 0xFF;
        ins = raw[1] & 0xFF;
        p1 = raw[2] & 0xFF;
        p2 = raw[3] & 0xFF;
        this.data = data;
    }

    static final class BadLength extends Exception {
        BadLength(String message) {
            super(message);
        }
    }

    static Apdu parse(byte[] raw) throws BadLength {
        if (raw.length < 4) {
            throw new BadLength("an APDU of " + raw.length + " bytes (the header alone has 4)");
        }
        int n = raw.length - 4;
        if (n <= 1) {
            return new Apdu(raw, new byte[0]);
        }
        int b = raw[4] & 0xFF;
        if (b != 0) {
            if (n == 1 + b || n == 2 + b) {
                return new Apdu(raw, java.util.Arrays.copyOfRange(raw, 5, 5 + b));
            }
            throw new BadLength("Lc " + b + " does not match the " + (n - 1) + " bytes after it");
        }
        if (n == 3) {
            return new Apdu(raw, new byte[0]); // extended Le only
        }
        if (n < 3) {
            throw new BadLength("a truncated extended length");
        }
        int lc = (raw[5] & 0xFF) << 8 | (raw[6] & 0xFF);
        if (lc == 0 || (n != 3 + lc && n != 5 + lc)) {
            throw new BadLength("extended Lc " + lc + " does not match the " + (n - 3) + " bytes after it");
        }
        return new Apdu(raw, java.util.Arrays.copyOfRange(raw, 7, 7 + lc));
    }

    /** A case 4 command with extended Lc and Le 0000 (at most 65536 bytes back). */
    static byte[] extended(int cla, int ins, int p1, int p2, byte[] data) {
        byte[] out = new byte[4 + 3 + data.length + 2];
        out[0] = (byte) cla;
        out[1] = (byte) ins;
        out[2] = (byte) p1;
        out[3] = (byte) p2;
        out[4] = 0;
        out[5] = (byte) (data.length >> 8);
        out[6] = (byte) data.length;
        System.arraycopy(data, 0, out, 7, data.length);
        return out;
    }

    /** A short case 3/4 command. */
    static byte[] shortCommand(int cla, int ins, int p1, int p2, byte[] data, boolean withLe) {
        byte[] out = new byte[5 + data.length + (withLe ? 1 : 0)];
        out[0] = (byte) cla;
        out[1] = (byte) ins;
        out[2] = (byte) p1;
        out[3] = (byte) p2;
        out[4] = (byte) data.length;
        System.arraycopy(data, 0, out, 5, data.length);
        return out;
    }

    static byte[] sw(int sw) {
        return new byte[] {(byte) (sw >> 8), (byte) sw};
    }

    static byte[] withSw(byte[] data, int sw) {
        byte[] out = java.util.Arrays.copyOf(data, data.length + 2);
        out[data.length] = (byte) (sw >> 8);
        out[data.length + 1] = (byte) sw;
        return out;
    }

    static int swOf(byte[] response) {
        int n = response.length;
        return n < 2 ? 0x6F00 : (response[n - 2] & 0xFF) << 8 | (response[n - 1] & 0xFF);
    }
}
