package jct.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javacard.framework.AID;
import javacard.framework.Applet;
import javacard.framework.ISOException;

/**
 * The card: jCardSim's runtime holding the applets, the ISD front served by
 * the secure-channel applet, and the card manager that acts on the commands
 * the front has verified and unwrapped.
 *
 * While the ISD is selected every command goes to the secure-channel
 * applet as an ENVELOPE (80 E0). It either answers the command itself
 * (00 || response || SW: INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, PUT KEY,
 * GET DATA E0, or a refusal such as 6982 for a bad MAC), or hands back the
 * plain command with the session's security level (01 || level || APDU);
 * then the card manager executes it and the response goes back through
 * WRAP (80 E2) for R-MAC/R-ENC. The card manager never sees a command the
 * applet did not accept, and the harness holds no key.
 *
 * After SELECT of an installed instance, APDUs go to it in jCardSim
 * unchanged; SELECT of the ISD selects the front again (its session is
 * lost, as deselection ends it on a card). Logical channel 0 only.
 */
final class Card {
    /** jCardSim's default ATR: the card is jCardSim, the host may know it. */
    static final byte[] ATR = Hex.parse("3BFA1800008131FE454A434F5033315632333298");
    /** GET STATUS response data per page: 256 less R-ENC padding and an R-MAC. */
    private static final int PAGE = 232;
    private static final byte[] GP_OID = {0x2A, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xFC, 0x6B};
    /** Privilege byte 1, bit 3: Card Reset (the default selected application). */
    private static final int CARD_RESET = 0x04;
    private static final byte[] JAVA_CARD_OID = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x6E, 0x01};

    private enum Selection { FRONT, APPLET, NONE }

    private final Options opt;
    private final Classes classes;
    private final Store store;
    private final HarnessRuntime rt = HarnessRuntime.create();
    Registry reg;
    private Selection selection = Selection.FRONT;
    private byte[] selectedAid;
    private LoadSequence load;
    private Paging paging;
    private List<Class<?>> staticClasses = new ArrayList<>();
    private Snapshot.Writer writer;
    /** --random: null unless a test fixes the applets' random bytes. */
    private final FixedRandom fixedRandom;

    private static final class LoadSequence {
        byte[] aid;
        byte[] hash;
        int next;
        ByteArrayOutputStream received = new ByteArrayOutputStream();
    }

    private static final class Paging {
        int p1;
        boolean e3;
        byte[] criteria;
        int next;
    }

    /** A refusal: the status word and the log line saying why. */
    static final class Fail extends Exception {
        final int sw;

        Fail(int sw, String why) {
            super(why);
            this.sw = sw;
        }
    }

    private Card(Options opt) {
        this.opt = opt;
        this.classes = new Classes(opt.classes, opt.appletClasses, opt.packageNames);
        this.store = opt.state == null ? null : new Store(opt.state);
        this.fixedRandom = opt.random == null ? null : new FixedRandom(opt.random);
    }

    /** Restores the card from --state, or makes a new one (installing the ISD applet). */
    static Card open(Options opt) throws Exception {
        Card card = new Card(opt);
        if (card.store != null && Files.exists(opt.state)) {
            card.restore(card.store.read());
            card.persist();
            Log.info("state restored from " + opt.state + ": " + card.reg.packages.size() + " load file(s), " + card.reg.instances.size() + " instance(s)");
        } else {
            card.fresh();
        }
        card.powerOn();
        return card;
    }

    // ---- set-up and persistence ------------------------------------------------

    private void fresh() throws Exception {
        reg = new Registry();
        reg.isd = opt.isd;
        reg.scpI = opt.scpI;
        reg.frontClass = opt.isdClass;
        if (opt.kdd != null) {
            reg.kdd = opt.kdd;
        } else {
            byte[] serial = new byte[4];
            new java.security.SecureRandom().nextBytes(serial);
            reg.kdd = Tlv.concat(new byte[] {0x4A, 0x43, 0x00, 0x01}, serial, new byte[] {0x00, 0x01});
        }
        Class<? extends Applet> front;
        try {
            front = classes.named(opt.isdClass);
        } catch (Classes.NotFound e) {
            throw new IllegalArgumentException("the ISD applet: " + e.getMessage() + " (pass the secure-channel applet's classes with --classes, its class with --isd-class)");
        }
        byte[] c9 = Tlv.concat(
                Tlv.encode(0x80, new byte[] {(byte) opt.keyVersion}),
                Tlv.encode(0x81, opt.keyEnc),
                Tlv.encode(0x82, opt.keyMac),
                Tlv.encode(0x83, opt.keyDek),
                Tlv.encode(0x84, new byte[] {(byte) opt.scpI}),
                Tlv.encode(0x85, new byte[] {(byte) opt.maxAuthFailures}),
                Tlv.encode(0x86, new byte[] {0x01}),
                Tlv.encode(0x87, reg.kdd));
        try {
            createInstance(opt.isd, opt.isd, opt.isd, front, Registry.ISD_PRIVILEGES, c9);
        } catch (Fail f) {
            String hint = opt.keyEnc.length == 32
                    ? " (three AES-256 keys and the other parameters do not fit: start with AES-128 or AES-192 keys and replace them with `jct put-key`)"
                    : "";
            throw new IllegalStateException("installing the ISD applet " + opt.isdClass + " failed with " + String.format("%04X", f.sw) + ": " + f.getMessage() + hint);
        }
        instancesChanged();
        listIsdPackage();
        Log.info("new card: ISD " + Hex.of(opt.isd) + " served by " + opt.isdClass + ", SCP03 i=" + String.format("%02X", opt.scpI)
                + ", key version " + String.format("%02X", opt.keyVersion));
        persist();
    }

    /** The Java package of the class serving the ISD. */
    private String isdPackageName() {
        int dot = reg.frontClass.lastIndexOf('.');
        return dot < 0 ? "" : reg.frontClass.substring(0, dot);
    }

    /**
     * The ISD applet's package is on the card from the start, as a real
     * card's ISD code is: GET STATUS lists it among the load files (so a
     * package importing it, a Shareable service, passes jct's check before
     * LOAD), and DELETE refuses it. Its AID comes from the jct.toml beside
     * --classes (or --package AID=NAME); also done for a state file of an
     * older harness that did not list it.
     */
    private void listIsdPackage() {
        String name = isdPackageName();
        for (Registry.Pkg p : reg.packages) {
            if (name.equals(p.name)) {
                return;
            }
        }
        Registry.Pkg own = classes.builtIn(name, reg.isd);
        if (own == null) {
            Log.info("the ISD applet's package " + name + " has no AID (no jct.toml beside --classes names it; give --package AID=" + name
                    + "): GET STATUS does not list it");
            return;
        }
        reg.packages.add(own);
        Log.info("ISD package " + Hex.of(own.aid) + " " + own.major + "." + own.minor + " (" + name + ") listed");
    }

    private void restore(byte[] file) {
        Snapshot s = Snapshot.decode(Snapshot.reader(classes.loader, rt.transients), file);
        reg = s.registry;
        for (int i = 0; i < s.aids.size(); i++) {
            byte[] aid = s.aids.get(i);
            rt.restore(new AID(aid, (short) 0, (byte) aid.length), (Applet) s.applets.get(i));
        }
        s.restoreStatics(classes.loader);
        instancesChanged();
        listIsdPackage();
    }

    /** The classes whose static fields are persistent: those of every package with an instance. */
    private void instancesChanged() {
        Set<String> pkgs = new LinkedHashSet<>();
        for (AID aid : rt.instances().keySet()) {
            Applet a = rt.applet(aid);
            if (a != null && a.getClass().getPackage() != null) {
                pkgs.add(a.getClass().getPackage().getName());
            }
        }
        List<Class<?>> out = new ArrayList<>();
        for (String p : pkgs) {
            out.addAll(classes.load(p));
        }
        staticClasses = out;
    }

    private Snapshot snapshot() {
        Snapshot s = new Snapshot();
        s.registry = reg;
        for (AID aid : rt.instances().keySet()) {
            s.aids.add(bytes(aid));
            s.applets.add(rt.applet(aid));
        }
        s.statics = Snapshot.staticsOf(staticClasses);
        return s;
    }

    /** Writes the state file when the card's persistent memory changed. */
    private void persist() {
        // Without a state file the walk still runs for --random, which
        // meets the applets' RandomData objects through it.
        if (store == null && fixedRandom == null) {
            return;
        }
        try {
            if (writer == null) {
                writer = new Snapshot.Writer(classes.loader, rt.transients, fixedRandom);
            }
            byte[] state = writer.encode(snapshot());
            if (store != null) {
                store.save(state);
            }
        } catch (IOException | RuntimeException e) {
            Log.info("cannot write the state file " + opt.state + ": " + e);
        }
    }

    static byte[] bytes(AID aid) {
        byte[] b = new byte[16];
        int n = aid.getBytes(b, (short) 0);
        return Arrays.copyOf(b, n);
    }

    static AID aid(byte[] b) {
        return new AID(b, (short) 0, (byte) b.length);
    }

    // ---- the reader's control codes --------------------------------------------

    /**
     * Power on or warm reset: RAM is lost, and the application with the
     * Card Reset privilege (GP: the default selected one, `jct install
     * --default`) is selected implicitly, else the ISD.
     */
    void powerOn() {
        load = null;
        paging = null;
        try {
            rt.reset();
        } catch (RuntimeException e) {
            Log.info("jCardSim reset: " + e);
        }
        if (!reg.cardLocked()) {
            for (Registry.Inst i : reg.instances) {
                boolean selectable = (i.lifeCycle & 0x07) == 0x07 && (i.lifeCycle & Registry.APP_LOCKED_BIT) == 0;
                if (selectable && (i.privileges[0] & CARD_RESET) != 0) {
                    byte[] r = send(Apdu.shortCommand(0x00, 0xA4, 0x04, 0x00, i.aid, true));
                    if (Apdu.swOf(r) == 0x9000) {
                        selection = Selection.APPLET;
                        selectedAid = i.aid;
                        return;
                    }
                    Log.refused(Apdu.swOf(r), "the default selected application " + Hex.of(i.aid) + " refused selection; the ISD is selected");
                }
            }
        }
        selectFront();
    }

    void powerOff() {
        load = null;
        paging = null;
        try {
            rt.reset();
        } catch (RuntimeException e) {
            Log.info("jCardSim reset: " + e);
        }
        selection = Selection.NONE;
    }

    private byte[] selectFront() {
        byte[] r = send(Apdu.shortCommand(0x00, 0xA4, 0x04, 0x00, reg.isd, true));
        if (Apdu.swOf(r) == 0x9000) {
            selection = Selection.FRONT;
        } else {
            Log.refused(Apdu.swOf(r), "the ISD applet refused selection");
            selection = Selection.NONE;
        }
        return r;
    }

    private byte[] send(byte[] apdu) {
        try {
            return rt.transmitCommand(apdu);
        } catch (ISOException e) {
            return Apdu.sw(e.getReason());
        } catch (RuntimeException | LinkageError e) {
            Log.refused(0x6F00, "jCardSim failed on " + Hex.of(apdu) + ": " + e);
            return Apdu.sw(0x6F00);
        }
    }

    // ---- APDUs -------------------------------------------------------------------

    /** One command from the reader; never throws (a failure is a status word and a log line). */
    byte[] process(byte[] raw) {
        byte[] r;
        try {
            r = dispatch(raw);
        } catch (Fail f) {
            Log.refused(f.sw, f.getMessage());
            r = Apdu.sw(f.sw);
        } catch (RuntimeException | LinkageError | StackOverflowError e) {
            Log.refused(0x6F00, "internal error on " + Hex.of(raw) + ": " + e);
            r = Apdu.sw(0x6F00);
        }
        persist();
        Log.debug(">> " + Hex.of(raw) + "\n<< " + Hex.of(r));
        return r;
    }

    private byte[] dispatch(byte[] raw) throws Fail {
        if (raw.length < 4) {
            throw new Fail(0x6700, "an APDU of " + raw.length + " bytes");
        }
        int cla = raw[0] & 0xFF;
        int ins = raw[1] & 0xFF;
        if (cla == 0xFF) {
            throw new Fail(0x6E00, "CLA FF is not a valid class");
        }
        int channel = (cla & 0x40) != 0 ? 4 + (cla & 0x0F) : cla & 0x03;
        if (channel != 0 || ins == 0x70) {
            throw new Fail(0x6881, "logical channel " + channel + (ins == 0x70 ? " (MANAGE CHANNEL)" : "") + ": only the basic channel 0 is supported");
        }
        if (cla == 0x00 && ins == 0xA4 && (raw[2] & 0xFF) == 0x04) {
            return select(raw);
        }
        switch (selection) {
            case FRONT:
                return front(raw);
            case APPLET:
                return send(raw);
            default:
                throw new Fail(0x6985, "no application is selected");
        }
    }

    private byte[] select(byte[] raw) throws Fail {
        Apdu a = parse(raw);
        load = null;
        paging = null;
        byte[] wanted = a.data;
        if (wanted.length > 16) {
            throw new Fail(0x6A80, "SELECT of an AID of " + wanted.length + " bytes");
        }
        int occurrence = a.p2 & 0x03;
        int response = a.p2 & 0x0C;
        if ((a.p2 & 0xF0) != 0 || (occurrence != 0 && occurrence != 0x02) || (response != 0 && response != 0x0C)) {
            throw new Fail(0x6A86, String.format("SELECT P2 %02X is not supported", a.p2));
        }
        List<byte[]> candidates = new ArrayList<>();
        candidates.add(reg.isd);
        if (!reg.cardLocked()) {
            for (Registry.Inst i : reg.instances) {
                if ((i.lifeCycle & 0x07) == 0x07 && (i.lifeCycle & Registry.APP_LOCKED_BIT) == 0) {
                    candidates.add(i.aid);
                }
            }
        }
        int start = 0;
        if (occurrence == 0x02) {
            byte[] current = selection == Selection.FRONT ? reg.isd : selection == Selection.APPLET ? selectedAid : null;
            for (int k = 0; current != null && k < candidates.size(); k++) {
                if (Arrays.equals(candidates.get(k), current)) {
                    start = k + 1;
                }
            }
        }
        byte[] found = null;
        for (int k = start; k < candidates.size(); k++) {
            byte[] c = candidates.get(k);
            if (c.length >= wanted.length && Arrays.equals(Arrays.copyOf(c, wanted.length), wanted)) {
                found = c;
                break;
            }
        }
        if (found == null) {
            throw new Fail(0x6A82, "no selectable application matches " + Hex.of(wanted));
        }
        if (Arrays.equals(found, reg.isd)) {
            byte[] r = selectFront();
            if (Apdu.swOf(r) == 0x9000 && r.length == 2 && response == 0) {
                return Apdu.withSw(fci(), 0x9000);
            }
            return r;
        }
        byte[] r = send(Apdu.shortCommand(0x00, 0xA4, 0x04, a.p2, found, true));
        int sw = Apdu.swOf(r);
        if (sw == 0x9000 || (sw & 0xFF00) == 0x6100) {
            selection = Selection.APPLET;
            selectedAid = found;
        } else {
            Log.refused(sw, "applet " + Hex.of(found) + " refused selection");
            selection = Selection.NONE;
        }
        return r;
    }

    private static Apdu parse(byte[] raw) throws Fail {
        try {
            return Apdu.parse(raw);
        } catch (Apdu.BadLength e) {
            throw new Fail(0x6700, e.getMessage());
        }
    }

    /** A command to the ISD: through the secure-channel applet (see the class comment). */
    private byte[] front(byte[] raw) throws Fail {
        LoadSequence pending = load;
        load = null;
        Paging pages = paging;
        paging = null;
        byte[] r = send(Apdu.extended(0x80, 0xE0, 0x00, 0x00, raw));
        int sw = Apdu.swOf(r);
        if (sw != 0x9000) {
            Log.refused(sw, "the ISD applet refused the ENVELOPE of " + Hex.of(raw, 0, 4));
            return r;
        }
        int n = r.length - 2;
        if (n >= 3 && r[0] == 0x00) {
            byte[] answer = Arrays.copyOfRange(r, 1, n);
            int asw = Apdu.swOf(answer);
            if (asw != 0x9000 && (asw & 0xFF00) != 0x6100) {
                Log.refused(asw, "the ISD applet answered " + Hex.of(raw, 0, 4) + " itself");
            }
            return answer;
        }
        if (n >= 6 && r[0] == 0x01) {
            int level = r[1] & 0xFF;
            byte[] plain = Arrays.copyOfRange(r, 2, n);
            load = pending;
            paging = pages;
            byte[] result;
            try {
                result = execute(level, plain);
            } catch (Fail f) {
                Log.refused(f.sw, f.getMessage());
                result = Apdu.sw(f.sw);
            }
            if ((plain[1] & 0xFF) != 0xE8) {
                load = load == pending ? null : load;
            }
            if ((plain[1] & 0xFF) != 0xF2) {
                paging = null;
            }
            byte[] w = send(Apdu.extended(0x80, 0xE2, 0x00, 0x00, result));
            int wsw = Apdu.swOf(w);
            if (wsw != 0x9000) {
                Log.refused(wsw, "the ISD applet refused to WRAP the response to " + Hex.of(plain, 0, 4));
                return w;
            }
            return Arrays.copyOf(w, w.length - 2);
        }
        throw new Fail(0x6F00, "the ISD applet's ENVELOPE response " + Hex.of(r) + " is neither 00||response||SW nor 01||level||APDU");
    }

    // ---- the card manager ----------------------------------------------------------

    private byte[] execute(int level, byte[] raw) throws Fail {
        Apdu a = parse(raw);
        int cls = a.cla & ~0x07;
        String name;
        boolean management;
        switch (a.ins) {
            case 0xE6: name = "INSTALL"; management = true; break;
            case 0xE8: name = "LOAD"; management = true; break;
            case 0xE4: name = "DELETE"; management = true; break;
            case 0xF0: name = "SET STATUS"; management = true; break;
            case 0xF2: name = "GET STATUS"; management = false; break;
            case 0xCA: name = "GET DATA"; management = false; break;
            case 0xA4: throw new Fail(0x6882, "SELECT with secure messaging is not supported");
            default: throw new Fail(0x6D00, String.format("the ISD has no instruction %02X", a.ins));
        }
        if (reg.lifeCycle == Registry.TERMINATED && a.ins != 0xCA) {
            throw new Fail(0x6985, "the card is TERMINATED: it answers GET DATA only");
        }
        if (management && (level & 0x01) == 0) {
            throw new Fail(0x6982, name + " needs a secure channel with C-MAC (level 01 or above); the session has " + String.format("%02X", level));
        }
        if (a.ins == 0xCA) {
            if (cls != 0x80 && cls != 0x00) {
                throw new Fail(0x6E00, "GET DATA takes CLA 00 or 80");
            }
            return getData(a);
        }
        if (cls != 0x80) {
            throw new Fail(0x6E00, String.format("%s takes CLA 80 (84 with secure messaging), got %02X", name, a.cla));
        }
        switch (a.ins) {
            case 0xF2:
                if (level == 0) {
                    throw new Fail(0x6982, "GET STATUS needs an authenticated secure channel");
                }
                return getStatus(a);
            case 0xE6:
                requireUnlocked("INSTALL");
                return install(a);
            case 0xE8:
                return loadBlock(a);
            case 0xE4:
                requireUnlocked("DELETE");
                return delete(a);
            default:
                return setStatus(a);
        }
    }

    private void requireUnlocked(String what) throws Fail {
        if (reg.cardLocked()) {
            throw new Fail(0x6985, what + " is refused: the card is " + (reg.lifeCycle == Registry.TERMINATED ? "TERMINATED" : "CARD_LOCKED"));
        }
    }

    private static byte[] ok() {
        return Apdu.sw(0x9000);
    }

    // GET DATA ------------------------------------------------------------------------

    private byte[] getData(Apdu a) throws Fail {
        int tag = a.p1 << 8 | a.p2;
        byte[] data;
        switch (tag) {
            case 0x9F7F: data = cplc(); break;
            case 0x0066: data = Tlv.encode(0x66, Tlv.encode(0x73, recognition())); break;
            case 0x9F65: data = Tlv.encode(0x9F65, new byte[] {(byte) 0xFF}); break;
            case 0x0042: data = Tlv.encode(0x42, "jct".getBytes(java.nio.charset.StandardCharsets.US_ASCII)); break;
            case 0x0045: data = Tlv.encode(0x45, reg.kdd); break;
            default:
                throw new Fail(0x6A88, String.format("GET DATA: the card has no data object %04X", tag));
        }
        return Apdu.withSw(data, 0x9000);
    }

    private static byte[] oid(int tag, byte... arcs) {
        return Tlv.encode(tag, Tlv.encode(0x06, GP_OID, arcs));
    }

    /** Card recognition data (GP 2.3.1 appendix H): the children of tag 73. */
    private byte[] recognition() {
        return Tlv.concat(
                Tlv.encode(0x06, GP_OID, new byte[] {0x01}),
                oid(0x60, (byte) 0x02, (byte) 0x02, (byte) 0x03, (byte) 0x01),
                oid(0x63, (byte) 0x03),
                oid(0x64, (byte) 0x04, (byte) 0x03, (byte) reg.scpI),
                Tlv.encode(0x66, Tlv.encode(0x06, JAVA_CARD_OID, new byte[] {0x03})));
    }

    private byte[] fci() {
        return Tlv.encode(0x6F, Tlv.encode(0x84, reg.isd),
                Tlv.encode(0xA5, Tlv.encode(0x73, recognition()), Tlv.encode(0x9F65, new byte[] {(byte) 0xFF})));
    }

    private byte[] cplc() {
        byte[] v = new byte[42];
        byte[] head = {0x4A, 0x43, 0x00, 0x01, 0x4A, 0x53, 0x50, 0x01, 0x01, 0x00, 0x50, 0x01};
        System.arraycopy(head, 0, v, 0, head.length);
        System.arraycopy(reg.kdd, 4, v, 12, 4);
        v[16] = 0x00;
        v[17] = 0x01;
        return Tlv.encode(0x9F7F, v);
    }

    // GET STATUS ----------------------------------------------------------------------

    private static final class Entry {
        int scope;
        byte[] aid;
        int lifeCycle;
        byte[] privileges;
        byte[] loadFile;
        byte[] version;
        List<byte[]> modules = new ArrayList<>();
        byte[] sd;
    }

    private List<Entry> entries(int p1) {
        List<Entry> out = new ArrayList<>();
        if (p1 == 0x80) {
            Entry e = new Entry();
            e.scope = p1;
            e.aid = reg.isd;
            e.lifeCycle = reg.lifeCycle;
            e.privileges = Registry.ISD_PRIVILEGES;
            out.add(e);
        } else if (p1 == 0x40) {
            for (Registry.Inst i : reg.instances) {
                Entry e = new Entry();
                e.scope = p1;
                e.aid = i.aid;
                e.lifeCycle = i.lifeCycle;
                e.privileges = i.privileges;
                e.loadFile = i.loadFile;
                e.sd = reg.isd;
                out.add(e);
            }
        } else {
            for (Registry.Pkg p : reg.packages) {
                Entry e = new Entry();
                e.scope = p1;
                e.aid = p.aid;
                e.lifeCycle = 0x01;
                e.privileges = new byte[3];
                e.version = new byte[] {(byte) p.major, (byte) p.minor};
                e.sd = p.securityDomain;
                if (p1 == 0x10) {
                    e.modules.addAll(p.applets);
                }
                out.add(e);
            }
        }
        return out;
    }

    private static byte[] e3(Entry e) {
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        v.writeBytes(Tlv.encode(0x4F, e.aid));
        v.writeBytes(Tlv.encode(0x9F70, new byte[] {(byte) e.lifeCycle}));
        if (e.scope == 0x80 || e.scope == 0x40) {
            v.writeBytes(Tlv.encode(0xC5, e.privileges));
        }
        if (e.loadFile != null) {
            v.writeBytes(Tlv.encode(0xC4, e.loadFile));
        }
        if (e.version != null) {
            v.writeBytes(Tlv.encode(0xCE, e.version));
        }
        for (byte[] m : e.modules) {
            v.writeBytes(Tlv.encode(0x84, m));
        }
        if (e.sd != null) {
            v.writeBytes(Tlv.encode(0xCC, e.sd));
        }
        return Tlv.encode(0xE3, v.toByteArray());
    }

    private static byte[] legacy(Entry e) {
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        v.write(e.aid.length);
        v.writeBytes(e.aid);
        v.write(e.lifeCycle);
        v.write(e.privileges[0]);
        if (e.scope == 0x10) {
            v.write(e.modules.size());
            for (byte[] m : e.modules) {
                v.write(m.length);
                v.writeBytes(m);
            }
        }
        return v.toByteArray();
    }

    private byte[] getStatus(Apdu a) throws Fail {
        if (a.p1 != 0x80 && a.p1 != 0x40 && a.p1 != 0x20 && a.p1 != 0x10) {
            throw new Fail(0x6A86, String.format("GET STATUS P1 %02X: 80, 40, 20 or 10 expected", a.p1));
        }
        if ((a.p2 & ~0x03) != 0) {
            throw new Fail(0x6A86, String.format("GET STATUS P2 %02X: 00, 01, 02 or 03 expected", a.p2));
        }
        boolean e3 = (a.p2 & 0x02) != 0;
        byte[] criteria;
        try {
            criteria = Tlv.find(Tlv.parse(a.data), 0x4F);
        } catch (Tlv.Malformed m) {
            throw new Fail(0x6A80, "GET STATUS search criteria: " + m.getMessage());
        }
        if (criteria == null) {
            throw new Fail(0x6A80, "GET STATUS needs search criteria: tag 4F (4F00 for all)");
        }
        int start = 0;
        // An earlier listing's paging is for the next command only.
        Paging p = paging;
        paging = null;
        if ((a.p2 & 0x01) != 0) {
            if (p == null || p.p1 != a.p1 || p.e3 != e3 || !Arrays.equals(p.criteria, criteria)) {
                throw new Fail(0x6985, "GET STATUS 'next occurrence' without a matching earlier GET STATUS that answered 6310");
            }
            start = p.next;
        }
        List<Entry> all = new ArrayList<>();
        for (Entry e : entries(a.p1)) {
            if (e.aid.length >= criteria.length && Arrays.equals(Arrays.copyOf(e.aid, criteria.length), criteria)) {
                all.add(e);
            }
        }
        if (all.isEmpty()) {
            throw new Fail(0x6A88, "GET STATUS: no entry matches");
        }
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int next = start;
        for (int k = start; k < all.size(); k++) {
            byte[] enc = e3 ? e3(all.get(k)) : legacy(all.get(k));
            if (next > start && data.size() + enc.length > PAGE) {
                break;
            }
            data.writeBytes(enc);
            next++;
        }
        if (next < all.size()) {
            Paging more = new Paging();
            more.p1 = a.p1;
            more.e3 = e3;
            more.criteria = criteria;
            more.next = next;
            paging = more;
            return Apdu.withSw(data.toByteArray(), 0x6310);
        }
        return Apdu.withSw(data.toByteArray(), 0x9000);
    }

    // INSTALL and LOAD ----------------------------------------------------------------

    /** Length-value fields of INSTALL data, each a one-byte length. */
    private static final class Fields {
        final byte[] d;
        int p;

        Fields(byte[] d) {
            this.d = d;
        }

        byte[] next(String what) throws Fail {
            if (p >= d.length) {
                throw new Fail(0x6A80, "INSTALL data ends before " + what);
            }
            int n = d[p] & 0xFF;
            if (n > d.length - p - 1) {
                throw new Fail(0x6A80, "INSTALL data: " + what + " of " + n + " bytes runs past the data");
            }
            byte[] out = Arrays.copyOfRange(d, p + 1, p + 1 + n);
            p += 1 + n;
            return out;
        }

        void end() throws Fail {
            if (p != d.length) {
                throw new Fail(0x6A80, "INSTALL data: " + (d.length - p) + " byte(s) after the token field");
            }
        }
    }

    private static void checkAid(byte[] aid, String what) throws Fail {
        if (aid.length < 5 || aid.length > 16) {
            throw new Fail(0x6A80, what + " " + Hex.of(aid) + " has " + aid.length + " bytes; an AID has 5 to 16");
        }
    }

    private byte[] install(Apdu a) throws Fail {
        if (a.p2 != 0x00 && a.p2 != 0x01 && a.p2 != 0x03) {
            throw new Fail(0x6A86, String.format("INSTALL P2 %02X", a.p2));
        }
        switch (a.p1 & 0x7F) {
            case 0x02: return forLoad(a.data);
            case 0x04: return forInstall(a.data, false);
            case 0x0C: return forInstall(a.data, true);
            case 0x08: return makeSelectable(a.data);
            default:
                throw new Fail(0x6A86, String.format("INSTALL P1 %02X is not supported (02 load, 04 install, 08 make selectable, 0C both)", a.p1));
        }
    }

    private byte[] forLoad(byte[] data) throws Fail {
        Fields f = new Fields(data);
        byte[] lf = f.next("the load file AID");
        byte[] sd = f.next("the security domain AID");
        byte[] hash = f.next("the Load File Data Block hash");
        f.next("the load parameters");
        f.next("the load token");
        f.end();
        checkAid(lf, "load file AID");
        if (reg.aidInUse(lf)) {
            throw new Fail(0x6985, "AID " + Hex.of(lf) + " is already on the card");
        }
        if (sd.length != 0 && !Arrays.equals(sd, reg.isd)) {
            throw new Fail(0x6A88, "security domain " + Hex.of(sd) + " is not on the card");
        }
        if (hash.length != 0 && hash.length != 20 && hash.length != 32) {
            throw new Fail(0x6A80, "a Load File Data Block hash of " + hash.length + " bytes (20 or 32 expected)");
        }
        LoadSequence s = new LoadSequence();
        s.aid = lf;
        s.hash = hash;
        load = s;
        return Apdu.withSw(new byte[] {0x00}, 0x9000);
    }

    private byte[] loadBlock(Apdu a) throws Fail {
        LoadSequence s = load;
        load = null;
        if (s == null) {
            throw new Fail(0x6985, "LOAD without a preceding INSTALL [for load]");
        }
        String abandoned = "; the load of " + Hex.of(s.aid) + " is abandoned";
        if (a.p1 != 0x00 && a.p1 != 0x80) {
            throw new Fail(0x6A86, String.format("LOAD P1 %02X: 00 or 80 expected", a.p1) + abandoned);
        }
        if (a.p2 != s.next) {
            throw new Fail(0x6985, String.format("LOAD block %02X out of sequence: block %02X was expected", a.p2, s.next) + abandoned);
        }
        if (a.data.length == 0) {
            throw new Fail(0x6700, "LOAD block without data" + abandoned);
        }
        if (s.received.size() + a.data.length > 1 << 20) {
            throw new Fail(0x6A84, "the load file outgrows 1 MiB" + abandoned);
        }
        s.received.writeBytes(a.data);
        s.next++;
        if (a.p1 == 0x00) {
            if (s.next > 0xFF) {
                throw new Fail(0x6985, "256 LOAD blocks received without a last block" + abandoned);
            }
            load = s;
            return ok();
        }
        LoadFileReader.Result r;
        try {
            r = LoadFileReader.read(s.received.toByteArray(), s.aid, s.hash);
        } catch (LoadFileReader.Refused e) {
            throw new Fail(e.sw, "load of " + Hex.of(s.aid) + " refused: " + e.getMessage());
        }
        for (byte[] imp : r.imports) {
            if (reg.aidInUse(imp) && reg.pkg(imp) == null) {
                throw new Fail(0x6A80, "load of " + Hex.of(s.aid) + " refused: it imports " + Hex.of(imp) + ", which is not a package");
            }
        }
        Registry.Pkg p = new Registry.Pkg();
        p.aid = r.aid;
        p.major = r.major;
        p.minor = r.minor;
        p.name = classes.packageName(r.aid, r.name);
        p.applets.addAll(r.applets);
        p.imports.addAll(r.imports);
        p.securityDomain = reg.isd;
        reg.packages.add(p);
        Log.info("loaded " + Hex.of(p.aid) + " " + p.major + "." + p.minor + " (CAP " + r.capMajor + "." + r.capMinor + ", package "
                + (p.name == null ? "without a name" : p.name) + ", " + p.applets.size() + " applet(s))");
        return Apdu.withSw(new byte[] {0x00}, 0x9000);
    }

    private byte[] forInstall(byte[] data, boolean selectable) throws Fail {
        Fields f = new Fields(data);
        byte[] lf = f.next("the load file AID");
        byte[] module = f.next("the module AID");
        byte[] app = f.next("the application AID");
        byte[] privileges = f.next("the privileges");
        byte[] params = f.next("the install parameters");
        f.next("the install token");
        f.end();
        checkAid(app, "application AID");
        Registry.Pkg p = reg.pkg(lf);
        if (p == null) {
            throw new Fail(0x6A88, "load file " + Hex.of(lf) + " is not on the card");
        }
        boolean known = false;
        for (byte[] m : p.applets) {
            known |= Arrays.equals(m, module);
        }
        if (!known) {
            throw new Fail(0x6A88, "load file " + Hex.of(lf) + " has no applet " + Hex.of(module));
        }
        if (reg.aidInUse(app)) {
            throw new Fail(0x6985, "AID " + Hex.of(app) + " is already on the card");
        }
        if (privileges.length != 1 && privileges.length != 3) {
            throw new Fail(0x6A80, "privileges of " + privileges.length + " bytes (1 or 3)");
        }
        if ((privileges[0] & 0x80) != 0) {
            throw new Fail(0x6A80, "the Security Domain privilege: this card has no supplementary security domains");
        }
        byte[] c9;
        try {
            c9 = Tlv.find(Tlv.parse(params), 0xC9);
        } catch (Tlv.Malformed m) {
            throw new Fail(0x6A80, "install parameters: " + m.getMessage());
        }
        if (c9 == null) {
            throw new Fail(0x6A80, "install parameters lack tag C9 (C9 00 for none)");
        }
        Class<? extends Applet> cls;
        try {
            cls = classes.appletClass(p, module);
        } catch (Classes.NotFound e) {
            throw new Fail(0x6A80, "INSTALL of " + Hex.of(app) + ": " + e.getMessage());
        }
        byte[] privs3 = Arrays.copyOf(privileges, 3);
        createInstance(lf, module, app, cls, privs3, c9);
        Registry.Inst i = new Registry.Inst();
        i.aid = app;
        i.loadFile = lf;
        i.module = module;
        i.privileges = privs3;
        i.lifeCycle = selectable ? Registry.APP_SELECTABLE : Registry.APP_INSTALLED;
        i.className = cls.getName();
        reg.instances.add(i);
        instancesChanged();
        Log.info("installed " + Hex.of(app) + " (" + cls.getName() + ") from " + Hex.of(lf));
        return Apdu.withSw(new byte[] {0x00}, 0x9000);
    }

    /**
     * Runs the applet's install() in jCardSim with the parameters laid out as
     * a Java Card installer does: instance AID, control information (the
     * privileges), application data (the value of C9), each with a length byte.
     */
    private void createInstance(byte[] lf, byte[] module, byte[] app, Class<? extends Applet> cls, byte[] privileges, byte[] c9) throws Fail {
        byte[] b = Tlv.concat(new byte[] {(byte) app.length}, app, new byte[] {(byte) privileges.length}, privileges,
                new byte[] {(byte) c9.length}, c9);
        if (b.length > 0x7F) {
            throw new Fail(0x6A80, "install data of " + b.length + " bytes (AID, privileges, C9): Java Card's install(byte[], short, byte) takes 127 at most");
        }
        AID instance = aid(app);
        try {
            rt.declare(aid(lf), aid(module), cls);
            rt.install(instance, cls, b, (short) 0, (byte) b.length);
        } catch (ISOException e) {
            rt.delete(instance);
            throw new Fail(e.getReason(), cls.getName() + ".install() threw ISOException " + String.format("%04X", e.getReason() & 0xFFFF));
        } catch (javacard.framework.CardRuntimeException e) {
            rt.delete(instance);
            throw new Fail(0x6A80, cls.getName() + ".install() threw " + e.getClass().getSimpleName() + " reason " + String.format("%04X", e.getReason() & 0xFFFF));
        } catch (Throwable e) {
            rt.delete(instance);
            throw new Fail(0x6A80, cls.getName() + ".install() failed: " + e);
        }
        if (rt.applet(instance) == null) {
            throw new Fail(0x6A80, cls.getName() + ".install() did not register an instance under " + Hex.of(app));
        }
    }

    private byte[] makeSelectable(byte[] data) throws Fail {
        Fields f = new Fields(data);
        f.next("the load file AID");
        f.next("the module AID");
        byte[] app = f.next("the application AID");
        f.next("the privileges");
        f.next("the install parameters");
        f.next("the install token");
        f.end();
        Registry.Inst i = reg.inst(app);
        if (i == null) {
            throw new Fail(0x6A88, "no instance " + Hex.of(app) + " to make selectable");
        }
        if (i.lifeCycle != Registry.APP_INSTALLED) {
            throw new Fail(0x6985, "instance " + Hex.of(app) + " is not INSTALLED");
        }
        i.lifeCycle = Registry.APP_SELECTABLE;
        return Apdu.withSw(new byte[] {0x00}, 0x9000);
    }

    // DELETE --------------------------------------------------------------------------

    private byte[] delete(Apdu a) throws Fail {
        if ((a.p1 & 0x7F) != 0 || (a.p2 != 0x00 && a.p2 != 0x80)) {
            throw new Fail(0x6A86, String.format("DELETE P1 P2 %02X%02X", a.p1, a.p2));
        }
        boolean related = a.p2 == 0x80;
        List<Tlv> tlvs;
        try {
            tlvs = Tlv.parse(a.data);
        } catch (Tlv.Malformed m) {
            throw new Fail(0x6A80, "DELETE data: " + m.getMessage());
        }
        byte[] aid = Tlv.find(tlvs, 0x4F);
        if (aid == null) {
            if (Tlv.find(tlvs, 0xD2) != null) {
                throw new Fail(0x6A80, "DELETE of a key set: the keys are the ISD applet's, replace them with PUT KEY");
            }
            throw new Fail(0x6A80, "DELETE needs tag 4F (an AID)");
        }
        checkAid(aid, "DELETE: the AID");
        if (Arrays.equals(aid, reg.isd)) {
            throw new Fail(0x6985, "the Issuer Security Domain cannot be deleted");
        }
        Registry.Inst inst = reg.inst(aid);
        if (inst != null) {
            removeInstance(inst);
            instancesChanged();
            Log.info("deleted instance " + Hex.of(aid));
            return Apdu.withSw(new byte[] {0x00}, 0x9000);
        }
        Registry.Pkg p = reg.pkg(aid);
        if (p == null) {
            throw new Fail(0x6A88, "nothing with AID " + Hex.of(aid) + " is on the card");
        }
        if (isdPackageName().equals(p.name)) {
            throw new Fail(0x6985, "package " + Hex.of(aid) + " holds the ISD applet " + reg.frontClass + " and cannot be deleted");
        }
        for (Registry.Pkg other : reg.packages) {
            for (byte[] imp : other.imports) {
                if (Arrays.equals(imp, aid)) {
                    throw new Fail(0x6985, "package " + Hex.of(aid) + " is imported by " + Hex.of(other.aid) + "; delete that first");
                }
            }
        }
        List<Registry.Inst> mine = new ArrayList<>();
        for (Registry.Inst i : reg.instances) {
            if (Arrays.equals(i.loadFile, aid)) {
                mine.add(i);
            }
        }
        if (!mine.isEmpty() && !related) {
            throw new Fail(0x6985, "package " + Hex.of(aid) + " has " + mine.size() + " instance(s); delete them or ask for related objects (P2 80)");
        }
        for (Registry.Inst i : mine) {
            removeInstance(i);
        }
        reg.packages.remove(p);
        rt.forgetPackage(aid(aid));
        instancesChanged();
        Log.info("deleted load file " + Hex.of(aid) + (mine.isEmpty() ? "" : " with " + mine.size() + " instance(s)"));
        return Apdu.withSw(new byte[] {0x00}, 0x9000);
    }

    private void removeInstance(Registry.Inst i) {
        try {
            rt.delete(aid(i.aid));
        } catch (RuntimeException e) {
            Log.info("jCardSim on deleting " + Hex.of(i.aid) + ": " + e);
        }
        reg.instances.remove(i);
        if (selection == Selection.APPLET && Arrays.equals(selectedAid, i.aid)) {
            selection = Selection.NONE;
        }
    }

    // SET STATUS ----------------------------------------------------------------------

    private static boolean allowed(int from, int to) {
        return (from == Registry.OP_READY && (to == Registry.INITIALIZED || to == Registry.SECURED))
                || (from == Registry.INITIALIZED && to == Registry.SECURED)
                || (from == Registry.SECURED && to == Registry.CARD_LOCKED)
                || (from == Registry.CARD_LOCKED && to == Registry.SECURED)
                || (to == Registry.TERMINATED && from != Registry.TERMINATED);
    }

    private byte[] setStatus(Apdu a) throws Fail {
        if (a.p1 == 0x80) {
            if (a.data.length != 0 && !Arrays.equals(a.data, reg.isd)) {
                throw new Fail(0x6A88, "SET STATUS P1 80 names " + Hex.of(a.data) + ", not the ISD");
            }
            int to = a.p2;
            if (to != Registry.OP_READY && to != Registry.INITIALIZED && to != Registry.SECURED && to != Registry.CARD_LOCKED && to != Registry.TERMINATED) {
                throw new Fail(0x6A80, String.format("%02X is not a card life cycle state", to));
            }
            if (!allowed(reg.lifeCycle, to)) {
                throw new Fail(0x6985, String.format("the card cannot go from %02X to %02X", reg.lifeCycle, to));
            }
            reg.lifeCycle = to;
            return ok();
        }
        if (a.p1 == 0x60) {
            throw new Fail(Arrays.equals(a.data, reg.isd) ? 0x6985 : 0x6A88,
                    "SET STATUS P1 60: the ISD is locked by locking the card, and there is no supplementary security domain");
        }
        if (a.p1 != 0x40) {
            throw new Fail(0x6A86, String.format("SET STATUS P1 %02X: 80, 40 or 60 expected", a.p1));
        }
        if (Arrays.equals(a.data, reg.isd)) {
            throw new Fail(0x6985, "the ISD is locked by locking the card (P1 80, P2 7F)");
        }
        Registry.Inst i = reg.inst(a.data);
        if (i == null) {
            throw new Fail(0x6A88, "no application " + Hex.of(a.data));
        }
        boolean locked = (i.lifeCycle & Registry.APP_LOCKED_BIT) != 0;
        if (a.p2 == 0x80 && !locked) {
            i.lifeCycle |= Registry.APP_LOCKED_BIT;
        } else if (a.p2 == 0x00 && locked) {
            i.lifeCycle &= ~Registry.APP_LOCKED_BIT;
        } else if (a.p2 == 0x80 || a.p2 == 0x00) {
            throw new Fail(0x6985, "application " + Hex.of(a.data) + " is " + (locked ? "locked" : "unlocked") + " already");
        } else {
            throw new Fail(0x6A80, String.format("SET STATUS P2 %02X for an application: 80 (lock) or 00 (unlock)", a.p2));
        }
        if (!locked && selection == Selection.APPLET && Arrays.equals(selectedAid, i.aid)) {
            selection = Selection.NONE;
        }
        return ok();
    }
}
