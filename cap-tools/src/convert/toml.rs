//! The small part of TOML that `jct.toml` uses: `[table]` and `[[array]]`
//! headers, `key = value` pairs with strings (basic and literal), booleans,
//! integers and arrays of those (which may span lines), and `#` comments.
//!
//! A hand-written reader keeps cap-tools free of a TOML dependency for a
//! file with a dozen keys. Anything outside the subset (inline tables,
//! dotted keys, dates, floats) is an error naming the line, never a guess.

use std::collections::BTreeMap;

/// A value of the subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Array(Vec<Value>),
}

impl Value {
    /// What the value is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Array(_) => "an array",
        }
    }
}

/// The key/value pairs of one table, in file order, with their line numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The header line (0 for the root table).
    pub line: usize,
    pub entries: Vec<(String, Value, usize)>,
}

impl Table {
    /// The value of a key and its line.
    pub fn get(&self, key: &str) -> Option<(&Value, usize)> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, l)| (v, *l))
    }
}

/// A parsed document: the root table, the `[name]` tables and the
/// `[[name]]` arrays of tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub root: Table,
    pub tables: BTreeMap<String, Table>,
    pub arrays: BTreeMap<String, Vec<Table>>,
}

/// Which table `key = value` lines go to.
enum Target {
    Root,
    Table(String),
    Array(String),
}

/// Parses the subset; errors are `line N: ...`.
pub fn parse(text: &str) -> Result<Document, String> {
    let mut doc = Document::default();
    let mut target = Target::Root;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = strip_comment(lines[i]).trim().to_string();
        i += 1;
        if line.is_empty() {
            continue;
        }
        let err = |m: String| format!("line {line_no}: {m}");
        if let Some(rest) = line.strip_prefix("[[") {
            let name = rest
                .strip_suffix("]]")
                .ok_or_else(|| err("an array-of-tables header ends with ]]".into()))?;
            let name = header_name(name).map_err(err)?;
            doc.arrays.entry(name.clone()).or_default().push(Table {
                line: line_no,
                entries: Vec::new(),
            });
            target = Target::Array(name);
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| err("a table header ends with ]".into()))?;
            let name = header_name(name).map_err(err)?;
            if doc.tables.contains_key(&name) {
                return Err(err(format!("table [{name}] appears twice")));
            }
            doc.tables.insert(
                name.clone(),
                Table {
                    line: line_no,
                    entries: Vec::new(),
                },
            );
            target = Target::Table(name);
            continue;
        }
        let (key, rest) = line
            .split_once('=')
            .ok_or_else(|| err("expected `key = value`, a [table] or an [[array]]".into()))?;
        let key = parse_key(key.trim()).map_err(err)?;
        // An array may continue on the following lines until its brackets balance.
        let mut value_text = rest.trim().to_string();
        while value_text.starts_with('[') && !brackets_closed(&value_text) {
            let next = lines
                .get(i)
                .ok_or_else(|| err(format!("the array of `{key}` is not closed")))?;
            value_text.push(' ');
            value_text.push_str(strip_comment(next).trim());
            i += 1;
        }
        let mut p = Parser {
            s: value_text.as_bytes(),
            at: 0,
        };
        let value = p.value().map_err(err)?;
        p.skip_ws();
        if p.at != p.s.len() {
            return Err(err(format!("unexpected text after the value of `{key}`")));
        }
        let table = match &target {
            Target::Root => &mut doc.root,
            Target::Table(n) => doc.tables.get_mut(n).expect("table was inserted"),
            Target::Array(n) => doc
                .arrays
                .get_mut(n)
                .and_then(|v| v.last_mut())
                .expect("array element was pushed"),
        };
        if table.get(&key).is_some() {
            return Err(err(format!("key `{key}` appears twice in its table")));
        }
        table.entries.push((key, value, line_no));
    }
    Ok(doc)
}

/// Removes a `#` comment that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

/// True when every `[` outside strings has its `]`.
fn brackets_closed(s: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '[' => depth += 1,
            None if c == ']' => depth -= 1,
            None => {}
        }
    }
    depth <= 0
}

fn header_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    if name.is_empty() || !name.chars().all(is_bare_key_char) {
        return Err(format!(
            "table name `{name}` is not a bare key (letters, digits, - and _)"
        ));
    }
    Ok(name.to_string())
}

fn is_bare_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn parse_key(s: &str) -> Result<String, String> {
    if let Some(q) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Ok(q.to_string());
    }
    if s.is_empty() || !s.chars().all(is_bare_key_char) {
        return Err(format!(
            "key `{s}` is not a bare key (dotted keys are not supported)"
        ));
    }
    Ok(s.to_string())
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.at < self.s.len() && matches!(self.s[self.at], b' ' | b'\t') {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        match self.s.get(self.at) {
            Some(b'"') => self.basic_string().map(Value::Str),
            Some(b'\'') => self.literal_string().map(Value::Str),
            Some(b'[') => self.array(),
            Some(b'{') => Err("inline tables are not supported".into()),
            Some(_) => self.scalar(),
            None => Err("a value is missing".into()),
        }
    }

    fn basic_string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.at).ok_or("a string is not closed")?;
            self.at += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.s.get(self.at).ok_or("a string is not closed")?;
                    self.at += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.at..self.at + 4)
                                .ok_or("\\u needs four hex digits")?;
                            self.at += 4;
                            let code = std::str::from_utf8(hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32)
                                .ok_or("\\u needs four hex digits of a character")?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(code.encode_utf8(&mut buf).as_bytes());
                        }
                        other => {
                            return Err(format!("unknown escape \\{}", other as char));
                        }
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).map_err(|_| "a string is not valid UTF-8".to_string())
    }

    fn literal_string(&mut self) -> Result<String, String> {
        self.at += 1;
        let start = self.at;
        while self.s.get(self.at).is_some_and(|&c| c != b'\'') {
            self.at += 1;
        }
        if self.at >= self.s.len() {
            return Err("a string is not closed".into());
        }
        let text = String::from_utf8(self.s[start..self.at].to_vec())
            .map_err(|_| "a string is not valid UTF-8".to_string())?;
        self.at += 1;
        Ok(text)
    }

    fn array(&mut self) -> Result<Value, String> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.s.get(self.at) == Some(&b']') {
                self.at += 1;
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.s.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {}
                _ => return Err("array items are separated by commas".into()),
            }
        }
    }

    fn scalar(&mut self) -> Result<Value, String> {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|c| !matches!(c, b' ' | b'\t' | b',' | b']'))
        {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
        match word {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let digits = word.replace('_', "");
        let parsed = if let Some(h) = digits.strip_prefix("0x") {
            i64::from_str_radix(h, 16).ok()
        } else {
            digits.parse::<i64>().ok()
        };
        parsed.map(Value::Int).ok_or_else(|| {
            format!("`{word}` is not a string, boolean or integer (strings need quotes)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let doc = parse(
            r#"
            # a comment
            top = 1
            [package]
            name = "com.example.hello"  # trailing comment
            aid = 'F0:00:00:00:01:01'
            [[applet]]
            class = "HelloApplet"
            [[applet]]
            class = "Other"
            [build]
            int = true
            exportpath = [
                "a#b",
                "c",
            ]
            "#,
        )
        .unwrap();
        assert_eq!(doc.root.get("top").unwrap().0, &Value::Int(1));
        let p = &doc.tables["package"];
        assert_eq!(
            p.get("name").unwrap().0,
            &Value::Str("com.example.hello".into())
        );
        assert_eq!(
            p.get("aid").unwrap().0,
            &Value::Str("F0:00:00:00:01:01".into())
        );
        assert_eq!(doc.arrays["applet"].len(), 2);
        let b = &doc.tables["build"];
        assert_eq!(b.get("int").unwrap().0, &Value::Bool(true));
        assert_eq!(
            b.get("exportpath").unwrap().0,
            &Value::Array(vec![Value::Str("a#b".into()), Value::Str("c".into())])
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for bad in [
            "a.b = 1",
            "x = {a = 1}",
            "x = 1.5",
            "x = \"open",
            "[t]\n[t]",
            "x = 1\nx = 2",
            "x = [1, 2",
            "just words",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with("line "), "{bad}: {e}");
        }
    }
}
