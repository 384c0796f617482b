//! Script text to [`Script`]: one statement a line, every error naming
//! file, line and column.
//!
//! Variables are checked here, not at run time: a `$name` must be set by a
//! `let` or captured by an earlier step, so a typo is a parse error before
//! anything reaches the card.

use std::collections::HashSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use gp::privileges::Privileges;
use scp::SecurityLevel;

use super::limits::{
    MAX_CAPTURE, MAX_LINE_BYTES, MAX_NAME, MAX_SCRIPT_BYTES, MAX_STEPS, MAX_VARIABLES,
};
use super::pattern::{second_variable_length, Elem, Expectation, SwPattern};
use super::{Action, Install, Part, Script, Step};

/// A script that cannot be parsed (or read), with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// Longest command APDU: extended Lc and Le around 65,535 data bytes.
const MAX_COMMAND: usize = 4 + 3 + 65_535 + 2;

/// Reads and parses a script file; relative CAP paths in it are resolved
/// against its directory.
pub fn parse_file(path: &Path) -> Result<Script, ParseError> {
    let name = path.display().to_string();
    let whole = |message: String| ParseError {
        file: name.clone(),
        line: 0,
        column: 0,
        message,
    };
    let file =
        std::fs::File::open(path).map_err(|e| whole(format!("cannot read the script: {e}")))?;
    let mut bytes = Vec::new();
    // Read one byte more than allowed, to tell "at the limit" from "over it"
    // without trusting the file's reported size.
    file.take(MAX_SCRIPT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| whole(format!("cannot read the script: {e}")))?;
    if bytes.len() > MAX_SCRIPT_BYTES {
        return Err(whole(format!(
            "the script is larger than {MAX_SCRIPT_BYTES} bytes"
        )));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let before = &e.as_bytes()[..at];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            return Err(ParseError {
                file: name,
                line,
                column,
                message: "the script is not UTF-8 text".into(),
            });
        }
    };
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&name, &base, &text)
}

/// Parses script text. `name` names it in errors; `base` is where relative
/// CAP paths are resolved.
pub fn parse(name: &str, base: &Path, text: &str) -> Result<Script, ParseError> {
    if text.len() > MAX_SCRIPT_BYTES {
        return Err(ParseError {
            file: name.to_string(),
            line: 0,
            column: 0,
            message: format!("the script is larger than {MAX_SCRIPT_BYTES} bytes"),
        });
    }
    let mut p = Parser {
        file: name,
        base,
        steps: Vec::new(),
        known: HashSet::new(),
        line: 0,
        last_was_step: false,
    };
    for (i, raw) in text.lines().enumerate() {
        p.line = i + 1;
        p.statement(raw)?;
    }
    Ok(Script {
        name: name.to_string(),
        base: base.to_path_buf(),
        steps: p.steps,
    })
}

struct Parser<'a> {
    file: &'a str,
    base: &'a Path,
    steps: Vec<Step>,
    /// Variables set so far (by `let` or a capture).
    known: HashSet<String>,
    line: usize,
    /// Whether the previous non-blank line was a step (so a `<<` line may
    /// attach to it).
    last_was_step: bool,
}

/// A word of a line with its 1-based column.
#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    column: usize,
}

impl Parser<'_> {
    fn err(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            file: self.file.to_string(),
            line: self.line,
            column,
            message: message.into(),
        }
    }

    fn statement(&mut self, raw: &str) -> Result<(), ParseError> {
        if raw.len() > MAX_LINE_BYTES {
            return Err(self.err(1, format!("line longer than {MAX_LINE_BYTES} bytes")));
        }
        let body = strip_comment(raw);
        let Some(start) = body.find(|c: char| !c.is_whitespace()) else {
            return Ok(());
        };
        let column = col(raw, start);
        let text = body.trim();
        if let Some(rest) = text.strip_prefix("<<") {
            return self.attach_expectation(rest, column + 2);
        }
        let mut expect = None;
        let action = if let Some(rest) = text.strip_prefix(">>") {
            let (command, inline) = split_inline(rest);
            if let Some((e, at)) = inline {
                expect = Some(self.expectation(e, column + 2 + at + 2)?);
            }
            Action::Send(self.command(command, column + 2)?)
        } else {
            let words = self.words(text, column)?;
            let (keyword, args) = match words.split_first() {
                Some(x) => x,
                None => return Ok(()),
            };
            match keyword.text {
                "select" => {
                    let (aid_text, inline) = split_inline(&text[keyword.text.len()..]);
                    if let Some((e, at)) = inline {
                        expect = Some(self.expectation(e, column + keyword.text.len() + at + 2)?);
                    }
                    Action::Select(self.aid(aid_text, column + keyword.text.len(), "select")?)
                }
                "install" => Action::Install(self.install(keyword, args)?),
                "secure" => Action::Secure(self.level(keyword, args)?),
                "reset" => {
                    self.no_args(keyword, args)?;
                    Action::Reset
                }
                "power-cycle" => {
                    self.no_args(keyword, args)?;
                    Action::PowerCycle
                }
                "let" => self.let_statement(text, column, args)?,
                "get-response" => match args {
                    [w] if w.text == "on" => Action::GetResponse(true),
                    [w] if w.text == "off" => Action::GetResponse(false),
                    [w, ..] => return Err(self.err(w.column, "get-response takes 'on' or 'off'")),
                    [] => {
                        return Err(self.err(
                            keyword.column + keyword.text.len(),
                            "get-response takes 'on' or 'off'",
                        ))
                    }
                },
                other => {
                    return Err(self.err(
                        keyword.column,
                        format!(
                        "unknown statement '{other}': expected >>, <<, select, install, secure, \
                             reset, power-cycle, let or get-response"
                    ),
                    ))
                }
            }
        };
        if self.steps.len() >= MAX_STEPS {
            return Err(self.err(column, format!("more than {MAX_STEPS} steps in one script")));
        }
        if let Some(e) = &expect {
            self.define_captures(e, column)?;
        }
        if let Action::Let { name, .. } = &action {
            self.define(name, column)?;
        }
        self.last_was_step = action.has_response() && expect.is_none();
        self.steps.push(Step {
            line: self.line,
            text: text.to_string(),
            action,
            expect,
        });
        Ok(())
    }

    /// A `<<` line: the expectation of the step just before it.
    fn attach_expectation(&mut self, rest: &str, column: usize) -> Result<(), ParseError> {
        if !self.last_was_step {
            return Err(self.err(
                column - 2,
                match self.steps.last() {
                    Some(s) if s.expect.is_some() => {
                        "this step has an expectation already".to_string()
                    }
                    Some(s) if s.action.has_response() => {
                        "<< must follow its >> or select directly".to_string()
                    }
                    _ => "<< without a command before it: write >> APDU or select AID first"
                        .to_string(),
                },
            ));
        }
        let e = self.expectation(rest, column)?;
        self.define_captures(&e, column)?;
        self.last_was_step = false;
        if let Some(step) = self.steps.last_mut() {
            step.text = format!("{} << {}", step.text, rest.trim());
            step.expect = Some(e);
        }
        Ok(())
    }

    fn define_captures(&mut self, e: &Expectation, column: usize) -> Result<(), ParseError> {
        let names: Vec<String> = e.captures().map(str::to_string).collect();
        for n in names {
            self.define(&n, column)?;
        }
        Ok(())
    }

    fn define(&mut self, name: &str, column: usize) -> Result<(), ParseError> {
        if !self.known.contains(name) && self.known.len() >= MAX_VARIABLES {
            return Err(self.err(column, format!("more than {MAX_VARIABLES} variables")));
        }
        self.known.insert(name.to_string());
        Ok(())
    }

    /// Splits on whitespace, keeping "quoted words" whole.
    fn words<'t>(&self, text: &'t str, column: usize) -> Result<Vec<Word<'t>>, ParseError> {
        let mut out = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let at = column + text[..i].chars().count();
            if c == '"' {
                chars.next();
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| self.err(at, "unclosed quote"))?;
                out.push(Word {
                    text: &text[i + 1..end],
                    column: at,
                });
                continue;
            }
            let mut end = text.len();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_whitespace() {
                    end = j;
                    break;
                }
                chars.next();
            }
            out.push(Word {
                text: &text[i..end],
                column: at,
            });
        }
        Ok(out)
    }

    fn no_args(&self, keyword: &Word<'_>, args: &[Word<'_>]) -> Result<(), ParseError> {
        match args.first() {
            Some(w) => Err(self.err(w.column, format!("{} takes no arguments", keyword.text))),
            None => Ok(()),
        }
    }

    fn level(
        &self,
        keyword: &Word<'_>,
        args: &[Word<'_>],
    ) -> Result<Option<SecurityLevel>, ParseError> {
        let level = match args.first().map(|w| w.text) {
            None => return Ok(None),
            Some("mac") => SecurityLevel::C_MAC,
            Some("enc") => SecurityLevel::C_MAC_C_ENC,
            Some("rmac") => SecurityLevel::C_MAC_C_ENC_R_MAC,
            Some("renc") => SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC,
            Some(other) => {
                return Err(self.err(
                    args[0].column,
                    format!(
                        "unknown security level '{other}': use mac, enc, rmac or renc \
                         (or nothing for the default)"
                    ),
                ))
            }
        };
        self.no_args(keyword, &args[1..])?;
        Ok(Some(level))
    }

    fn let_statement(
        &self,
        text: &str,
        column: usize,
        args: &[Word<'_>],
    ) -> Result<Action, ParseError> {
        let (name_word, eq) = match args {
            [n, e, ..] => (n, e),
            [n] => return Err(self.err(n.column + n.text.len(), "let NAME = HEX: '=' is missing")),
            [] => return Err(self.err(column + 3, "let NAME = HEX: the name is missing")),
        };
        let name = name_word.text.strip_prefix('$').unwrap_or(name_word.text);
        self.check_name(name, name_word.column)?;
        if eq.text != "=" {
            return Err(self.err(eq.column, "let NAME = HEX: '=' is missing"));
        }
        let value_at = eq.column + 1 - column;
        let value_text = text.get(char_to_byte(text, value_at)..).unwrap_or("");
        let value = self.hex(value_text, eq.column + 1, "let")?;
        Ok(Action::Let {
            name: name.to_string(),
            value,
        })
    }

    fn install(&self, keyword: &Word<'_>, args: &[Word<'_>]) -> Result<Install, ParseError> {
        let Some((path, options)) = args.split_first() else {
            return Err(self.err(
                keyword.column + keyword.text.len(),
                "install needs a CAP file: install PATH [applet AID] [instance AID] [params HEX] [privs LIST]",
            ));
        };
        let cap = PathBuf::from(path.text);
        let mut install = Install {
            cap: if cap.is_absolute() {
                cap
            } else {
                self.base.join(cap)
            },
            applet: None,
            instance: None,
            params: Vec::new(),
            privileges: Privileges::default(),
        };
        let mut seen = HashSet::new();
        let mut rest = options.iter();
        while let Some(option) = rest.next() {
            let value = rest.next().ok_or_else(|| {
                self.err(
                    option.column + option.text.len(),
                    format!("install: {} needs a value", option.text),
                )
            })?;
            if !seen.insert(option.text) {
                return Err(self.err(
                    option.column,
                    format!("install: {} given twice", option.text),
                ));
            }
            match option.text {
                "applet" => install.applet = Some(self.aid(value.text, value.column, "applet")?),
                "instance" => {
                    install.instance = Some(self.aid(value.text, value.column, "instance")?)
                }
                "params" => install.params = self.hex(value.text, value.column, "params")?,
                "privs" => {
                    install.privileges = Privileges::parse_list(value.text)
                        .map_err(|e| self.err(value.column, format!("install: privs: {e}")))?
                }
                other => {
                    return Err(self.err(
                        option.column,
                        format!(
                        "install: unknown option '{other}': use applet, instance, params or privs"
                    ),
                    ))
                }
            }
        }
        Ok(install)
    }

    /// Hex bytes, spaces allowed; `column` is where `text` starts.
    fn hex(&self, text: &str, column: usize, what: &str) -> Result<Vec<u8>, ParseError> {
        let mut nibbles = Vec::new();
        for (i, c) in text.chars().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            let v = c
                .to_digit(16)
                .ok_or_else(|| self.err(column + i, format!("{what}: '{c}' is not a hex digit")))?;
            nibbles.push(v as u8);
        }
        if !nibbles.len().is_multiple_of(2) {
            let at = column + text.len() - text.trim_start().len();
            return Err(self.err(
                at,
                format!("{what}: odd number of hex digits ({})", nibbles.len()),
            ));
        }
        Ok(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
    }

    fn aid(&self, text: &str, column: usize, what: &str) -> Result<Vec<u8>, ParseError> {
        let at = column + text.len() - text.trim_start().len();
        let aid = self.hex(text, column, what)?;
        if !(5..=16).contains(&aid.len()) {
            return Err(self.err(
                at,
                format!(
                    "{what}: an AID has 5 to 16 bytes, this one has {}",
                    aid.len()
                ),
            ));
        }
        Ok(aid)
    }

    fn check_name(&self, name: &str, column: usize) -> Result<(), ParseError> {
        let mut chars = name.chars();
        let ok_first = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !ok_first || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.err(
                column,
                format!(
                    "'{name}' is not a variable name: a letter or _, then letters, digits or _"
                ),
            ));
        }
        if name.len() > MAX_NAME {
            return Err(self.err(
                column,
                format!("variable names have at most {MAX_NAME} characters"),
            ));
        }
        Ok(())
    }

    /// A command: hex, `$name`, `( ... )`.
    fn command(&self, text: &str, column: usize) -> Result<Vec<Part>, ParseError> {
        let mut s = Scanner::new(text, column);
        let mut top: Vec<Part> = Vec::new();
        let mut group: Option<(Vec<Part>, usize)> = None;
        let mut run = HexRun::default();
        while let Some((c, at)) = s.peek() {
            if c.is_whitespace() {
                s.next();
                continue;
            }
            if let Some(v) = c.to_digit(16) {
                run.push(v as u8, at);
                s.next();
                continue;
            }
            match c {
                '$' | '(' | ')' => {}
                '<' => return Err(self.err(at, "write the expectation as << EXPECTED")),
                other => {
                    return Err(self.err(
                        at,
                        format!(
                            "unexpected '{other}' in a command: write hex bytes, $name or ( ... )"
                        ),
                    ))
                }
            }
            let target = group.as_mut().map(|(g, _)| g).unwrap_or(&mut top);
            self.flush(&mut run, target)?;
            match c {
                '$' => {
                    s.next();
                    let name = s.name();
                    self.check_name(name, at + 1)?;
                    if !self.known.contains(name) {
                        return Err(self.unknown_variable(name, at));
                    }
                    target.push(Part::Var(name.to_string()));
                }
                '(' => {
                    if group.is_some() {
                        return Err(self.err(at, "( inside ( ... ): counted data does not nest"));
                    }
                    s.next();
                    group = Some((Vec::new(), at));
                }
                ')' => {
                    let Some((inner, opened)) = group.take() else {
                        return Err(self.err(at, ") without (".to_string()));
                    };
                    if let Some(n) = static_len(&inner) {
                        if n > 255 {
                            return Err(self.err(
                                opened,
                                format!(
                                    "( ... ) holds {n} bytes; a one-byte Lc counts at most 255"
                                ),
                            ));
                        }
                    }
                    s.next();
                    top.push(Part::Counted(inner));
                }
                _ => {} // every other character was refused above
            }
        }
        if let Some((_, opened)) = group {
            return Err(self.err(opened, "( without )"));
        }
        self.flush(&mut run, &mut top)?;
        if let Some(n) = static_len(&top) {
            if n < 4 {
                return Err(self.err(
                    column,
                    format!("a command needs at least CLA INS P1 P2 (4 bytes), this one has {n}"),
                ));
            }
            if n > MAX_COMMAND {
                return Err(self.err(
                    column,
                    format!("a command of {n} bytes is longer than any APDU"),
                ));
            }
        }
        Ok(top)
    }

    fn flush(&self, run: &mut HexRun, out: &mut Vec<Part>) -> Result<(), ParseError> {
        if run.nibbles.is_empty() {
            return Ok(());
        }
        let bytes = run.bytes().map_err(|(n, at)| {
            self.err(
                at,
                format!("odd number of hex digits ({n}): bytes are two digits each"),
            )
        })?;
        match out.last_mut() {
            Some(Part::Bytes(b)) => b.extend(bytes),
            _ => out.push(Part::Bytes(bytes)),
        }
        Ok(())
    }

    fn unknown_variable(&self, name: &str, at: usize) -> ParseError {
        self.err(
            at,
            format!(
                "unknown variable ${name}: capture it in an earlier response ($${name}:N or $${name}:*) or set it with let"
            )
            .replace("$$", "$"),
        )
    }

    /// An expectation: `any`, or a data pattern then status word patterns.
    fn expectation(&self, text: &str, column: usize) -> Result<Expectation, ParseError> {
        let lead = text.len() - text.trim_start().len();
        let start = column + text[..lead].chars().count();
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("any") {
            return Ok(Expectation::Any);
        }
        if trimmed.is_empty() {
            return Err(self.err(
                start,
                "an expectation is missing: e.g. << 9000, << * 9000, << 6F XX * 61XX, << any",
            ));
        }
        let items = self.pattern_items(text, column)?;
        // The status word alternatives are at the end: NNNN (| NNNN)*.
        let mut end = items.len();
        let mut sws = Vec::new();
        loop {
            let nibbles: Vec<&Item> = items[..end]
                .iter()
                .rev()
                .take(4)
                .take_while(|i| matches!(i, Item::Nibble(..)))
                .collect();
            if nibbles.len() < 4 {
                let at = items.get(end.saturating_sub(1)).map_or(start, Item::column);
                return Err(self.err(
                    at,
                    "the expectation must end with a status word: 4 hex digits or X (9000, 61XX, 6A8X), \
                     alternatives separated by |",
                ));
            }
            let (mut value, mut mask) = (0u16, 0u16);
            for item in nibbles.iter().rev() {
                if let Item::Nibble(v, _) = item {
                    value = (value << 4) | u16::from(v.unwrap_or(0));
                    mask = (mask << 4) | if v.is_some() { 0xF } else { 0 };
                }
            }
            sws.push(SwPattern { value, mask });
            end -= 4;
            match end.checked_sub(1).map(|i| &items[i]) {
                Some(Item::Bar(_)) => end -= 1,
                _ => break,
            }
        }
        sws.reverse();
        let mut data = Vec::new();
        let mut run: Vec<(Option<u8>, usize)> = Vec::new();
        let mut captured_here: HashSet<&str> = HashSet::new();
        let flush = |run: &mut Vec<(Option<u8>, usize)>, data: &mut Vec<Elem>| {
            if !run.len().is_multiple_of(2) {
                return Err(self.err(
                    run[0].1,
                    format!(
                        "odd number of hex digits ({}): bytes are two digits each",
                        run.len()
                    ),
                ));
            }
            for pair in run.chunks(2) {
                let (hi, lo) = (pair[0].0, pair[1].0);
                data.push(Elem::Byte {
                    value: (hi.unwrap_or(0) << 4) | lo.unwrap_or(0),
                    mask: (if hi.is_some() { 0xF0 } else { 0 })
                        | if lo.is_some() { 0x0F } else { 0 },
                });
            }
            run.clear();
            Ok(())
        };
        for item in &items[..end] {
            if let Item::Nibble(v, at) = item {
                run.push((*v, *at));
                continue;
            }
            flush(&mut run, &mut data)?;
            match item {
                Item::Nibble(..) => {}
                Item::Bar(at) => {
                    return Err(
                        self.err(*at, "| separates status word alternatives, at the end only")
                    )
                }
                Item::Star(_) => data.push(Elem::Star),
                Item::Var(name, at) => {
                    if captured_here.contains(name) || !self.known.contains(*name) {
                        return Err(self.unknown_variable(name, *at));
                    }
                    data.push(Elem::Var(name.to_string()));
                }
                Item::Capture(name, len, at) => {
                    if !captured_here.insert(name) {
                        return Err(
                            self.err(*at, format!("${name} is captured twice in one response"))
                        );
                    }
                    data.push(Elem::Capture {
                        name: name.to_string(),
                        len: *len,
                    });
                }
            }
        }
        flush(&mut run, &mut data)?;
        if let Some(i) = second_variable_length(&data) {
            let at = variable_length_column(&items[..end], i);
            return Err(self.err(
                at,
                "a pattern holds at most one * or $name:* (so that it matches one way only)",
            ));
        }
        Ok(Expectation::Match { data, sw: sws })
    }

    fn pattern_items<'t>(&self, text: &'t str, column: usize) -> Result<Vec<Item<'t>>, ParseError> {
        let mut s = Scanner::new(text, column);
        let mut items = Vec::new();
        while let Some((c, at)) = s.peek() {
            if c.is_whitespace() {
                s.next();
                continue;
            }
            if let Some(v) = c.to_digit(16) {
                items.push(Item::Nibble(Some(v as u8), at));
                s.next();
                continue;
            }
            match c {
                'x' | 'X' => items.push(Item::Nibble(None, at)),
                '*' => items.push(Item::Star(at)),
                '|' => items.push(Item::Bar(at)),
                '$' => {
                    s.next();
                    let name = s.name();
                    self.check_name(name, at + 1)?;
                    if s.peek().map(|(c, _)| c) == Some(':') {
                        s.next();
                        let len = match s.peek() {
                            Some(('*', _)) => {
                                s.next();
                                None
                            }
                            _ => {
                                let (digits, digits_at) = s.digits();
                                let n: usize = digits.parse().map_err(|_| {
                                    self.err(digits_at, format!("${name}: give a length (${name}:4) or * (${name}:*)"))
                                })?;
                                if n == 0 || n > MAX_CAPTURE {
                                    return Err(self.err(
                                        digits_at,
                                        format!("${name}:{n}: a capture takes 1 to {MAX_CAPTURE} bytes"),
                                    ));
                                }
                                Some(n)
                            }
                        };
                        items.push(Item::Capture(name, len, at));
                    } else {
                        items.push(Item::Var(name, at));
                    }
                    continue;
                }
                '<' | '>' => return Err(self.err(at, "one << per step: a response does not hold << or >>")),
                other => {
                    return Err(self.err(
                        at,
                        format!(
                            "unexpected '{other}' in an expectation: write hex bytes, X for any nibble, \
                             * for any bytes, $name:N to capture, $name to compare, then the status word"
                        ),
                    ))
                }
            }
            s.next();
        }
        Ok(items)
    }
}

/// A lexical item of an expectation.
#[derive(Debug)]
enum Item<'t> {
    /// A hex digit, or `None` for X; and its column.
    Nibble(Option<u8>, usize),
    Star(usize),
    Bar(usize),
    Var(&'t str, usize),
    Capture(&'t str, Option<usize>, usize),
}

impl Item<'_> {
    fn column(&self) -> usize {
        match self {
            Item::Nibble(_, c)
            | Item::Star(c)
            | Item::Bar(c)
            | Item::Var(_, c)
            | Item::Capture(_, _, c) => *c,
        }
    }
}

/// The column of the `i`-th data element's item, for the variable-length
/// error: elements are bytes (two nibble items) or one item each.
fn variable_length_column(items: &[Item<'_>], i: usize) -> usize {
    let mut element = 0;
    let mut nibbles = 0;
    for item in items {
        match item {
            Item::Nibble(..) => {
                nibbles += 1;
                if nibbles == 2 {
                    nibbles = 0;
                    element += 1;
                }
            }
            Item::Bar(_) => {}
            other => {
                if element == i {
                    return other.column();
                }
                element += 1;
            }
        }
    }
    1
}

/// Characters with columns.
struct Scanner<'t> {
    text: &'t str,
    pos: usize,
    column: usize,
}

impl<'t> Scanner<'t> {
    fn new(text: &'t str, column: usize) -> Scanner<'t> {
        Scanner {
            text,
            pos: 0,
            column,
        }
    }

    fn peek(&self) -> Option<(char, usize)> {
        self.text[self.pos..]
            .chars()
            .next()
            .map(|c| (c, self.column))
    }

    fn next(&mut self) {
        if let Some(c) = self.text[self.pos..].chars().next() {
            self.pos += c.len_utf8();
            self.column += 1;
        }
    }

    /// Name characters from here (possibly none).
    fn name(&mut self) -> &'t str {
        self.take_while(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    fn digits(&mut self) -> (&'t str, usize) {
        let at = self.column;
        (self.take_while(|c| c.is_ascii_digit()), at)
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'t str {
        let start = self.pos;
        while let Some((c, _)) = self.peek() {
            if !f(c) {
                break;
            }
            self.next();
        }
        &self.text[start..self.pos]
    }
}

/// Hex digits gathered across spaces until something else comes.
#[derive(Default)]
struct HexRun {
    nibbles: Vec<u8>,
    start: usize,
}

impl HexRun {
    fn push(&mut self, v: u8, at: usize) {
        if self.nibbles.is_empty() {
            self.start = at;
        }
        self.nibbles.push(v);
    }

    /// The bytes, or (digit count, column) when the count is odd.
    fn bytes(&mut self) -> Result<Vec<u8>, (usize, usize)> {
        let n = std::mem::take(&mut self.nibbles);
        if !n.len().is_multiple_of(2) {
            return Err((n.len(), self.start));
        }
        Ok(n.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
    }
}

/// The length of parts without variables.
fn static_len(parts: &[Part]) -> Option<usize> {
    parts.iter().try_fold(0usize, |acc, p| match p {
        Part::Bytes(b) => Some(acc + b.len()),
        Part::Var(_) => None,
        Part::Counted(inner) => static_len(inner).map(|n| acc + 1 + n),
    })
}

/// The line without its comment: `#` at the start or after whitespace,
/// outside double quotes.
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted && prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// Splits `text` at its first `<<`: the part before, and the part after
/// with its character offset in `text`.
fn split_inline(text: &str) -> (&str, Option<(&str, usize)>) {
    match text.find("<<") {
        Some(i) => (
            &text[..i],
            Some((&text[i + 2..], text[..i].chars().count())),
        ),
        None => (text, None),
    }
}

/// The 1-based column of byte offset `i` of `line`.
fn col(line: &str, i: usize) -> usize {
    line[..i].chars().count() + 1
}

/// The byte offset of the `n`-th character (0-based) of `text`.
fn char_to_byte(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
