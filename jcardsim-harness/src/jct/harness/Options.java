package jct.harness;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The command line (see USAGE). Bad options are an IllegalArgumentException naming them. */
final class Options {
    static final String USAGE = String.join("\n",
            "usage: jcardsim-harness (--listen HOST:PORT | --vpcd HOST:PORT) --classes DIR|JAR [--classes ...] [options]",
            "  --listen HOST:PORT     serve jct's vpcd framing as a card (port 0: any free port; the bound",
            "                         address is printed on stdout as 'listening HOST:PORT')",
            "  --vpcd HOST:PORT       connect to pcscd's vpcd driver (default port 35963), as `jct emu --vpcd`",
            "  --once                 with --listen: exit when the first connection ends",
            "  --classes DIR|JAR      applet classes (the secure-channel applet's and those of the packages to load)",
            "  --state FILE           persistent state (registry, applet objects, keys, counter); created if absent",
            "  --applet AID=CLASS     the class of an applet AID (when its package has several applet classes)",
            "  --package AID=NAME     the Java package of a load file AID (CAP 2.1 Headers carry no name)",
            "  --isd AID              ISD AID (default A000000151000000)",
            "  --isd-class CLASS      the secure-channel applet class serving the ISD",
            "  --key HEX              initial ENC, MAC and DEK key (default: the GP test key 40..4F)",
            "  --key-enc/--key-mac/--key-dek HEX   one initial key each",
            "  --key-ver N            key version number of the initial key set (default 0x30)",
            "  --scp-i HEX            SCP03 i parameter: 00, 10 or 70 (default 70)",
            "  --kdd HEX              10 bytes of key diversification data (default: made up at creation)",
            "  --max-auth-failures N  failed authentications that block the key set (default 10)",
            "  --random HEX           test hook: the next random bytes the applets draw are HEX, in order",
            "  --log FILE             log there instead of stderr",
            "  -v                     log every APDU",
            "The ISD options apply when the card is created; a restored --state keeps its own.");

    static final byte[] TEST_KEY = Hex.parse("404142434445464748494A4B4C4D4E4F");

    String listen;
    String vpcd;
    boolean once;
    List<String> classes = new ArrayList<>();
    Path state;
    Map<String, String> appletClasses = new LinkedHashMap<>();
    Map<String, String> packageNames = new LinkedHashMap<>();
    byte[] isd = Hex.parse("A000000151000000");
    String isdClass = "com.jct.securechannel.SecureChannelApplet";
    byte[] keyEnc = TEST_KEY;
    byte[] keyMac = TEST_KEY;
    byte[] keyDek = TEST_KEY;
    int keyVersion = 0x30;
    int scpI = 0x70;
    byte[] kdd;
    int maxAuthFailures = 10;
    String log;
    boolean verbose;
    byte[] random;

    static Options parse(String[] args) {
        Options o = new Options();
        for (int k = 0; k < args.length; k++) {
            String a = args[k];
            if (a.equals("--once")) {
                o.once = true;
                continue;
            }
            if (a.equals("-v") || a.equals("--verbose")) {
                o.verbose = true;
                continue;
            }
            if (a.equals("-h") || a.equals("--help")) {
                throw new IllegalArgumentException(USAGE);
            }
            if (k + 1 >= args.length) {
                throw new IllegalArgumentException(a.startsWith("-") ? a + " needs a value" : "unexpected argument " + a);
            }
            String v = args[++k];
            switch (a) {
                case "--listen": o.listen = v; break;
                case "--vpcd": o.vpcd = v; break;
                case "--classes": o.classes.add(v); break;
                case "--state": o.state = Paths.get(v); break;
                case "--applet": pair(a, v, o.appletClasses); break;
                case "--package": pair(a, v, o.packageNames); break;
                case "--isd": o.isd = aid(a, v); break;
                case "--isd-class": o.isdClass = v; break;
                case "--key": o.keyEnc = o.keyMac = o.keyDek = key(a, v); break;
                case "--key-enc": o.keyEnc = key(a, v); break;
                case "--key-mac": o.keyMac = key(a, v); break;
                case "--key-dek": o.keyDek = key(a, v); break;
                case "--key-ver": o.keyVersion = number(a, v, 1, 0x7F); break;
                case "--scp-i": o.scpI = Integer.parseInt(v, 16); break;
                case "--kdd": o.kdd = bytes(a, v, 10); break;
                case "--max-auth-failures": o.maxAuthFailures = number(a, v, 1, 0xFF); break;
                case "--log": o.log = v; break;
                case "--random": o.random = Hex.parse(v); break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if ((o.listen == null) == (o.vpcd == null)) {
            throw new IllegalArgumentException("give exactly one of --listen HOST:PORT and --vpcd HOST:PORT");
        }
        if (o.classes.isEmpty()) {
            throw new IllegalArgumentException("--classes is needed (at least the secure-channel applet's classes)");
        }
        if (o.scpI != 0x00 && o.scpI != 0x10 && o.scpI != 0x70) {
            throw new IllegalArgumentException("--scp-i " + Integer.toHexString(o.scpI) + ": 00, 10 or 70");
        }
        if (o.keyEnc.length != o.keyMac.length || o.keyMac.length != o.keyDek.length) {
            throw new IllegalArgumentException("the ENC, MAC and DEK keys must have the same length");
        }
        return o;
    }

    private static void pair(String opt, String v, Map<String, String> into) {
        int eq = v.indexOf('=');
        if (eq < 0) {
            throw new IllegalArgumentException(opt + " " + v + ": AID=NAME expected");
        }
        into.put(Hex.of(aid(opt, v.substring(0, eq))), v.substring(eq + 1));
    }

    private static byte[] aid(String opt, String v) {
        byte[] b = Hex.parse(v);
        if (b.length < 5 || b.length > 16) {
            throw new IllegalArgumentException(opt + " " + v + ": an AID has 5 to 16 bytes");
        }
        return b;
    }

    private static byte[] key(String opt, String v) {
        byte[] b = Hex.parse(v);
        if (b.length != 16 && b.length != 24 && b.length != 32) {
            throw new IllegalArgumentException(opt + ": an AES key has 16, 24 or 32 bytes, not " + b.length);
        }
        return b;
    }

    private static byte[] bytes(String opt, String v, int n) {
        byte[] b = Hex.parse(v);
        if (b.length != n) {
            throw new IllegalArgumentException(opt + ": " + n + " bytes expected, not " + b.length);
        }
        return b;
    }

    private static int number(String opt, String v, int min, int max) {
        int n;
        try {
            n = v.startsWith("0x") ? Integer.parseInt(v.substring(2), 16) : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + " " + v + ": not a number");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(opt + " " + v + ": " + min + " to " + max);
        }
        return n;
    }
}
