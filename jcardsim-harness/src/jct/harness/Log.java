package jct.harness;

import java.io.PrintStream;

/**
 * Log lines on stderr (or the file of --log). Kept apart from System.out,
 * which jCardSim and applets print to: Main points System.out at this
 * stream too, so nothing printed inside the simulator can reach a socket
 * or a test's stdout parser.
 */
final class Log {
    private static PrintStream out = System.err;
    static boolean verbose;

    private Log() {}

    static void to(PrintStream stream) {
        out = stream;
    }

    static PrintStream stream() {
        return out;
    }

    static synchronized void info(String message) {
        out.println("jcardsim-harness: " + message);
        out.flush();
    }

    /** A refused command: the status word the host gets and why. */
    static void refused(int sw, String why) {
        info(String.format("%04X: %s", sw & 0xFFFF, why));
    }

    static void debug(String message) {
        if (verbose) {
            info(message);
        }
    }
}
