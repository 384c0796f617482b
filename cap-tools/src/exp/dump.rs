//! A readable text dump of an export file (`jct exp dump FILE`): the package,
//! then each class with its tokens, flags, descriptors and constant values in
//! aligned columns, so that tokens can be read off and compared by eye.
//!
//! The dump is built from the resolved [`View`], so it shows exactly what the
//! JSON view (`--json`) holds, laid out for people.

use super::view::{ClassView, FieldView, MethodView, PackageView, View};
use super::ExportFile;

/// Columns are separated by two spaces.
const GAP: usize = 2;

/// Renders `file`; a file whose indices do not resolve (possible only for a
/// hand-built one) is rendered as the error saying why.
pub fn render_text(file: &ExportFile) -> String {
    match file.view() {
        Ok(view) => render_view(&view),
        Err(e) => format!("{e}\n"),
    }
}

/// Renders an already resolved view.
pub fn render_view(view: &View) -> String {
    let mut out = String::new();
    let p = &view.package;
    let mut head = vec![
        row(["package", &p.name]),
        row(["AID", &p.aid.to_hex()]),
        row(["version", &p.version]),
        row(["flags", &words_or_dash(&p.flag_words)]),
        row(["format", &view.format]),
        row(["classes", &view.classes.len().to_string()]),
    ];
    if let Some(refs) = &view.referenced_packages {
        head.push(row(["references", &refs.len().to_string()]));
    }
    table(&mut out, "", None, &head);
    if let Some(refs) = view
        .referenced_packages
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        out.push('\n');
        out.push_str("referenced packages\n");
        let rows: Vec<Vec<String>> = refs.iter().map(package_row).collect();
        table(&mut out, "  ", Some(&["name", "AID", "version"]), &rows);
    }
    for class in &view.classes {
        out.push('\n');
        render_class(&mut out, class);
    }
    out
}

fn package_row(p: &PackageView) -> Vec<String> {
    row([&p.name, &p.aid.to_hex(), &p.version])
}

fn render_class(out: &mut String, c: &ClassView) {
    let what = if c.is_interface() {
        "interface"
    } else {
        "class"
    };
    out.push_str(&format!("{what} {}\n", c.java_name()));
    let mut kv = vec![
        row(["token", &c.token.to_string()]),
        row(["flags", &words_or_dash(&c.flag_words)]),
    ];
    if !c.supers.is_empty() {
        kv.push(row(["supers", &dotted(&c.supers)]));
    }
    if !c.interfaces.is_empty() {
        kv.push(row(["interfaces", &dotted(&c.interfaces)]));
    }
    if let Some(n) = c.cap22_inheritable_public_method_token_count {
        kv.push(row([
            "inheritable",
            &format!("{n} (CAP22_inheritable_public_method_token_count)"),
        ]));
    }
    table(out, "  ", None, &kv);
    if !c.fields.is_empty() {
        out.push_str("  fields\n");
        let rows: Vec<Vec<String>> = c.fields.iter().map(field_row).collect();
        table(
            out,
            "    ",
            Some(&["token", "kind", "flags", "name", "descriptor", "value"]),
            &rows,
        );
    }
    if !c.methods.is_empty() {
        out.push_str("  methods\n");
        let rows: Vec<Vec<String>> = c.methods.iter().map(method_row).collect();
        table(
            out,
            "    ",
            Some(&["token", "kind", "flags", "name", "descriptor"]),
            &rows,
        );
    }
}

fn field_row(f: &FieldView) -> Vec<String> {
    let mut value = f
        .value
        .map(|v| show_value(&f.descriptor, v))
        .unwrap_or_default();
    for a in &f.other_attributes {
        if !value.is_empty() {
            value.push_str("; ");
        }
        value.push_str(&format!("{} {}", a.name, a.info));
    }
    vec![
        f.token.to_string(),
        f.kind.as_str().into(),
        words_or_dash(&f.flag_words),
        f.name.clone(),
        f.descriptor.clone(),
        value,
    ]
}

fn method_row(m: &MethodView) -> Vec<String> {
    vec![
        m.token.to_string(),
        m.kind.as_str().into(),
        words_or_dash(&m.flag_words),
        m.name.clone(),
        m.descriptor.clone(),
    ]
}

/// A constant in decimal and, for numbers, in hex of the type's width.
// The hex forms show the bits of the type's width: truncation intended.
#[allow(clippy::cast_possible_truncation)]
fn show_value(descriptor: &str, v: i32) -> String {
    match descriptor {
        "Z" => match v {
            0 => "false".into(),
            1 => "true".into(),
            other => other.to_string(),
        },
        "B" => format!("{v} (0x{:02X})", v as u8),
        "S" => format!("{v} (0x{:04X})", v as u16),
        _ => format!("{v} (0x{:08X})", v as u32),
    }
}

fn dotted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| n.replace('/', "."))
        .collect::<Vec<_>>()
        .join(", ")
}

fn words_or_dash(words: &[String]) -> String {
    if words.is_empty() {
        "-".into()
    } else {
        words.join(" ")
    }
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// Writes rows (and an optional header) with every column as wide as its
/// widest cell; the last column is not padded, so lines carry no trailing blanks.
fn table(out: &mut String, indent: &str, header: Option<&[&str]>, rows: &[Vec<String>]) {
    let header: Option<Vec<String>> = header.map(|h| h.iter().map(|s| s.to_string()).collect());
    let all = header.iter().chain(rows);
    let mut widths: Vec<usize> = Vec::new();
    for r in all.clone() {
        for (i, cell) in r.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => widths.push(w),
            }
        }
    }
    for r in all {
        let mut line = String::from(indent);
        for (cell, width) in r.iter().zip(&widths) {
            line.push_str(cell);
            let pad = width + GAP - cell.chars().count();
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_without_trailing_blanks() {
        let mut out = String::new();
        let rows = vec![row(["0", "a", "()V"]), row(["255", "longer", ""])];
        table(
            &mut out,
            "  ",
            Some(&["token", "name", "descriptor"]),
            &rows,
        );
        assert_eq!(
            out,
            "  token  name    descriptor\n  0      a       ()V\n  255    longer\n"
        );
    }

    #[test]
    fn values_show_their_type_width() {
        assert_eq!(show_value("S", -28672), "-28672 (0x9000)");
        assert_eq!(show_value("B", -1), "-1 (0xFF)");
        assert_eq!(show_value("Z", 1), "true");
        assert_eq!(show_value("I", 5), "5 (0x00000005)");
    }
}
