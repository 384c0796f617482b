package com.jct.runner;

import com.licel.jcardsim.base.Simulator;
import com.licel.jcardsim.base.SimulatorRuntime;
import com.licel.jcardsim.crypto.RandomDataImpl;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import javacard.framework.AID;
import javacard.framework.Applet;

/**
 * Runs Java Card applets, as JVM classes, in jCardSim's Simulator and
 * speaks a line protocol on stdin/stdout, so that tests in any language
 * (jct's Rust suite, differential runs against jct emu) can drive them.
 *
 * <pre>
 * jcardsim-runner --classes DIR_OR_JAR [--classes ...]
 *                 [--install AID:CLASS[:PARAMS[:PRIVILEGES]]]... [--select AID]
 * </pre>
 * PARAMS is the hex of the application parameters (the C9 value),
 * PRIVILEGES that of the privileges (default 00); the applet's install
 * method receives GlobalPlatform install data as a card gives it: the
 * instance AID, the privileges as control information, then PARAMS, each
 * with a length byte in front. A failed install at start ends the runner
 * (status 1).
 *
 * <p>Each input line is one of (hex case-insensitive, spaces ignored):
 * <ul>
 * <li>a command APDU in hex: answers the response (data and SW) in hex;</li>
 * <li>{@code select AID}: selects an applet; answers the SELECT response;</li>
 * <li>{@code install AID CLASS [PARAMS [PRIVILEGES]]}: installs an instance; answers
 *     {@code 9000}, or {@code 6A80 reason} when jCardSim refuses;</li>
 * <li>{@code reset}: a power cycle (CLEAR_ON_RESET memory is lost,
 *     persistent memory kept); answers the ATR;</li>
 * <li>{@code random HEX}: the next random bytes the installed applets draw
 *     from their RandomData objects are these, in order (then the real
 *     generator again): the test hook that makes card challenges
 *     reproducible; answers {@code 9000};</li>
 * <li>empty, or starting with {@code #}: ignored, no answer.</li>
 * </ul>
 * Exactly one output line per answered input line, flushed at once; all
 * logging, and anything jCardSim or an applet prints, goes to stderr.
 * End of input ends the runner with status 0.
 */
public final class JcardsimRunner {
    private JcardsimRunner() {}

    public static void main(String[] args) throws Exception {
        // The protocol owns stdout; everything else that prints goes to stderr.
        PrintStream out = new PrintStream(System.out, false, "US-ASCII");
        System.setOut(System.err);

        List<URL> urls = new ArrayList<>();
        List<String[]> installs = new ArrayList<>();
        String select = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--classes":
                    urls.add(new File(need(args, ++i, a)).toURI().toURL());
                    break;
                case "--install":
                    installs.add(need(args, ++i, a).split(":", 4));
                    break;
                case "--select":
                    select = need(args, ++i, a);
                    break;
                case "-h":
                case "--help":
                    System.err.println("usage: jcardsim-runner --classes DIR [--install AID:CLASS[:PARAMS]]... [--select AID]");
                    return;
                default:
                    throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), JcardsimRunner.class.getClassLoader());
        // A runtime of our own rather than jCardSim's default one, so that the
        // applet objects are in reach of the random hook.
        Runtime runtime = new Runtime();
        Simulator sim = new Simulator(runtime);
        List<byte[]> installed = new ArrayList<>();
        for (String[] spec : installs) {
            if (spec.length < 2) {
                throw new IllegalArgumentException("--install wants AID:CLASS[:PARAMS[:PRIVILEGES]]");
            }
            String result = install(sim, loader, spec[0], spec[1], spec.length > 2 ? spec[2] : "",
                    spec.length > 3 ? spec[3] : "00");
            if (!result.equals("9000")) {
                System.err.println("runner: --install " + String.join(":", spec) + " failed");
                System.exit(1);
            }
            installed.add(unhex(spec[0]));
        }
        if (select != null && !sim.selectApplet(aid(select))) {
            throw new IllegalStateException("selecting " + select + " failed");
        }

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        String line;
        while ((line = in.readLine()) != null) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] words = t.split("\\s+");
            String answer;
            try {
                switch (words[0].toLowerCase()) {
                    case "select":
                        answer = hex(sim.selectAppletWithResult(aid(words[1])));
                        break;
                    case "install":
                        answer = install(sim, loader, words[1], words[2], words.length > 3 ? words[3] : "",
                                words.length > 4 ? words[4] : "00");
                        installed.add(unhex(words[1]));
                        break;
                    case "random":
                        for (byte[] aid : installed) {
                            Applet applet = runtime.appletOf(new AID(aid, (short) 0, (byte) aid.length));
                            if (applet != null) {
                                fixRandom(applet, 0);
                            }
                        }
                        for (byte b : unhex(words.length > 1 ? words[1] : "")) {
                            FIXED.add(b);
                        }
                        answer = "9000";
                        break;
                    case "reset":
                        sim.reset();
                        answer = hex(sim.getATR());
                        break;
                    default:
                        byte[] command = unhex(t);
                        answer = hex(sim.transmitCommand(command));
                        System.err.println("runner: >> " + hex(command) + "\nrunner: << " + answer);
                }
            } catch (RuntimeException e) {
                // One bad line must not end a session: answer 6F00 and say why on stderr.
                System.err.println("runner: " + t + ": " + e);
                answer = "6F00";
            }
            out.println(answer);
            out.flush();
        }
    }

    /** jCardSim's runtime, with the installed applet objects in reach. */
    static final class Runtime extends SimulatorRuntime {
        Applet appletOf(AID aid) {
            return getApplet(aid);
        }
    }

    /** Bytes that random generators hand out before their own. */
    private static final ArrayDeque<Byte> FIXED = new ArrayDeque<>();
    /** RandomData objects whose generator has been replaced already. */
    private static final Map<Object, Boolean> HOOKED = new IdentityHashMap<>();

    /**
     * Finds the RandomData objects an applet holds (in its fields, in
     * arrays and objects they hold, a few levels deep) and puts a generator
     * in front of each that serves FIXED first.
     */
    private static void fixRandom(Object o, int depth) throws ReflectiveOperationException {
        if (o == null || depth > 3 || HOOKED.containsKey(o)) {
            return;
        }
        HOOKED.put(o, Boolean.TRUE);
        if (o instanceof RandomDataImpl) {
            Field engine = RandomDataImpl.class.getDeclaredField("engine");
            engine.setAccessible(true);
            Object real = engine.get(o);
            Class<?> type = engine.getType();
            InvocationHandler handler = (proxy, method, args) -> {
                if (method.getName().equals("nextBytes") && !FIXED.isEmpty()) {
                    byte[] b = (byte[]) args[0];
                    int off = args.length == 3 ? (Integer) args[1] : 0;
                    int len = args.length == 3 ? (Integer) args[2] : b.length;
                    int i = 0;
                    for (; i < len && !FIXED.isEmpty(); i++) {
                        b[off + i] = FIXED.poll();
                    }
                    if (i < len) {
                        type.getMethod("nextBytes", byte[].class, int.class, int.class)
                                .invoke(real, b, off + i, len - i);
                    }
                    return null;
                }
                return method.invoke(real, args);
            };
            engine.set(o, Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler));
            return;
        }
        Class<?> c = o.getClass();
        if (c.isArray()) {
            if (!c.getComponentType().isPrimitive()) {
                for (int i = 0; i < Array.getLength(o); i++) {
                    fixRandom(Array.get(o, i), depth + 1);
                }
            }
            return;
        }
        if (c.getName().startsWith("java.")) {
            return;
        }
        for (; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                } catch (RuntimeException e) {
                    continue;
                }
                fixRandom(f.get(o), depth + 1);
            }
        }
    }

    private static String need(String[] args, int i, String what) {
        if (i >= args.length) {
            throw new IllegalArgumentException(what + " needs a value");
        }
        return args[i];
    }

    /** Installs CLASS as AID with GlobalPlatform install data around PARAMS. */
    private static String install(Simulator sim, ClassLoader loader, String aidHex, String className,
                                  String paramsHex, String privilegesHex) {
        byte[] aid = unhex(aidHex);
        byte[] privileges = unhex(privilegesHex);
        byte[] params = unhex(paramsHex);
        byte[] data = new byte[aid.length + privileges.length + params.length + 3];
        int at = 0;
        for (byte[] part : new byte[][] {aid, privileges, params}) {
            data[at++] = (byte) part.length;
            System.arraycopy(part, 0, data, at, part.length);
            at += part.length;
        }
        try {
            Class<? extends Applet> cls = Class.forName(className, true, loader).asSubclass(Applet.class);
            sim.installApplet(new AID(aid, (short) 0, (byte) aid.length), cls, data, (short) 0, (byte) data.length);
            System.err.println("runner: installed " + aidHex.toUpperCase() + " " + className);
            return "9000";
        } catch (ClassNotFoundException | RuntimeException e) {
            System.err.println("runner: installing " + className + " as " + aidHex + ": " + e);
            return "6A80 " + e.toString().replaceAll("\\s+", " ");
        }
    }

    private static AID aid(String hex) {
        byte[] b = unhex(hex);
        return new AID(b, (short) 0, (byte) b.length);
    }

    static byte[] unhex(String s) {
        String h = s.replaceAll("\\s+", "");
        if (h.length() % 2 != 0) {
            throw new IllegalArgumentException("odd number of hex digits in " + s);
        }
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = Character.digit(h.charAt(2 * i), 16);
            int lo = Character.digit(h.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not hex: " + s);
            }
            b[i] = (byte) (hi << 4 | lo);
        }
        return b;
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString().toUpperCase();
    }
}
