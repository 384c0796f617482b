package jct.harness;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import javacard.framework.Applet;

/**
 * The applet classes the harness was given (--classes DIR or JAR, in
 * order), one class loader over all of them whose parent holds jCardSim
 * and the Java Card API, and the rule that maps a CAP's applet to a class:
 *
 * 1. --applet AID=fully.qualified.Class names it;
 * 2. otherwise the package's classes (its name from --package AID=name,
 *    the Header of CAP 2.2 and later, or the jct.toml of the project whose
 *    build directory --classes names) are searched for concrete subclasses
 *    of javacard.framework.Applet that declare
 *    `static void install(byte[], short, byte)`; one candidate for a
 *    package with one applet is taken;
 * 3. anything else (no name, no candidate, several) is refused with the
 *    reason and the --applet option that would settle it.
 *
 * The CAP itself cannot name the class: a Load File carries tokens, not
 * class names (the Debug component, which has them, is never loaded).
 */
final class Classes {
    final List<File> roots = new ArrayList<>();
    final URLClassLoader loader;
    final Map<String, String> appletClasses;
    final Map<String, String> packageNames;
    /** Package versions ("1.0") by load file AID, from jct.toml files. */
    final Map<String, String> packageVersions = new java.util.HashMap<>();

    Classes(List<String> paths, Map<String, String> appletClasses, Map<String, String> packageNames) {
        List<URL> urls = new ArrayList<>();
        for (String p : paths) {
            File f = new File(p);
            if (!f.exists()) {
                throw new IllegalArgumentException("--classes " + p + ": no such directory or jar");
            }
            roots.add(f);
            try {
                urls.add(f.toURI().toURL());
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException("--classes " + p + ": " + e.getMessage());
            }
        }
        this.loader = new URLClassLoader(urls.toArray(new URL[0]), Classes.class.getClassLoader());
        this.appletClasses = appletClasses;
        this.packageNames = packageNames;
        for (File root : roots) {
            readProjectFile(root);
        }
    }

    /**
     * A jct project's build directory (`<project>/build/classes`) sits below
     * its jct.toml, which states the package name and AID and each applet's
     * class and AID: the mapping a CAP 2.1 load file cannot carry. Looked for
     * in the --classes directory and its two parents; options given on the
     * command line take precedence.
     */
    private void readProjectFile(File root) {
        File dir = root.isDirectory() ? root.getAbsoluteFile() : null;
        for (int up = 0; dir != null && up < 3; up++, dir = dir.getParentFile()) {
            File toml = new File(dir, "jct.toml");
            if (!toml.isFile()) {
                continue;
            }
            try {
                String section = "";
                String pkgName = null;
                String pkgAid = null;
                String pkgVersion = null;
                String cls = null;
                List<String[]> applets = new ArrayList<>();
                for (String line : java.nio.file.Files.readAllLines(toml.toPath())) {
                    String t = line.trim();
                    if (t.startsWith("[")) {
                        if (section.equals("[[applet]]") && cls != null) {
                            applets.add(new String[] {cls, null});
                        }
                        section = t;
                        cls = null;
                        continue;
                    }
                    int eq = t.indexOf('=');
                    if (t.startsWith("#") || eq < 0) {
                        continue;
                    }
                    String key = t.substring(0, eq).trim();
                    String value = t.substring(eq + 1).trim();
                    if (!value.startsWith("\"") || value.indexOf('"', 1) < 0) {
                        continue;
                    }
                    value = value.substring(1, value.indexOf('"', 1));
                    if (section.equals("[package]") && key.equals("name")) {
                        pkgName = value;
                    } else if (section.equals("[package]") && key.equals("aid")) {
                        pkgAid = value;
                    } else if (section.equals("[package]") && key.equals("version")) {
                        pkgVersion = value;
                    } else if (section.equals("[[applet]]") && key.equals("class")) {
                        cls = value;
                    } else if (section.equals("[[applet]]") && key.equals("aid") && cls != null) {
                        applets.add(new String[] {cls, value});
                        cls = null;
                    }
                }
                if (pkgName == null || pkgAid == null) {
                    return;
                }
                packageNames.putIfAbsent(Hex.of(Hex.parse(pkgAid)), pkgName);
                if (pkgVersion != null) {
                    packageVersions.putIfAbsent(Hex.of(Hex.parse(pkgAid)), pkgVersion);
                }
                for (String[] a : applets) {
                    if (a[1] != null) {
                        String fq = a[0].contains(".") ? a[0] : pkgName + "." + a[0];
                        appletClasses.putIfAbsent(Hex.of(Hex.parse(a[1])), fq);
                    }
                }
                Log.debug("project file " + toml + ": package " + pkgName + " " + pkgAid + ", " + applets.size() + " applet(s)");
            } catch (IOException | IllegalArgumentException e) {
                Log.info("cannot read " + toml + ": " + e.getMessage());
            }
            return;
        }
    }

    static final class NotFound extends Exception {
        NotFound(String message) {
            super(message);
        }
    }

    /** The names of the classes of `pkg` (dotted) in the roots. */
    List<String> classNames(String pkg) {
        TreeSet<String> out = new TreeSet<>();
        String path = pkg.replace('.', '/');
        for (File root : roots) {
            if (root.isDirectory()) {
                File[] files = new File(root, path).listFiles();
                if (files == null) {
                    continue;
                }
                for (File f : files) {
                    String n = f.getName();
                    if (f.isFile() && n.endsWith(".class")) {
                        out.add(pkg + "." + n.substring(0, n.length() - 6));
                    }
                }
            } else {
                try (JarFile jar = new JarFile(root)) {
                    Enumeration<JarEntry> e = jar.entries();
                    while (e.hasMoreElements()) {
                        String n = e.nextElement().getName();
                        if (n.startsWith(path + "/") && n.endsWith(".class") && n.indexOf('/', path.length() + 1) < 0) {
                            out.add(n.substring(0, n.length() - 6).replace('/', '.'));
                        }
                    }
                } catch (IOException ex) {
                    Log.info("cannot read " + root + ": " + ex.getMessage());
                }
            }
        }
        return new ArrayList<>(out);
    }

    /** The package's classes, loaded (for the static fields of a snapshot). */
    List<Class<?>> load(String pkg) {
        List<Class<?>> out = new ArrayList<>();
        for (String n : classNames(pkg)) {
            try {
                out.add(Class.forName(n, false, loader));
            } catch (ReflectiveOperationException | LinkageError e) {
                Log.info("class " + n + " does not load: " + e);
            }
        }
        return out;
    }

    static boolean isApplet(Class<?> c) {
        if (!Applet.class.isAssignableFrom(c) || Modifier.isAbstract(c.getModifiers())) {
            return false;
        }
        try {
            Method m = c.getDeclaredMethod("install", byte[].class, short.class, byte.class);
            return Modifier.isStatic(m.getModifiers());
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /**
     * The load file of a Java package already on the card without a LOAD
     * (the ISD applet's): its AID from --package or a jct.toml, its version
     * from the jct.toml (1.0 without one), its applets those whose class
     * is in the package. Null when no AID names the package.
     */
    Registry.Pkg builtIn(String javaPackage, byte[] securityDomain) {
        for (Map.Entry<String, String> e : packageNames.entrySet()) {
            if (!e.getValue().equals(javaPackage)) {
                continue;
            }
            Registry.Pkg p = new Registry.Pkg();
            p.aid = Hex.parse(e.getKey());
            p.name = javaPackage;
            String[] v = packageVersions.getOrDefault(e.getKey(), "1.0").split("\\.");
            try {
                p.major = Integer.parseInt(v[0]);
                p.minor = v.length > 1 ? Integer.parseInt(v[1]) : 0;
            } catch (NumberFormatException bad) {
                throw new IllegalArgumentException("package " + javaPackage + ": version " + String.join(".", v) + " is not MAJOR.MINOR");
            }
            for (Map.Entry<String, String> a : appletClasses.entrySet()) {
                String cls = a.getValue();
                if (cls.startsWith(javaPackage + ".") && cls.indexOf('.', javaPackage.length() + 1) < 0) {
                    p.applets.add(Hex.parse(a.getKey()));
                }
            }
            p.securityDomain = securityDomain;
            return p;
        }
        return null;
    }

    /** The package name of a load file: --package first, then the Header's. */
    String packageName(byte[] pkgAid, String fromHeader) {
        String given = packageNames.get(Hex.of(pkgAid));
        return given != null ? given : fromHeader;
    }

    /** The class to instantiate for `module` of package `pkg` (rule above). */
    Class<? extends Applet> appletClass(Registry.Pkg pkg, byte[] module) throws NotFound {
        String named = appletClasses.get(Hex.of(module));
        if (named != null) {
            return checked(named, module);
        }
        if (pkg.name == null) {
            throw new NotFound("load file " + Hex.of(pkg.aid) + " names no Java package (CAP 2.1 Headers have no name field and converters leave it empty in later formats): start the harness with --package "
                    + Hex.of(pkg.aid) + "=its.java.package or --applet " + Hex.of(module) + "=fully.qualified.Class");
        }
        List<String> candidates = new ArrayList<>();
        for (String n : classNames(pkg.name)) {
            try {
                if (isApplet(Class.forName(n, false, loader))) {
                    candidates.add(n);
                }
            } catch (ReflectiveOperationException | LinkageError e) {
                Log.info("class " + n + " does not load: " + e);
            }
        }
        if (candidates.isEmpty()) {
            throw new NotFound("no applet class of package " + pkg.name + " (load file " + Hex.of(pkg.aid) + ") in --classes " + roots);
        }
        if (candidates.size() > 1 || pkg.applets.size() > 1) {
            throw new NotFound("package " + pkg.name + " has applet classes " + candidates + " for " + pkg.applets.size()
                    + " applet(s): name the class of " + Hex.of(module) + " with --applet " + Hex.of(module) + "=fully.qualified.Class");
        }
        return checked(candidates.get(0), module);
    }

    /** A class named on the command line (the ISD applet's). */
    Class<? extends Applet> named(String name) throws NotFound {
        return checked(name, new byte[0]);
    }

    @SuppressWarnings("unchecked")
    private Class<? extends Applet> checked(String name, byte[] module) throws NotFound {
        try {
            Class<?> c = Class.forName(name, true, loader);
            if (!isApplet(c)) {
                throw new NotFound(name + " (for " + Hex.of(module) + ") is not a concrete Applet with static install(byte[], short, byte)");
            }
            return (Class<? extends Applet>) c;
        } catch (ClassNotFoundException e) {
            throw new NotFound("class " + name + " (for " + Hex.of(module) + ") is not in --classes " + roots);
        } catch (LinkageError e) {
            throw new NotFound("class " + name + " does not load: " + e);
        }
    }
}
