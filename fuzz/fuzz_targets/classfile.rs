//! Any bytes given to the class-file reader give a class or an error, never a
//! panic; so do the bytecode decoder, on both a parsed class's methods and
//! the raw input.
#![no_main]

use cap_tools::classfile::{check_supported_version, insn, ClassFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(class) = ClassFile::parse(data) {
        let _ = check_supported_version(&class);
        for method in &class.methods {
            if let Ok(insns) = class.instructions(method) {
                let code = method.code.as_ref().map_or(0, |c| c.bytecode.len());
                assert!(insns.iter().all(|i| (i.pc as usize) < code));
            }
        }
    }
    if let Ok(insns) = insn::decode(data) {
        for i in &insns {
            let _ = i.mnemonic();
            let _ = i.encoded_len();
        }
    }
});
