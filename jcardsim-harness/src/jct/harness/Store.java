package jct.harness;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;

/**
 * The state file: written whole and atomically — a temporary file created
 * exclusively beside it with mode 0600 (it holds the keys), written, fsynced,
 * renamed over the old one, and the directory fsynced — so a crash or a
 * kill at any point leaves either the old state or the new one. Unchanged
 * state is not rewritten.
 */
final class Store {
    private final Path path;
    private byte[] last;
    private long serial;

    Store(Path path) {
        this.path = path.toAbsolutePath();
    }

    byte[] read() throws IOException {
        byte[] b = Files.readAllBytes(path);
        last = b;
        return b;
    }

    void save(byte[] state) throws IOException {
        if (last != null && Arrays.equals(last, state)) {
            return;
        }
        Path dir = path.getParent();
        Path tmp = dir.resolve("." + path.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + (serial++));
        try {
            try (FileChannel ch = FileChannel.open(tmp, java.util.EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer buf = ByteBuffer.wrap(state);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (AccessDeniedException | UnsupportedOperationException e) {
            // Some file systems cannot open a directory for fsync; the rename stands.
        }
        last = state;
    }
}
