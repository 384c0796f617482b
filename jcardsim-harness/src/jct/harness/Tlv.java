package jct.harness;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * BER-TLV as GlobalPlatform uses it: tags of one or two bytes (the second
 * when the low five bits of the first are all set), definite lengths up to
 * three bytes. Parsing never trusts a length: a value running past its
 * container is an error, so malformed command data becomes a status word.
 */
final class Tlv {
    final int tag;
    final byte[] value;
    /** Offset of the whole object (tag included) in the parsed buffer. */
    final int start;

    Tlv(int tag, byte[] value, int start) {
        this.tag = tag;
        this.value = value;
        this.start = start;
    }

    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message);
        }
    }

    static List<Tlv> parse(byte[] data, int off, int len) throws Malformed {
        List<Tlv> out = new ArrayList<>();
        int p = off;
        int end = off + len;
        while (p < end) {
            int start = p;
            int tag = data[p++] & 0xFF;
            if ((tag & 0x1F) == 0x1F) {
                if (p >= end) {
                    throw new Malformed("tag truncated at offset " + (start - off));
                }
                tag = tag << 8 | (data[p++] & 0xFF);
            }
            if (p >= end) {
                throw new Malformed("length of tag " + Integer.toHexString(tag).toUpperCase() + " missing");
            }
            int l = data[p++] & 0xFF;
            if (l > 0x80) {
                int n = l - 0x80;
                if (n > 3 || p + n > end) {
                    throw new Malformed("bad length field for tag " + Integer.toHexString(tag).toUpperCase());
                }
                l = 0;
                for (int i = 0; i < n; i++) {
                    l = l << 8 | (data[p++] & 0xFF);
                }
            } else if (l == 0x80) {
                throw new Malformed("indefinite length");
            }
            if (l > end - p) {
                throw new Malformed("value of tag " + Integer.toHexString(tag).toUpperCase() + " runs past the data");
            }
            byte[] v = new byte[l];
            System.arraycopy(data, p, v, 0, l);
            p += l;
            out.add(new Tlv(tag, v, start));
        }
        return out;
    }

    static List<Tlv> parse(byte[] data) throws Malformed {
        return parse(data, 0, data.length);
    }

    static byte[] find(List<Tlv> tlvs, int tag) {
        for (Tlv t : tlvs) {
            if (t.tag == tag) {
                return t.value;
            }
        }
        return null;
    }

    /** Encodes one object; tags above 0xFF take two bytes. */
    static byte[] encode(int tag, byte[]... parts) {
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            v.write(p, 0, p.length);
        }
        byte[] value = v.toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (tag > 0xFF) {
            out.write(tag >> 8);
        }
        out.write(tag & 0xFF);
        int l = value.length;
        if (l < 0x80) {
            out.write(l);
        } else if (l <= 0xFF) {
            out.write(0x81);
            out.write(l);
        } else {
            out.write(0x82);
            out.write(l >> 8);
            out.write(l & 0xFF);
        }
        out.write(value, 0, value.length);
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }
}
