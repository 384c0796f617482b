//! `jct cap dump`: every component of a CAP file rendered as text for a person.
//!
//! The dump shows what the bytes say and, next to it, what they mean: flags in
//! words, imported packages by API name, constant pool entries and bytecode
//! operands resolved to class, method and field names, branch targets as
//! absolute offsets. Names come from wherever the file allows (see
//! [`names`]); the layout is jct's own.
//!
//! The dump must work on anything the decoder accepts, including files whose
//! components disagree with each other (fuzzed or hand-edited CAPs): every
//! cross-reference is looked up, never indexed, and a reference that points
//! nowhere is shown as such (`<bad cp index 77>`) instead of panicking.

mod api_link;
mod classes;
mod code;
mod data;
mod debug;
mod descriptor;
mod flags;
mod members;
mod names;
mod operands;
mod package;
mod pool;
mod refs;

use std::collections::HashMap;

use crate::cap::{Cap, Component, Container};

use names::Names;

/// Text under construction, with indentation by depth.
struct Out {
    text: String,
}

impl Out {
    /// One line at `depth` (two spaces a level).
    pub fn line(&mut self, depth: usize, s: impl AsRef<str>) {
        for _ in 0..depth {
            self.text.push_str("  ");
        }
        self.text.push_str(s.as_ref());
        self.text.push('\n');
    }

    /// Raw bytes as hex rows at `depth`; `(empty)` when there are none.
    pub fn hex(&mut self, depth: usize, bytes: &[u8]) {
        if bytes.is_empty() {
            self.line(depth, "(empty)");
        }
        for row in flags::hex_rows(bytes) {
            self.line(depth, row);
        }
    }
}

/// The heading a component's section starts with, e.g. `Header component`
/// or `Custom(0x80) component`: what a reader (or a test) looks for.
pub fn section_title(c: &Component) -> String {
    format!("{} component", c.name())
}

/// Renders every component of `cap`, in tag order, as text.
pub fn render_text(cap: &Cap) -> String {
    let mut out = Out {
        text: String::new(),
    };
    let names = Names::new(cap);
    let ctx = cap.context();
    let sizes: HashMap<u8, usize> = cap
        .components
        .iter()
        .filter_map(|c| Some((c.tag_byte(), c.encode_body(&ctx).ok()?.len())))
        .collect();
    summary(cap, &mut out);
    let mut order: Vec<&Component> = cap.components.iter().collect();
    order.sort_by_key(|c| c.tag_byte());
    for c in order {
        out.line(0, "");
        let size = match sizes.get(&c.tag_byte()) {
            Some(n) => format!("{n} bytes"),
            None => "size unknown: the model does not encode".into(),
        };
        out.line(
            0,
            format!("== {} (tag {}, {size}) ==", section_title(c), c.tag_byte()),
        );
        component(c, cap, &names, &sizes, &mut out);
    }
    out.text
}

/// The first lines: format, container, package.
fn summary(cap: &Cap, out: &mut Out) {
    let container = match &cap.container {
        Container::Jar { entries } => format!("CAP JAR ({} entries)", entries.len()),
        Container::LoadFile => "raw load file".to_string(),
    };
    out.line(
        0,
        format!(
            "CAP file, format {}, {container}, {} component(s)",
            cap.format,
            cap.components.len()
        ),
    );
    if let Some(h) = cap.header() {
        let name = h.package_name().unwrap_or("(no name)");
        out.line(0, format!("load file AID {} {name}", h.load_file_aid()));
    }
}

fn component(
    c: &Component,
    cap: &Cap,
    names: &Names<'_>,
    sizes: &HashMap<u8, usize>,
    out: &mut Out,
) {
    match c {
        Component::Header(h) => package::header(h, out),
        Component::Directory(d) => package::directory(d, sizes, out),
        Component::Applet(a) => package::applets(a, names, out),
        Component::Import(i) => package::imports(i, names, out),
        Component::ConstantPool(p) => pool::constant_pool(p, names, out),
        Component::Class(c) => classes::class_component(c, names, out),
        Component::Method(m) => code::method_component(m, names, out),
        Component::StaticField(s) => data::static_field(s, out),
        Component::RefLocation(r) => data::ref_location(r, names, out),
        Component::Export(e) => data::export(e, cap, names, out),
        Component::Descriptor(d) => descriptor::descriptor(d, names, out),
        Component::Debug(d) => debug::debug(d, out),
        Component::StaticResources(s) => data::static_resources(s, out),
        Component::Custom { info, .. } => out.hex(1, info),
    }
}
