package com.jct.runner;

import com.licel.jcardsim.base.Simulator;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import javacard.framework.AID;
import javacard.framework.Applet;

/**
 * Runs Java Card applets, as JVM classes, in jCardSim's Simulator and
 * speaks a line protocol on stdin/stdout, so that tests in any language
 * (jct's Rust suite, differential runs against jct emu) can drive them.
 *
 * <pre>
 * jcardsim-runner --classes DIR_OR_JAR [--classes ...]
 *                 [--install AID:CLASS[:PARAMS]]... [--select AID]
 * </pre>
 * PARAMS is the hex of the application parameters (the C9 value); the
 * applet's install method receives GlobalPlatform install data: the instance
 * AID, empty control information, then PARAMS.
 *
 * <p>Each input line is one of (hex case-insensitive, spaces ignored):
 * <ul>
 * <li>a command APDU in hex: answers the response (data and SW) in hex;</li>
 * <li>{@code select AID}: selects an applet; answers the SELECT response;</li>
 * <li>{@code install AID CLASS [PARAMS]}: installs an instance; answers
 *     {@code 9000}, or {@code 6A80 reason} when jCardSim refuses;</li>
 * <li>{@code reset}: a power cycle (CLEAR_ON_RESET memory is lost,
 *     persistent memory kept); answers the ATR;</li>
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
                    installs.add(need(args, ++i, a).split(":", 3));
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
        Simulator sim = new Simulator();
        for (String[] spec : installs) {
            if (spec.length < 2) {
                throw new IllegalArgumentException("--install wants AID:CLASS[:PARAMS]");
            }
            install(sim, loader, spec[0], spec[1], spec.length > 2 ? spec[2] : "");
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
                        answer = install(sim, loader, words[1], words[2], words.length > 3 ? words[3] : "");
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

    private static String need(String[] args, int i, String what) {
        if (i >= args.length) {
            throw new IllegalArgumentException(what + " needs a value");
        }
        return args[i];
    }

    /** Installs CLASS as AID with GlobalPlatform install data around PARAMS. */
    private static String install(Simulator sim, ClassLoader loader, String aidHex, String className, String paramsHex) {
        byte[] aid = unhex(aidHex);
        byte[] params = unhex(paramsHex);
        byte[] data = new byte[aid.length + params.length + 3];
        data[0] = (byte) aid.length;
        System.arraycopy(aid, 0, data, 1, aid.length);
        data[aid.length + 1] = 0;
        data[aid.length + 2] = (byte) params.length;
        System.arraycopy(params, 0, data, aid.length + 3, params.length);
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
