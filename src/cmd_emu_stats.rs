//! `jct emu stats`: the memory of an emulated card, read from its state
//! directory while no emulator runs (or while one does: the journal is
//! only read). Totals against the profile's limits, then each package
//! with its applets: persistent bytes, CLEAR_ON_RESET and
//! CLEAR_ON_DESELECT bytes, objects and static fields.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use emulator::card::{package_memory, PackageMemory};
use serde::Serialize;

use crate::out;

// Options of `jct emu stats`.
#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// The card's state directory (as given to `jct emu --state`).
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Used {
    used: usize,
    limit: usize,
}

#[derive(Serialize)]
struct Stats {
    persistent: Used,
    transient: Used,
    objects: usize,
    /// Bytes of objects no package owns: the JCRE's (the APDU buffer)
    /// and instances of API classes (keys, PINs, AIDs), which the heap
    /// records without an owner.
    unattributed_persistent: usize,
    unattributed_transient: usize,
    packages: Vec<PackageMemory>,
}

pub fn run(args: &StatsArgs) -> Result<()> {
    let mut state = emulator::read_state(&args.state)
        .with_context(|| format!("reading the card in {}", args.state.display()))?
        .with_context(|| format!("{} holds no card", args.state.display()))?;
    state.heap.after_load();
    if let Err(e) = state.heap.validate() {
        bail!("the heap in {} is inconsistent: {e}", args.state.display());
    }
    let (persistent, transient) = state.heap.used();
    let packages = package_memory(&state);
    let owned_p: usize = packages.iter().map(|p| p.usage.persistent).sum();
    let owned_t: usize = packages
        .iter()
        .map(|p| p.usage.clear_on_reset + p.usage.clear_on_deselect)
        .sum();
    let stats = Stats {
        persistent: Used {
            used: persistent,
            limit: state.profile.heap_memory,
        },
        transient: Used {
            used: transient,
            limit: state.profile.transient_memory,
        },
        objects: state.heap.objects.len(),
        unattributed_persistent: persistent.saturating_sub(owned_p),
        unattributed_transient: transient.saturating_sub(owned_t),
        packages,
    };
    if args.json {
        return out::line(format_args!("{}", serde_json::to_string_pretty(&stats)?));
    }
    out::line(format_args!(
        "persistent {} of {} bytes, transient {} of {} bytes, {} objects (not owned by a package: {} persistent, {} transient)",
        stats.persistent.used,
        stats.persistent.limit,
        stats.transient.used,
        stats.transient.limit,
        stats.objects,
        stats.unattributed_persistent,
        stats.unattributed_transient,
    ))?;
    for p in &stats.packages {
        let u = &p.usage;
        out::line(format_args!(
            "package {}: persistent {} bytes, CLEAR_ON_RESET {}, CLEAR_ON_DESELECT {}, {} objects, static fields {} bytes",
            hex::encode_upper(&p.aid),
            u.persistent,
            u.clear_on_reset,
            u.clear_on_deselect,
            u.objects,
            u.statics
        ))?;
        for a in &p.applets {
            out::line(format_args!("  applet {}", hex::encode_upper(a)))?;
        }
    }
    Ok(())
}
