package jct.harness;

import com.licel.jcardsim.esotericsoftware.kryo.Kryo;
import com.licel.jcardsim.esotericsoftware.kryo.Serializer;
import com.licel.jcardsim.esotericsoftware.kryo.io.Input;
import com.licel.jcardsim.esotericsoftware.kryo.io.Output;
import com.licel.jcardsim.objenesis.strategy.StdInstantiatorStrategy;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The card's persistent memory as one object graph, written with the Kryo
 * that jCardSim bundles (the same serializer its PersistentSimulatorRuntime
 * uses for its per-applet files): the registry, every applet instance with
 * everything it references — key objects, counters, OwnerPINs, Shareable
 * objects between applets — and the non-final static fields of the applet
 * classes (Java Card statics are persistent too).
 *
 * Why Kryo rather than Java serialization: applet classes and jCardSim's
 * key and cipher objects are not Serializable; Kryo writes fields by
 * reflection and creates objects without constructors (Objenesis), keeping
 * object identity (one graph, references on). The keys therefore go to the
 * state file inside the applet's key objects, never through an APDU; the
 * file is created with mode 0600.
 *
 * Cipher and Signature objects are written as their algorithm and come
 * back uninitialized, so no key schedule reaches the file either; RandomData
 * objects come back freshly seeded.
 *
 * Transient arrays (JCSystem.makeTransient*Array) are written as their kind
 * and length only: their contents are RAM on a card — the open secure
 * channel's session keys among them — and must neither reach the disk nor
 * survive a restart. Reading gives zeroed arrays of the same kind, handed
 * back to jCardSim's TransientMemory so it clears them as before.
 */
final class Snapshot {
    static final byte[] MAGIC = {'J', 'C', 'T', 'H', 'S', 'T', '0', '2'};

    /** The registry and the ISD's identity. */
    Registry registry;
    /** Instance AIDs and the applet objects, in the runtime's order. */
    ArrayList<byte[]> aids = new ArrayList<>();
    ArrayList<Object> applets = new ArrayList<>();
    /** Class name, field name, value: the applet classes' static fields. */
    ArrayList<Object[]> statics = new ArrayList<>();

    private static final byte PERSISTENT = 0;

    /**
     * Writes snapshots with one Kryo kept for the card's lifetime (building
     * its field serializers is most of the cost of a write), refreshing
     * which arrays are transient before each.
     */
    static final class Writer {
        private final Map<Object, Byte> kinds = new IdentityHashMap<>();
        private final HarnessRuntime.Transients transients;
        private final Kryo kryo;

        Writer(ClassLoader loader, HarnessRuntime.Transients transients, FixedRandom random) {
            this.transients = transients;
            this.kryo = kryo(loader, transients, kinds, random);
        }

        byte[] encode(Snapshot s) {
            kinds.clear();
            for (Object o : transients.onDeselect()) {
                kinds.put(o, javacard.framework.JCSystem.CLEAR_ON_DESELECT);
            }
            for (Object o : transients.onReset()) {
                kinds.put(o, javacard.framework.JCSystem.CLEAR_ON_RESET);
            }
            try {
                return s.encode(kryo);
            } finally {
                kinds.clear();
            }
        }
    }

    /** A Kryo for reading a snapshot back into `transients`. */
    static Kryo reader(ClassLoader loader, HarnessRuntime.Transients transients) {
        return kryo(loader, transients, new IdentityHashMap<>(), null);
    }

    /** The Kryo of a snapshot; `kinds` says which arrays are transient when writing. */
    private static Kryo kryo(ClassLoader loader, HarnessRuntime.Transients transients, Map<Object, Byte> kinds, FixedRandom random) {
        Kryo kryo = new ObjenesisKryo();
        kryo.setReferences(true);
        kryo.setRegistrationRequired(false);
        kryo.setClassLoader(loader);
        kryo.register(byte[].class, new ArraySerializer<byte[]>(kinds, transients) {
            byte[] make(int n) {
                return new byte[n];
            }

            void writeBody(Output out, byte[] a) {
                out.writeBytes(a);
            }

            void readBody(Input in, byte[] a) {
                in.readBytes(a);
            }
        });
        kryo.register(short[].class, new ArraySerializer<short[]>(kinds, transients) {
            short[] make(int n) {
                return new short[n];
            }

            void writeBody(Output out, short[] a) {
                for (short s : a) {
                    out.writeShort(s);
                }
            }

            void readBody(Input in, short[] a) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = in.readShort();
                }
            }
        });
        kryo.register(boolean[].class, new ArraySerializer<boolean[]>(kinds, transients) {
            boolean[] make(int n) {
                return new boolean[n];
            }

            void writeBody(Output out, boolean[] a) {
                for (boolean b : a) {
                    out.writeBoolean(b);
                }
            }

            void readBody(Input in, boolean[] a) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = in.readBoolean();
                }
            }
        });
        kryo.register(Object[].class, new ObjectArraySerializer(kinds, transients));
        // A SecureRandom's state lives in the JDK (not open to reflection,
        // and pointless to keep): a restored one is a fresh instance.
        kryo.addDefaultSerializer(SecureRandom.class, new Serializer<SecureRandom>() {
            public void write(Kryo k, Output out, SecureRandom r) {}

            public SecureRandom read(Kryo k, Input in, Class<SecureRandom> type) {
                return new SecureRandom();
            }
        });
        // A Cipher or Signature object keeps what its init() derived from a
        // key (round keys, a MAC chain): written as its algorithm only and
        // restored uninitialized, as on a card after power loss; the applet
        // calls init() again before using it.
        kryo.addDefaultSerializer(javacardx.crypto.Cipher.class, new Serializer<javacardx.crypto.Cipher>() {
            public void write(Kryo k, Output out, javacardx.crypto.Cipher c) {
                out.writeByte(c.getAlgorithm());
            }

            public javacardx.crypto.Cipher read(Kryo k, Input in, Class<javacardx.crypto.Cipher> type) {
                return javacardx.crypto.Cipher.getInstance(in.readByte(), false);
            }
        });
        kryo.addDefaultSerializer(javacard.security.Signature.class, new Serializer<javacard.security.Signature>() {
            public void write(Kryo k, Output out, javacard.security.Signature s) {
                out.writeByte(s.getAlgorithm());
            }

            public javacard.security.Signature read(Kryo k, Input in, Class<javacard.security.Signature> type) {
                return javacard.security.Signature.getInstance(in.readByte(), false);
            }
        });
        // A RandomData's generator state would make the numbers after a
        // restart a continuation anyone holding the file could compute (and
        // repeat if the file were used twice): it comes back freshly seeded.
        kryo.addDefaultSerializer(javacard.security.RandomData.class, new Serializer<javacard.security.RandomData>() {
            public void write(Kryo k, Output out, javacard.security.RandomData r) {
                if (random != null) {
                    random.arm(r);
                }
                out.writeByte(r.getAlgorithm());
            }

            public javacard.security.RandomData read(Kryo k, Input in, Class<javacard.security.RandomData> type) {
                return javacard.security.RandomData.getInstance(in.readByte());
            }
        });
        return kryo;
    }

    /**
     * Kryo that never runs a constructor when it restores an object: an
     * applet's constructor allocates and may call register(), which must
     * happen once, at install. (Plain Kryo 2.20 calls a no-argument
     * constructor when there is one and falls back to Objenesis only
     * otherwise.) JDK classes are the exception: see below.
     */
    static final class ObjenesisKryo extends Kryo {
        private final StdInstantiatorStrategy strategy = new StdInstantiatorStrategy();

        @Override
        @SuppressWarnings({"rawtypes", "unchecked"})
        protected com.licel.jcardsim.objenesis.instantiator.ObjectInstantiator newInstantiator(Class type) {
            // JDK collections need their constructors (an ArrayList without
            // one has no backing array); everything else is created bare.
            if (type.getName().startsWith("java.")) {
                return super.newInstantiator(type);
            }
            return strategy.newInstantiatorOf(type);
        }
    }

    /** Arrays: a kind byte, the length, and the contents unless transient. */
    abstract static class ArraySerializer<T> extends Serializer<T> {
        private final Map<Object, Byte> kinds;
        private final HarnessRuntime.Transients transients;

        ArraySerializer(Map<Object, Byte> kinds, HarnessRuntime.Transients transients) {
            this.kinds = kinds;
            this.transients = transients;
        }

        abstract T make(int n);

        abstract void writeBody(Output out, T a);

        abstract void readBody(Input in, T a);

        public void write(Kryo k, Output out, T a) {
            Byte kind = kinds.get(a);
            out.writeByte(kind == null ? PERSISTENT : kind);
            out.writeInt(java.lang.reflect.Array.getLength(a), true);
            if (kind == null) {
                writeBody(out, a);
            }
        }

        public T read(Kryo k, Input in, Class<T> type) {
            byte kind = in.readByte();
            T a = make(in.readInt(true));
            if (kind == PERSISTENT) {
                readBody(in, a);
            } else {
                track(transients, a, kind);
            }
            return a;
        }
    }

    static final class ObjectArraySerializer extends Serializer<Object[]> {
        private final Map<Object, Byte> kinds;
        private final HarnessRuntime.Transients transients;

        ObjectArraySerializer(Map<Object, Byte> kinds, HarnessRuntime.Transients transients) {
            this.kinds = kinds;
            this.transients = transients;
        }

        public void write(Kryo k, Output out, Object[] a) {
            Byte kind = kinds.get(a);
            out.writeByte(kind == null ? PERSISTENT : kind);
            out.writeInt(a.length, true);
            if (kind == null) {
                for (Object o : a) {
                    k.writeClassAndObject(out, o);
                }
            }
        }

        public Object[] read(Kryo k, Input in, Class<Object[]> type) {
            byte kind = in.readByte();
            Object[] a = new Object[in.readInt(true)];
            k.reference(a);
            if (kind == PERSISTENT) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = k.readClassAndObject(in);
                }
            } else {
                track(transients, a, kind);
            }
            return a;
        }
    }

    private static void track(HarnessRuntime.Transients t, Object a, byte kind) {
        if (kind == javacard.framework.JCSystem.CLEAR_ON_RESET) {
            t.onReset().add(a);
        } else {
            t.onDeselect().add(a);
        }
    }

    /** The non-final static fields of `classes`, as (class, field, value). */
    static ArrayList<Object[]> staticsOf(List<Class<?>> classes) {
        ArrayList<Object[]> out = new ArrayList<>();
        for (Class<?> c : classes) {
            for (Field f : c.getDeclaredFields()) {
                int m = f.getModifiers();
                if (!Modifier.isStatic(m) || Modifier.isFinal(m) || f.isSynthetic()) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                    out.add(new Object[] {c.getName(), f.getName(), f.get(null)});
                } catch (ReflectiveOperationException | RuntimeException e) {
                    Log.info("static field " + c.getName() + "." + f.getName() + " is not persisted: " + e);
                }
            }
        }
        return out;
    }

    /** Sets the static fields a snapshot recorded. */
    void restoreStatics(ClassLoader loader) {
        for (Object[] s : statics) {
            try {
                Class<?> c = Class.forName((String) s[0], true, loader);
                Field f = c.getDeclaredField((String) s[1]);
                f.setAccessible(true);
                f.set(null, s[2]);
            } catch (ReflectiveOperationException | RuntimeException e) {
                Log.info("static field " + s[0] + "." + s[1] + " not restored: " + e);
            }
        }
    }

    byte[] encode(Kryo kryo) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(MAGIC, 0, MAGIC.length);
        Output out = new Output(bytes);
        kryo.writeObject(out, this);
        out.close();
        return bytes.toByteArray();
    }

    static Snapshot decode(Kryo kryo, byte[] file) {
        if (file.length < MAGIC.length || !java.util.Arrays.equals(java.util.Arrays.copyOf(file, MAGIC.length), MAGIC)) {
            throw new IllegalStateException("not a jcardsim-harness state file (bad magic)");
        }
        // Kryo 2.20's Input(buffer, offset, count) takes count as the limit: copy instead.
        Input in = new Input(java.util.Arrays.copyOfRange(file, MAGIC.length, file.length));
        return kryo.readObject(in, Snapshot.class);
    }
}
