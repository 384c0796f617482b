//! The converter's intermediate form of Java Card code: instructions whose
//! constant-pool operands are still symbolic ([`CpKey`]), whose branch
//! targets are JVM instruction indices and whose locals are JVM slots.
//! Assembly (`asm`) fixes the constant pool indices, the JC local numbers and
//! the branch offsets, choosing short or wide forms as the distances need.

/// A constant-pool entry named by what it refers to. Classes and members are
/// given by internal class name, member name and descriptor; `cp` resolves
/// them to CAP constant pool entries (internal offsets or tokens).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CpKey {
    /// A class or interface (new, anewarray, checkcast, catch types, ...).
    Class(String),
    /// An instance field, named through the class the JVM reference names.
    InstanceField {
        class: String,
        name: String,
        desc: String,
    },
    /// A virtual method, named through the class the JVM reference names.
    VirtualMethod {
        class: String,
        name: String,
        desc: String,
    },
    /// A `super.m()` call made from a method of `class`.
    SuperMethod {
        class: String,
        name: String,
        desc: String,
    },
    StaticField {
        class: String,
        name: String,
        desc: String,
    },
    /// A static method, a constructor or a private instance method.
    StaticMethod {
        class: String,
        name: String,
        desc: String,
    },
}

impl CpKey {
    /// Instance field references come first in the pool, so that the
    /// one-byte index of `getfield_<t>` reaches them.
    pub fn is_instance_field(&self) -> bool {
        matches!(self, CpKey::InstanceField { .. })
    }

    /// The type the Descriptor component records for the entry: a field
    /// descriptor, a method descriptor, or none for classes.
    pub fn type_descriptor(&self) -> Option<&str> {
        match self {
            CpKey::Class(_) => None,
            CpKey::InstanceField { desc, .. }
            | CpKey::VirtualMethod { desc, .. }
            | CpKey::SuperMethod { desc, .. }
            | CpKey::StaticField { desc, .. }
            | CpKey::StaticMethod { desc, .. } => Some(desc),
        }
    }
}

/// One Java Card instruction before assembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JcOp {
    /// An instruction without operands, by mnemonic (`sadd`, `s2i`, `dup`, ...).
    Simple(&'static str),
    /// Pushes a short: `sconst_<n>`, `bspush` or `sspush`.
    PushShort(i16),
    /// Pushes an int: `iconst_<n>`, `bipush`, `sipush` or `iipush`.
    PushInt(i32),
    /// A load or store of a JVM local (`sload`, `istore`, `aload`, ...): the
    /// base mnemonic; the `_<n>` form is chosen when the JC index allows.
    Local { base: &'static str, slot: u16 },
    /// `sinc` / `iinc` (wide forms chosen by the constant).
    Inc { int: bool, slot: u16, delta: i16 },
    /// A branch by its short-form mnemonic, to a JVM instruction index.
    Branch {
        mnemonic: &'static str,
        target: usize,
    },
    /// An instruction with a two-byte constant pool index.
    Cp { mnemonic: &'static str, key: CpKey },
    /// `getfield_<t>`/`putfield_<t>` by base mnemonic: the one-byte index
    /// form, its `_w` form for large indices, or the `_this` form.
    Field {
        base: &'static str,
        key: CpKey,
        this: bool,
    },
    /// `invokeinterface nargs, index, token`.
    InvokeInterface { nargs: u8, key: CpKey, token: u8 },
    /// `newarray atype`.
    NewArray(u8),
    /// `checkcast` / `instanceof`: atype and, for classes and reference
    /// arrays, the class.
    TypeCheck {
        mnemonic: &'static str,
        atype: u8,
        key: Option<CpKey>,
    },
    /// `dup_x mn`.
    DupX(u8),
    /// `swap_x mn`.
    SwapX(u8),
    /// `stableswitch` / `itableswitch`.
    TableSwitch {
        int: bool,
        default: usize,
        low: i32,
        high: i32,
        targets: Vec<usize>,
    },
    /// `slookupswitch` / `ilookupswitch` (keys ascending).
    LookupSwitch {
        int: bool,
        default: usize,
        pairs: Vec<(i32, usize)>,
    },
}
