//! The operator's dial plan: numbers that stay local — feature codes (`*97`), short extensions,
//! the `s` extension, echo tests — are free and never matched against countries (extension `1`
//! is not the USA). Patterns are written as in Asterisk's dialplan, which operators know:
//! without a leading `_` a pattern is the exact text (`s`, `echo`); with it, `X` is a digit,
//! `Z` 1–9, `N` 2–9, `[15-7]` one of a set, `.` one or more characters, `!` zero or more, and
//! anything else itself (`_*.` every feature code, `_XXX` every three-digit number).

/// A checked pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPattern(String);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    Set(Vec<(char, char)>),
    OneOrMore,
    ZeroOrMore,
}

impl LocalPattern {
    pub fn parse(s: &str) -> Result<LocalPattern, String> {
        let s = s.trim();
        if s.is_empty() || s == "_" {
            return Err("a pattern is text (s, echo) or _ and a pattern (_*., _XXX)".into());
        }
        if s.len() > 40 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{s:?}: at most 40 characters, no spaces"));
        }
        tokens(s)?;
        Ok(LocalPattern(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, dialled: &str) -> bool {
        matches(&self.0, dialled)
    }
}

fn tokens(pattern: &str) -> Result<Option<Vec<Token>>, String> {
    let Some(p) = pattern.strip_prefix('_') else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        out.push(match c.to_ascii_uppercase() {
            'X' => Token::Set(vec![('0', '9')]),
            'Z' => Token::Set(vec![('1', '9')]),
            'N' => Token::Set(vec![('2', '9')]),
            '.' => Token::OneOrMore,
            '!' => Token::ZeroOrMore,
            '[' => {
                let mut set = Vec::new();
                let mut prev: Option<char> = None;
                let mut range = false;
                loop {
                    match chars.next() {
                        None => return Err(format!("{pattern:?}: a [ without its ]")),
                        Some(']') => break,
                        Some('-') if prev.is_some() => range = true,
                        Some(ch) => {
                            if range {
                                let lo = prev.take().unwrap_or(ch);
                                set.pop();
                                set.push((lo.min(ch), lo.max(ch)));
                                range = false;
                            } else {
                                set.push((ch, ch));
                                prev = Some(ch);
                            }
                        }
                    }
                }
                if set.is_empty() {
                    return Err(format!("{pattern:?}: an empty []"));
                }
                Token::Set(set)
            }
            _ => Token::Char(c),
        });
    }
    Ok(Some(out))
}

fn matches(pattern: &str, dialled: &str) -> bool {
    match tokens(pattern) {
        Ok(None) => pattern == dialled,
        Ok(Some(t)) => {
            let d: Vec<char> = dialled.chars().collect();
            match_from(&t, &d)
        }
        Err(_) => false,
    }
}

fn match_from(t: &[Token], d: &[char]) -> bool {
    match t.first() {
        None => d.is_empty(),
        Some(Token::OneOrMore) => (1..=d.len()).any(|n| match_from(&t[1..], &d[n..])),
        Some(Token::ZeroOrMore) => (0..=d.len()).any(|n| match_from(&t[1..], &d[n..])),
        Some(tok) => {
            let Some(&c) = d.first() else {
                return false;
            };
            let ok = match tok {
                Token::Char(x) => x.eq_ignore_ascii_case(&c),
                Token::Set(ranges) => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)),
                _ => false,
            };
            ok && match_from(&t[1..], &d[1..])
        }
    }
}

/// The patterns of the dial plan; `is_local` of a dialled number.
#[derive(Clone, Debug, Default)]
pub struct DialPlan(Vec<LocalPattern>);

impl DialPlan {
    /// From stored patterns (one that no longer parses is left out).
    pub fn new(patterns: &[String]) -> DialPlan {
        DialPlan(
            patterns
                .iter()
                .filter_map(|p| LocalPattern::parse(p).ok())
                .collect(),
        )
    }

    pub fn is_local(&self, dialled: &str) -> bool {
        let d = dialled.trim();
        !d.is_empty() && self.0.iter().any(|p| p.matches(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, d: &str) -> bool {
        LocalPattern::parse(p).unwrap().matches(d)
    }

    #[test]
    fn patterns_match_as_asterisk_reads_them() {
        assert!(m("s", "s") && !m("s", "s1"));
        assert!(m("echo", "echo") && !m("echo", "echo2"));
        assert!(m("_*.", "*97") && m("_*.", "*72*123") && !m("_*.", "*"));
        assert!(m("_XXX", "201") && !m("_XXX", "2011") && !m("_XXX", "20a"));
        assert!(m("_X", "1") && !m("_X", "12"));
        assert!(m("_1NXXNXXXXXX", "12125550100") && !m("_1NXXNXXXXXX", "11125550100"));
        assert!(m("_[15-7]X", "61") && m("_[15-7]X", "10") && !m("_[15-7]X", "41"));
        assert!(m("_9!", "9") && m("_9!", "9123") && !m("_9.", "9"));
        assert!(m("_*x", "*5")); // x is X, as in Asterisk
    }

    #[test]
    fn bad_patterns_say_why() {
        for p in ["", "_", "_[12", "_[]", "a b"] {
            assert!(LocalPattern::parse(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn the_plan_says_what_is_local() {
        let plan = DialPlan::new(&["_*.".into(), "_XXX".into(), "s".into()]);
        assert!(plan.is_local("*97") && plan.is_local(" 201 ") && plan.is_local("s"));
        assert!(!plan.is_local("00442079460000") && !plan.is_local(""));
    }
}
