package jct.harness;

import com.licel.jcardsim.bouncycastle.crypto.prng.RandomGenerator;
import com.licel.jcardsim.crypto.RandomDataImpl;
import java.lang.reflect.Field;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * The test hook of --random HEX: the next bytes the applets draw from
 * their RandomData objects are these, in order, then each generator's own
 * again — so a test can fix a card challenge and compare transcripts byte
 * for byte. The snapshot writer hands every RandomData it meets to
 * {@link #arm}, which puts a generator in front of its engine; nothing of
 * it is persisted (a restored RandomData is a freshly seeded one).
 */
final class FixedRandom {
    private final ArrayDeque<Byte> queue = new ArrayDeque<>();
    private final Set<Object> armed = Collections.newSetFromMap(new IdentityHashMap<>());

    FixedRandom(byte[] bytes) {
        for (byte b : bytes) {
            queue.add(b);
        }
    }

    void arm(Object randomData) {
        if (!(randomData instanceof RandomDataImpl) || !armed.add(randomData)) {
            return;
        }
        try {
            Field engine = RandomDataImpl.class.getDeclaredField("engine");
            engine.setAccessible(true);
            RandomGenerator own = (RandomGenerator) engine.get(randomData);
            engine.set(randomData, new Generator(own));
        } catch (ReflectiveOperationException | RuntimeException e) {
            Log.info("--random cannot reach a RandomData object: " + e);
        }
    }

    private final class Generator implements RandomGenerator {
        private final RandomGenerator own;

        Generator(RandomGenerator own) {
            this.own = own;
        }

        public void addSeedMaterial(byte[] seed) {
            own.addSeedMaterial(seed);
        }

        public void addSeedMaterial(long seed) {
            own.addSeedMaterial(seed);
        }

        public void nextBytes(byte[] b) {
            nextBytes(b, 0, b.length);
        }

        public void nextBytes(byte[] b, int off, int len) {
            int i = 0;
            while (i < len && !queue.isEmpty()) {
                b[off + i++] = queue.poll();
            }
            if (i < len) {
                own.nextBytes(b, off + i, len - i);
            }
        }
    }
}
