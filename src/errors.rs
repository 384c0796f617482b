//! How an error reaches the user: what failed, once, then what to do next.
//!
//! Errors in jct are chains: a context ("cannot read CAP x.cap") over a
//! library error over, often, an `io::Error`. Many library errors print
//! their source in their own message (thiserror's `#[error("...: {0}")]`)
//! *and* return it as `source()`, so printing the whole chain (anyhow's
//! `{:#}`) repeats the innermost cause once per level. [`render`] prints the
//! chain but leaves out a cause whose text the message above it already
//! contains, so every cause appears once whatever the error types do.
//!
//! A next step ("start `jct emu`", "install pcscd") is attached with
//! [`HintExt::hint`] (a [`Hinted`] error); it is printed on its own `hint:` line after the
//! message rather than inside it, so the message stays a plain statement of
//! what failed and where.

use std::fmt;

/// An error with a next step for the user. It reads as the error it wraps
/// (same message, same causes), so the chain is unchanged but for the hint.
#[derive(Debug)]
pub struct Hinted {
    pub hint: String,
    inner: anyhow::Error,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The wrapped error itself: its text is this one's, so rendering
        // skips it, and its own causes follow.
        Some(self.inner.as_ref())
    }
}

/// Attaching a next step to an error.
pub trait HintExt<T> {
    /// Adds `hint` (a next step) to the error, if any.
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E> HintExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            anyhow::Error::new(Hinted {
                hint: hint.into(),
                inner: e.into(),
            })
        })
    }
}

/// An error saying `message`, with the next step `hint`.
pub fn hinted(message: impl fmt::Display, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        hint: hint.into(),
        inner: anyhow::anyhow!("{message}"),
    })
}

/// The message of `e` as one line (causes joined by ": ", none repeated),
/// then one `hint: ...` line per next step in the chain, outermost first.
pub fn render(e: &anyhow::Error) -> String {
    let mut message = String::new();
    let mut hints: Vec<&str> = Vec::new();
    // The text of the last link (printed or not): a cause it contains
    // adds nothing.
    let mut previous: Option<String> = None;
    for cause in e.chain() {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            if !hints.contains(&h.hint.as_str()) {
                hints.push(&h.hint);
            }
        }
        let text = cause.to_string();
        if text.is_empty() {
            continue;
        }
        let repeated = previous
            .as_deref()
            .is_some_and(|p| p.contains(text.as_str()));
        if !repeated {
            // A cause that starts by naming what the message just named
            // ("cannot read CAP x.cap" over "x.cap: No such file") says
            // only the rest.
            let shown = match text.split_once(": ") {
                Some((head, rest)) if !head.is_empty() && message.ends_with(head) => rest,
                _ => text.as_str(),
            };
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(shown);
        }
        previous = Some(text);
    }
    for h in hints {
        message.push_str("\nhint: ");
        message.push_str(h);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[derive(Debug)]
    struct Wraps(std::io::Error);
    impl fmt::Display for Wraps {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "x.cap: {}", self.0)
        }
    }
    impl std::error::Error for Wraps {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn not_found() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file")
    }

    #[test]
    fn a_cause_printed_by_its_parent_is_not_repeated() {
        let e = anyhow::Error::new(Wraps(not_found())).context("cannot read CAP x.cap");
        assert_eq!(render(&e), "cannot read CAP x.cap: No such file");
    }

    #[test]
    fn causes_not_contained_are_all_printed() {
        let e = anyhow::Error::new(not_found())
            .context("opening x")
            .context("building");
        assert_eq!(render(&e), "building: opening x: No such file");
    }

    #[test]
    fn the_outermost_hint_comes_last() {
        let r: Result<(), _> = Err(not_found());
        let e = r
            .context("connecting")
            .hint("start it")
            .context("listing")
            .hint("or this")
            .unwrap_err();
        assert_eq!(
            render(&e),
            "listing: connecting: No such file\nhint: or this\nhint: start it"
        );
        let e = hinted("no jct.toml", "run it in a project");
        assert_eq!(render(&e), "no jct.toml\nhint: run it in a project");
    }
}
