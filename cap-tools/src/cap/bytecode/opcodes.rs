//! The Java Card opcode table (JCVM specification chapter 7 and the table of
//! instructions by opcode value): mnemonic and operand layout of every opcode.
//!
//! The decoder, the encoder and the disassembler all read this one table, so an
//! opcode's operand format is written down exactly once.

use serde::Serialize;

use super::ExpectedCp;

/// How the bytes after an opcode are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// No operands.
    None,
    /// One signed byte pushed as a value (`bspush`, `bipush`).
    Byte,
    /// One signed 16-bit value (`sspush`, `sipush`).
    Short,
    /// One signed 32-bit value (`iipush`).
    Int,
    /// A local variable index (u1).
    Local,
    /// A local variable index (u1) and a signed byte increment (`sinc`, `iinc`).
    LocalInc,
    /// A local variable index (u1) and a signed 16-bit increment (`sinc_w`, `iinc_w`).
    LocalIncWide,
    /// The `mn` byte of `dup_x` and `swap_x`: two nibbles counting stack words.
    StackWords,
    /// A signed 8-bit branch offset from the opcode.
    Branch,
    /// A signed 16-bit branch offset from the opcode.
    BranchWide,
    /// A one-byte constant-pool index.
    Cp1(ExpectedCp),
    /// A two-byte constant-pool index.
    Cp2(ExpectedCp),
    /// A primitive array type code (`newarray`).
    ArrayType,
    /// An array type code and a two-byte constant-pool index (`checkcast`, `instanceof`).
    TypeCheck,
    /// `invokeinterface`: nargs (u1), constant-pool index (u2), method token (u1).
    InvokeInterface,
    /// `stableswitch`: default, low, high (s2 each), then high-low+1 offsets (s2).
    STableSwitch,
    /// `itableswitch`: default (s2), low, high (s4 each), then high-low+1 offsets (s2).
    ITableSwitch,
    /// `slookupswitch`: default (s2), npairs (u2), then pairs of match (s2) and offset (s2).
    SLookupSwitch,
    /// `ilookupswitch`: default (s2), npairs (u2), then pairs of match (s4) and offset (s2).
    ILookupSwitch,
}

/// One row of the opcode table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpcodeInfo {
    pub opcode: u8,
    pub mnemonic: &'static str,
    pub layout: Layout,
}

/// Shorthand constructor for the table below.
const fn op(opcode: u8, mnemonic: &'static str, layout: Layout) -> OpcodeInfo {
    OpcodeInfo {
        opcode,
        mnemonic,
        layout,
    }
}

use ExpectedCp as E;
use Layout as L;

/// Every defined opcode, in opcode order.
pub const OPCODES: &[OpcodeInfo] = &[
    op(0x00, "nop", L::None),
    op(0x01, "aconst_null", L::None),
    op(0x02, "sconst_m1", L::None),
    op(0x03, "sconst_0", L::None),
    op(0x04, "sconst_1", L::None),
    op(0x05, "sconst_2", L::None),
    op(0x06, "sconst_3", L::None),
    op(0x07, "sconst_4", L::None),
    op(0x08, "sconst_5", L::None),
    op(0x09, "iconst_m1", L::None),
    op(0x0A, "iconst_0", L::None),
    op(0x0B, "iconst_1", L::None),
    op(0x0C, "iconst_2", L::None),
    op(0x0D, "iconst_3", L::None),
    op(0x0E, "iconst_4", L::None),
    op(0x0F, "iconst_5", L::None),
    op(0x10, "bspush", L::Byte),
    op(0x11, "sspush", L::Short),
    op(0x12, "bipush", L::Byte),
    op(0x13, "sipush", L::Short),
    op(0x14, "iipush", L::Int),
    op(0x15, "aload", L::Local),
    op(0x16, "sload", L::Local),
    op(0x17, "iload", L::Local),
    op(0x18, "aload_0", L::None),
    op(0x19, "aload_1", L::None),
    op(0x1A, "aload_2", L::None),
    op(0x1B, "aload_3", L::None),
    op(0x1C, "sload_0", L::None),
    op(0x1D, "sload_1", L::None),
    op(0x1E, "sload_2", L::None),
    op(0x1F, "sload_3", L::None),
    op(0x20, "iload_0", L::None),
    op(0x21, "iload_1", L::None),
    op(0x22, "iload_2", L::None),
    op(0x23, "iload_3", L::None),
    op(0x24, "aaload", L::None),
    op(0x25, "baload", L::None),
    op(0x26, "saload", L::None),
    op(0x27, "iaload", L::None),
    op(0x28, "astore", L::Local),
    op(0x29, "sstore", L::Local),
    op(0x2A, "istore", L::Local),
    op(0x2B, "astore_0", L::None),
    op(0x2C, "astore_1", L::None),
    op(0x2D, "astore_2", L::None),
    op(0x2E, "astore_3", L::None),
    op(0x2F, "sstore_0", L::None),
    op(0x30, "sstore_1", L::None),
    op(0x31, "sstore_2", L::None),
    op(0x32, "sstore_3", L::None),
    op(0x33, "istore_0", L::None),
    op(0x34, "istore_1", L::None),
    op(0x35, "istore_2", L::None),
    op(0x36, "istore_3", L::None),
    op(0x37, "aastore", L::None),
    op(0x38, "bastore", L::None),
    op(0x39, "sastore", L::None),
    op(0x3A, "iastore", L::None),
    op(0x3B, "pop", L::None),
    op(0x3C, "pop2", L::None),
    op(0x3D, "dup", L::None),
    op(0x3E, "dup2", L::None),
    op(0x3F, "dup_x", L::StackWords),
    op(0x40, "swap_x", L::StackWords),
    op(0x41, "sadd", L::None),
    op(0x42, "iadd", L::None),
    op(0x43, "ssub", L::None),
    op(0x44, "isub", L::None),
    op(0x45, "smul", L::None),
    op(0x46, "imul", L::None),
    op(0x47, "sdiv", L::None),
    op(0x48, "idiv", L::None),
    op(0x49, "srem", L::None),
    op(0x4A, "irem", L::None),
    op(0x4B, "sneg", L::None),
    op(0x4C, "ineg", L::None),
    op(0x4D, "sshl", L::None),
    op(0x4E, "ishl", L::None),
    op(0x4F, "sshr", L::None),
    op(0x50, "ishr", L::None),
    op(0x51, "sushr", L::None),
    op(0x52, "iushr", L::None),
    op(0x53, "sand", L::None),
    op(0x54, "iand", L::None),
    op(0x55, "sor", L::None),
    op(0x56, "ior", L::None),
    op(0x57, "sxor", L::None),
    op(0x58, "ixor", L::None),
    op(0x59, "sinc", L::LocalInc),
    op(0x5A, "iinc", L::LocalInc),
    op(0x5B, "s2b", L::None),
    op(0x5C, "s2i", L::None),
    op(0x5D, "i2b", L::None),
    op(0x5E, "i2s", L::None),
    op(0x5F, "icmp", L::None),
    op(0x60, "ifeq", L::Branch),
    op(0x61, "ifne", L::Branch),
    op(0x62, "iflt", L::Branch),
    op(0x63, "ifge", L::Branch),
    op(0x64, "ifgt", L::Branch),
    op(0x65, "ifle", L::Branch),
    op(0x66, "ifnull", L::Branch),
    op(0x67, "ifnonnull", L::Branch),
    op(0x68, "if_acmpeq", L::Branch),
    op(0x69, "if_acmpne", L::Branch),
    op(0x6A, "if_scmpeq", L::Branch),
    op(0x6B, "if_scmpne", L::Branch),
    op(0x6C, "if_scmplt", L::Branch),
    op(0x6D, "if_scmpge", L::Branch),
    op(0x6E, "if_scmpgt", L::Branch),
    op(0x6F, "if_scmple", L::Branch),
    op(0x70, "goto", L::Branch),
    op(0x71, "jsr", L::BranchWide),
    op(0x72, "ret", L::Local),
    op(0x73, "stableswitch", L::STableSwitch),
    op(0x74, "itableswitch", L::ITableSwitch),
    op(0x75, "slookupswitch", L::SLookupSwitch),
    op(0x76, "ilookupswitch", L::ILookupSwitch),
    op(0x77, "areturn", L::None),
    op(0x78, "sreturn", L::None),
    op(0x79, "ireturn", L::None),
    op(0x7A, "return", L::None),
    op(0x7B, "getstatic_a", L::Cp2(E::StaticFieldRef)),
    op(0x7C, "getstatic_b", L::Cp2(E::StaticFieldRef)),
    op(0x7D, "getstatic_s", L::Cp2(E::StaticFieldRef)),
    op(0x7E, "getstatic_i", L::Cp2(E::StaticFieldRef)),
    op(0x7F, "putstatic_a", L::Cp2(E::StaticFieldRef)),
    op(0x80, "putstatic_b", L::Cp2(E::StaticFieldRef)),
    op(0x81, "putstatic_s", L::Cp2(E::StaticFieldRef)),
    op(0x82, "putstatic_i", L::Cp2(E::StaticFieldRef)),
    op(0x83, "getfield_a", L::Cp1(E::InstanceFieldRef)),
    op(0x84, "getfield_b", L::Cp1(E::InstanceFieldRef)),
    op(0x85, "getfield_s", L::Cp1(E::InstanceFieldRef)),
    op(0x86, "getfield_i", L::Cp1(E::InstanceFieldRef)),
    op(0x87, "putfield_a", L::Cp1(E::InstanceFieldRef)),
    op(0x88, "putfield_b", L::Cp1(E::InstanceFieldRef)),
    op(0x89, "putfield_s", L::Cp1(E::InstanceFieldRef)),
    op(0x8A, "putfield_i", L::Cp1(E::InstanceFieldRef)),
    op(0x8B, "invokevirtual", L::Cp2(E::VirtualMethodRef)),
    op(0x8C, "invokespecial", L::Cp2(E::StaticOrSuperMethodRef)),
    op(0x8D, "invokestatic", L::Cp2(E::StaticMethodRef)),
    op(0x8E, "invokeinterface", L::InvokeInterface),
    op(0x8F, "new", L::Cp2(E::ClassRef)),
    op(0x90, "newarray", L::ArrayType),
    op(0x91, "anewarray", L::Cp2(E::ClassRef)),
    op(0x92, "arraylength", L::None),
    op(0x93, "athrow", L::None),
    op(0x94, "checkcast", L::TypeCheck),
    op(0x95, "instanceof", L::TypeCheck),
    op(0x96, "sinc_w", L::LocalIncWide),
    op(0x97, "iinc_w", L::LocalIncWide),
    op(0x98, "ifeq_w", L::BranchWide),
    op(0x99, "ifne_w", L::BranchWide),
    op(0x9A, "iflt_w", L::BranchWide),
    op(0x9B, "ifge_w", L::BranchWide),
    op(0x9C, "ifgt_w", L::BranchWide),
    op(0x9D, "ifle_w", L::BranchWide),
    op(0x9E, "ifnull_w", L::BranchWide),
    op(0x9F, "ifnonnull_w", L::BranchWide),
    op(0xA0, "if_acmpeq_w", L::BranchWide),
    op(0xA1, "if_acmpne_w", L::BranchWide),
    op(0xA2, "if_scmpeq_w", L::BranchWide),
    op(0xA3, "if_scmpne_w", L::BranchWide),
    op(0xA4, "if_scmplt_w", L::BranchWide),
    op(0xA5, "if_scmpge_w", L::BranchWide),
    op(0xA6, "if_scmpgt_w", L::BranchWide),
    op(0xA7, "if_scmple_w", L::BranchWide),
    op(0xA8, "goto_w", L::BranchWide),
    op(0xA9, "getfield_a_w", L::Cp2(E::InstanceFieldRef)),
    op(0xAA, "getfield_b_w", L::Cp2(E::InstanceFieldRef)),
    op(0xAB, "getfield_s_w", L::Cp2(E::InstanceFieldRef)),
    op(0xAC, "getfield_i_w", L::Cp2(E::InstanceFieldRef)),
    op(0xAD, "getfield_a_this", L::Cp1(E::InstanceFieldRef)),
    op(0xAE, "getfield_b_this", L::Cp1(E::InstanceFieldRef)),
    op(0xAF, "getfield_s_this", L::Cp1(E::InstanceFieldRef)),
    op(0xB0, "getfield_i_this", L::Cp1(E::InstanceFieldRef)),
    op(0xB1, "putfield_a_w", L::Cp2(E::InstanceFieldRef)),
    op(0xB2, "putfield_b_w", L::Cp2(E::InstanceFieldRef)),
    op(0xB3, "putfield_s_w", L::Cp2(E::InstanceFieldRef)),
    op(0xB4, "putfield_i_w", L::Cp2(E::InstanceFieldRef)),
    op(0xB5, "putfield_a_this", L::Cp1(E::InstanceFieldRef)),
    op(0xB6, "putfield_b_this", L::Cp1(E::InstanceFieldRef)),
    op(0xB7, "putfield_s_this", L::Cp1(E::InstanceFieldRef)),
    op(0xB8, "putfield_i_this", L::Cp1(E::InstanceFieldRef)),
    // Reserved for implementation-specific use; the specification forbids them
    // in a CAP file. They are decoded (so tools can show and reject them) but a
    // verifier must flag them.
    op(0xFE, "impdep1", L::None),
    op(0xFF, "impdep2", L::None),
];

/// The table indexed by opcode byte, built once at compile time.
static BY_OPCODE: [Option<OpcodeInfo>; 256] = {
    let mut t: [Option<OpcodeInfo>; 256] = [None; 256];
    let mut i = 0;
    while i < OPCODES.len() {
        t[OPCODES[i].opcode as usize] = Some(OPCODES[i]);
        i += 1;
    }
    t
};

/// The table row of an opcode byte, `None` for undefined opcodes.
pub fn opcode_info(opcode: u8) -> Option<&'static OpcodeInfo> {
    BY_OPCODE[opcode as usize].as_ref()
}

/// The opcode of a mnemonic (as the JCA assembler and the spec spell it).
///
/// The converter's assembler asks this once or twice per instruction it
/// emits, so the table is indexed once per process (sorted by mnemonic,
/// binary search) instead of scanned.
pub fn opcode_by_mnemonic(mnemonic: &str) -> Option<u8> {
    static BY_MNEMONIC: std::sync::OnceLock<Vec<(&'static str, u8)>> = std::sync::OnceLock::new();
    let table = BY_MNEMONIC.get_or_init(|| {
        let mut t: Vec<(&'static str, u8)> =
            OPCODES.iter().map(|o| (o.mnemonic, o.opcode)).collect();
        t.sort_unstable();
        t
    });
    table
        .binary_search_by(|(m, _)| (*m).cmp(mnemonic))
        .ok()
        .map(|i| table[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in OPCODES.windows(2) {
            assert!(w[0].opcode < w[1].opcode, "{:?} / {:?}", w[0], w[1]);
        }
        let mut names: Vec<&str> = OPCODES.iter().map(|o| o.mnemonic).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OPCODES.len());
    }

    #[test]
    fn contiguous_range_and_gaps() {
        // 0x00..=0xB8 are all defined; 0xB9..=0xFD are not.
        for b in 0x00..=0xB8u8 {
            assert!(opcode_info(b).is_some(), "{b:#04x}");
        }
        for b in 0xB9..=0xFDu8 {
            assert!(opcode_info(b).is_none(), "{b:#04x}");
        }
        assert_eq!(opcode_info(0xFE).map(|o| o.mnemonic), Some("impdep1"));
    }

    #[test]
    fn spot_checks_against_the_specification() {
        assert_eq!(opcode_by_mnemonic("getfield_a_this"), Some(0xAD));
        assert_eq!(opcode_by_mnemonic("invokeinterface"), Some(0x8E));
        assert_eq!(opcode_by_mnemonic("goto_w"), Some(0xA8));
        assert_eq!(opcode_by_mnemonic("ilookupswitch"), Some(0x76));
        assert_eq!(opcode_by_mnemonic("sinc_w"), Some(0x96));
        assert_eq!(opcode_by_mnemonic("no_such_op"), None);
        assert_eq!(
            opcode_info(0x8C).map(|o| o.layout),
            Some(Layout::Cp2(ExpectedCp::StaticOrSuperMethodRef))
        );
    }
}
