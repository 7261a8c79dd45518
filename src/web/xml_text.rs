//! What XML 1.0 can hold. The XML templates escape through [`Xml`] (`askama.toml`): markup
//! characters as the HTML escaper does, and every character XML 1.0 forbids (most C0 controls,
//! U+FFFE, U+FFFF) replaced by U+FFFD, so a page stays well-formed whatever a PBX or an outside
//! caller put in the data. Forms refuse such characters at input (`input::text`).

use std::fmt::{self, Write};

/// True for a character XML 1.0 allows in a document (its `Char` production).
pub fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// The askama escaper of the `.xml` templates.
#[derive(Clone, Copy, Debug, Default)]
pub struct Xml;

impl askama::filters::Escaper for Xml {
    fn write_escaped_str<W: Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        if string.chars().all(allowed) {
            return askama::filters::Html.write_escaped_str(dest, string);
        }
        for c in string.chars() {
            self.write_escaped_char(&mut dest, c)?;
        }
        Ok(())
    }

    fn write_escaped_char<W: Write>(&self, dest: W, c: char) -> fmt::Result {
        let c = if allowed(c) { c } else { '\u{FFFD}' };
        askama::filters::Html.write_escaped_char(dest, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::filters::Escaper;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        Xml.write_escaped_str(&mut out, s).unwrap();
        out
    }

    #[test]
    fn markup_is_escaped_and_forbidden_characters_replaced() {
        assert_eq!(escaped("a<b>&\"'"), "a&#60;b&#62;&#38;&#34;&#39;");
        assert_eq!(
            escaped("x\u{FFFF}y\u{0}z\u{1B}"),
            "x\u{FFFD}y\u{FFFD}z\u{FFFD}"
        );
        assert_eq!(escaped("tab\tnew\nline"), "tab\tnew\nline");
        assert_eq!(escaped("Иванова 😀"), "Иванова 😀");
    }
}
