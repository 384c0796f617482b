package jct.harness;

/** Hexadecimal text for AIDs, keys on the command line and log lines. */
final class Hex {
    private Hex() {}

    static String of(byte[] b) {
        return b == null ? "" : of(b, 0, b.length);
    }

    static String of(byte[] b, int off, int len) {
        StringBuilder s = new StringBuilder(len * 2);
        for (int i = off; i < off + len; i++) {
            s.append(String.format("%02X", b[i] & 0xFF));
        }
        return s.toString();
    }

    /** Parses hex (spaces allowed); throws IllegalArgumentException naming the text. */
    static byte[] parse(String text) {
        String t = text.replace(" ", "");
        if (t.length() % 2 != 0) {
            throw new IllegalArgumentException("odd number of hex digits in '" + text + "'");
        }
        byte[] out = new byte[t.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = Character.digit(t.charAt(2 * i), 16);
            int lo = Character.digit(t.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not hex: '" + text + "'");
            }
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }
}
