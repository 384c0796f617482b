//! The emulated card's APDU processing, from the middle of a session: a
//! secure channel open and the hello load file half loaded. The first
//! input byte chooses the set-up (see `jct_fuzz::emu::Setup`: SCP02 or
//! SCP03, security level, LOAD blocks already accepted) and whether the
//! APDUs that follow (2-byte length, then the bytes) are wrapped by the
//! host's channel — so they pass the MAC checks — or sent as they are.
//! Every command gets a status word; whatever the card keeps is a state it
//! would load again, and is what its state file holds.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(jct_fuzz::scratch_dir)
}

fuzz_target!(|data: &[u8]| {
    let _card = jct_fuzz::emu::run(data, dir());
});
