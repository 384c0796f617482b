package jct.harness;

import com.licel.jcardsim.base.LoadFile;
import com.licel.jcardsim.base.Module;
import com.licel.jcardsim.base.SensitiveMemory;
import com.licel.jcardsim.base.SimulatorRuntime;
import com.licel.jcardsim.base.TransientMemory;
import java.util.List;
import javacard.framework.AID;
import javacard.framework.Applet;

/**
 * jCardSim's runtime with the few hooks the harness needs: the applet
 * table (to restore instances from a state file without running their
 * install() again), the load file table (to install an applet class under
 * the package AID of the CAP that was loaded), deletion, and the transient
 * arrays (so that a snapshot can leave their contents out and a restore can
 * hand them back to the runtime, which clears them on deselect and reset).
 */
final class HarnessRuntime extends SimulatorRuntime {
    /** TransientMemory whose bookkeeping lists the snapshot can read. */
    static final class Transients extends TransientMemory {
        List<Object> onDeselect() {
            return clearOnDeselect;
        }

        List<Object> onReset() {
            return clearOnReset;
        }
    }

    final Transients transients;

    private HarnessRuntime(Transients transients) {
        super(transients, new SensitiveMemory());
        this.transients = transients;
    }

    static HarnessRuntime create() {
        return new HarnessRuntime(new Transients());
    }

    Applet applet(AID aid) {
        ApplicationInstance i = lookupApplet(aid);
        return i == null ? null : i.getApplet();
    }

    /** Puts back an instance restored from a snapshot. */
    void restore(AID aid, Applet applet) {
        applets.put(aid, new ApplicationInstance(aid, applet));
    }

    /** Declares the one module about to be installed from a package. */
    void declare(AID pkg, AID module, Class<? extends Applet> cls) {
        loadFiles.put(pkg, new LoadFile(pkg, new Module(module, cls)));
    }

    /**
     * Runs `cls.install(b, off, len)` as jCardSim's installApplet does
     * (register() binds the instance to the AID it names, or to `instance`),
     * but lets whatever install() throws reach the caller: jCardSim turns
     * every exception other than ISOException into SystemException(4),
     * which would hide why an applet refused its parameters.
     */
    void install(AID instance, Class<? extends Applet> cls, byte[] b, short off, byte len) throws Throwable {
        activateSimulatorRuntimeInstance();
        java.lang.reflect.Method m = cls.getMethod("install", byte[].class, short.class, byte.class);
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        registrationCallback.set((applet, aid) -> {
            if (calls.incrementAndGet() != 1 || (aid != null && !aid.equals(instance))) {
                javacard.framework.SystemException.throwIt(javacard.framework.SystemException.ILLEGAL_AID);
            }
            applets.put(instance, new ApplicationInstance(instance, applet));
        });
        try {
            m.invoke(null, b, off, len);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        } finally {
            registrationCallback.set(null);
        }
    }

    void forgetPackage(AID pkg) {
        loadFiles.remove(pkg);
    }

    /** Removes an instance (deselecting it and calling uninstall() as a card does). */
    void delete(AID aid) {
        if (lookupApplet(aid) != null) {
            deleteApplet(aid);
        }
    }

    /** The registered instances, for the snapshot. */
    java.util.Map<AID, ApplicationInstance> instances() {
        return applets;
    }
}
