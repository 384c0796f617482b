package jct.harness;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * Entry point. --listen serves one reader connection at a time and, when
 * it ends, waits for the next (each jct command is one connection; the
 * card keeps its state in between, as a card stays in its reader) unless
 * --once; --vpcd connects to pcscd's vpcd driver and exits with status 0
 * when the driver closes the connection. Status 2: bad options or a state
 * file that cannot be read; 1: an I/O failure of the link.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        PrintStream stdout = System.out;
        // jCardSim and applets print to System.out: into the log, never elsewhere.
        System.setOut(System.err);
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("jcardsim-harness: " + e.getMessage());
            if (!e.getMessage().startsWith("usage:")) {
                System.err.println("(--help for the options)");
            }
            System.exit(2);
            return;
        }
        if (o.log != null) {
            try {
                PrintStream file = new PrintStream(new FileOutputStream(o.log, true), true, "UTF-8");
                Log.to(file);
                System.setOut(file);
                System.setErr(file);
            } catch (IOException e) {
                System.err.println("jcardsim-harness: --log " + o.log + ": " + e.getMessage());
                System.exit(2);
            }
        }
        Log.verbose = o.verbose;
        Card card;
        try {
            card = Card.open(o);
        } catch (Exception | LinkageError e) {
            Log.info("cannot start: " + e.getMessage());
            if (o.verbose) {
                e.printStackTrace(Log.stream());
            }
            System.exit(2);
            return;
        }
        try {
            if (o.listen != null) {
                listen(card, o, stdout);
            } else {
                vpcd(card, o);
            }
        } catch (IOException e) {
            Log.info("link failed: " + e);
            System.exit(1);
        }
        System.exit(0);
    }

    private static InetSocketAddress address(String hostPort, int defaultPort) {
        int colon = hostPort.lastIndexOf(':');
        String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
        int port = defaultPort;
        if (colon >= 0) {
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad port in " + hostPort);
            }
        }
        return new InetSocketAddress(host, port);
    }

    private static void listen(Card card, Options o, PrintStream stdout) throws IOException {
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(address(o.listen, 0));
            String bound = server.getInetAddress().getHostAddress() + ":" + server.getLocalPort();
            stdout.println("listening " + bound);
            stdout.flush();
            Log.info("listening on " + bound);
            while (true) {
                try (Socket s = server.accept()) {
                    s.setTcpNoDelay(true);
                    Log.debug("reader connected from " + s.getRemoteSocketAddress());
                    Link.serve(card, new BufferedInputStream(s.getInputStream()), new BufferedOutputStream(s.getOutputStream()));
                } catch (IOException e) {
                    Log.info("connection ended: " + e.getMessage());
                }
                // The reader went away: the card is powered off until the next one.
                card.powerOff();
                if (o.once) {
                    return;
                }
            }
        }
    }

    private static void vpcd(Card card, Options o) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(address(o.vpcd, 35963), 5000);
            s.setTcpNoDelay(true);
            Log.info("connected to the vpcd driver at " + o.vpcd);
            Link.End end = Link.serve(card, new BufferedInputStream(s.getInputStream()), new BufferedOutputStream(s.getOutputStream()));
            Log.info(end == Link.End.PEER_CLOSED ? "the vpcd driver closed the connection" : "protocol error; leaving");
        }
    }
}
