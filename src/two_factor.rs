//! Two-factor login: the rules, apart from the pages and the SQL.
//!
//! - Codes are TOTP (RFC 6238) as authenticator apps take them: HMAC-SHA-1, 6 digits, 30-second
//!   steps, a 160-bit secret (RFC 4226's recommendation) shown in base32 and as an `otpauth://`
//!   URI in a QR code. `totp-rs` computes the codes; the QR code is an SVG drawn here, inlined in
//!   the page (no script, no image request: the CSP is unchanged).
//! - A code is accepted for the step before, the current one and the one after (clocks drift),
//!   and only for a step later than the last one accepted, so a code is never used twice
//!   (`store::two_factor` keeps the step with a conditional UPDATE).
//! - Ten recovery codes, 16 characters of Crockford's base32 (80 random bits each), shown once;
//!   only their SHA-256 is stored (see the migration); each is used once.
//! - Wrong codes at login and when switching it off are counted with the password attempts
//!   (`pages::account::login::code_under_policy`).

use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use crate::error::{AppError, AppResult};
use crate::store::Store;

/// Seconds per TOTP step.
pub const STEP_S: i64 = 30;
/// Digits of a TOTP code.
pub const DIGITS: usize = 6;
/// How many recovery codes are made when two-factor login is switched on.
pub const RECOVERY_CODES: usize = 10;
/// How long after a right password the code may be given (seconds).
pub const SECOND_STEP_S: i64 = 5 * 60;
/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "Selfcare";

/// Crockford's base32 alphabet (no I, L, O, U): recovery codes are read from paper.
const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_LEN: usize = 16;

/// A TOTP secret (160 random bits).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn generate() -> Secret {
        let mut bytes = vec![0_u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(bytes)
    }

    /// The secret as stored and as typed into an app: base32 (RFC 4648) without padding.
    pub fn parse(base32: &str) -> Option<Secret> {
        let bytes = totp_rs::Secret::Encoded(base32.to_string())
            .to_bytes()
            .ok()?;
        (bytes.len() >= 16).then_some(Secret(bytes))
    }

    pub fn to_base32(&self) -> String {
        self.totp("").get_secret_base32()
    }

    fn totp(&self, account: &str) -> TOTP {
        // Neither the issuer nor the account name may hold ':' in an otpauth label.
        let account = account.replace(':', "_");
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_S as u64,
            self.0.clone(),
            Some(ISSUER.to_string()),
            account,
        )
    }

    /// The code of `step` (Unix time / 30).
    pub fn code_at_step(&self, step: i64) -> String {
        self.totp("").generate((step.max(0) * STEP_S) as u64)
    }

    /// The step (one before `now`'s, `now`'s or the one after) whose code `code` is, if any.
    pub fn matching_step(&self, code: &str, now: i64) -> Option<i64> {
        let totp = self.totp("");
        let current = now / STEP_S;
        (current - 1..=current + 1)
            .filter(|s| *s >= 0)
            .find(|s| totp.check(code, (*s * STEP_S) as u64))
    }

    /// The `otpauth://totp/Selfcare:name?secret=…&issuer=Selfcare` URI apps read from the QR code.
    pub fn otpauth_uri(&self, account: &str) -> String {
        self.totp(account).get_url()
    }
}

/// `uri` as a QR code: an `<svg>` element to inline in a page (no XML declaration).
pub fn qr_svg(uri: &str) -> AppResult<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .quiet_zone(true)
        .build();
    Ok(match image.find("<svg") {
        Some(start) => image[start..].to_string(),
        None => image,
    })
}

/// What a typed code is, by its shape.
#[derive(Debug, PartialEq, Eq)]
pub enum Typed {
    /// Six digits: a TOTP code.
    Code(String),
    /// A recovery code, normalised (lower case, no dashes or spaces, Crockford's look-alikes).
    Recovery(String),
    /// Neither: wrong whatever it is.
    Other,
}

impl Typed {
    pub fn parse(typed: &str) -> Typed {
        let compact: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() == DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Typed::Code(compact);
        }
        let normalised: String = compact
            .to_ascii_lowercase()
            .chars()
            .map(|c| match c {
                'i' | 'l' => '1',
                'o' => '0',
                c => c,
            })
            .collect();
        if normalised.len() == RECOVERY_LEN && normalised.bytes().all(|b| CROCKFORD.contains(&b)) {
            Typed::Recovery(normalised)
        } else {
            Typed::Other
        }
    }
}

/// New recovery codes, as shown (`abcd-efgh-jkmn-pqrs`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0_u8; RECOVERY_LEN];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| CROCKFORD[usize::from(b & 31)] as char)
                .collect();
            chars
                .chunks(4)
                .map(|g| g.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What the database keeps of a recovery code: the SHA-256 of its normalised form.
pub fn recovery_hash(code: &str) -> Option<String> {
    match Typed::parse(code) {
        Typed::Recovery(n) => Some(crate::tokens::digest(&n)),
        _ => None,
    }
}

/// What came of a code given at login or to switch two-factor login off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A right TOTP code, now used.
    Code,
    /// A right recovery code, now used.
    RecoveryCode,
    /// A right code that was used before (or an older one than the last used).
    Reused,
    /// Not a right code (or two-factor login is off).
    Wrong,
}

impl Outcome {
    pub fn is_right(self) -> bool {
        matches!(self, Outcome::Code | Outcome::RecoveryCode)
    }
}

/// Checks `typed` for the user and uses it up when right: a TOTP code by moving the last
/// accepted step forward, a recovery code by marking it used (recorded in the activity log).
/// Both are conditional UPDATEs, so of two requests with one code only one is right.
pub async fn use_code(
    store: &Store,
    user_id: i64,
    typed: &str,
    address: &str,
    now: i64,
) -> AppResult<Outcome> {
    match Typed::parse(typed) {
        Typed::Code(code) => {
            let Some(state) = store.two_factor_state(user_id).await? else {
                return Ok(Outcome::Wrong);
            };
            let secret = match (state.enabled, Secret::parse(&state.secret)) {
                (true, Some(s)) => s,
                _ => return Ok(Outcome::Wrong),
            };
            let Some(step) = secret.matching_step(&code, now) else {
                return Ok(Outcome::Wrong);
            };
            Ok(if store.use_totp_step(user_id, step).await? {
                Outcome::Code
            } else {
                Outcome::Reused
            })
        }
        Typed::Recovery(normalised) => {
            let hash = crate::tokens::digest(&normalised);
            store
                .use_recovery_code(user_id, &hash, address, now)
                .await
                .map_err(AppError::from)
        }
        Typed::Other => Ok(Outcome::Wrong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 key "12345678901234567890"; its 8-digit codes cut to 6.
    #[test]
    fn codes_are_those_of_rfc_6238() {
        let secret = Secret(b"12345678901234567890".to_vec());
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(secret.code_at_step(time / STEP_S), code, "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = Secret::generate();
        let now = 1_700_000_015;
        let step = now / STEP_S;
        for s in [step - 1, step, step + 1] {
            assert_eq!(secret.matching_step(&secret.code_at_step(s), now), Some(s));
        }
        for s in [step - 3, step + 3] {
            let code = secret.code_at_step(s);
            // Unless the far step's code happens to equal a near one's.
            let near = [step - 1, step, step + 1].map(|n| secret.code_at_step(n));
            if !near.contains(&code) {
                assert_eq!(secret.matching_step(&code, now), None);
            }
        }
    }

    #[test]
    fn the_secret_reads_back_from_base32_and_goes_into_the_uri() {
        let secret = Secret::generate();
        let b32 = secret.to_base32();
        assert_eq!(b32.len(), 32);
        assert_eq!(Secret::parse(&b32).unwrap().0, secret.0);
        let uri = secret.otpauth_uri("demo:x");
        assert!(
            uri.starts_with(&format!("otpauth://totp/Selfcare:demo_x?secret={b32}")),
            "{uri}"
        );
        assert!(uri.contains("issuer=Selfcare"));
    }

    #[test]
    fn the_qr_code_is_a_bare_svg_element() {
        let svg = qr_svg("otpauth://totp/Selfcare:demo?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<script") && !svg.contains("style="));
    }

    #[test]
    fn recovery_codes_are_random_and_read_back_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            let hash = recovery_hash(c).unwrap();
            assert_eq!(
                recovery_hash(&c.to_uppercase().replace('-', " ")),
                Some(hash)
            );
        }
        assert_eq!(Typed::parse(" 123 456 "), Typed::Code("123456".to_string()));
        assert_eq!(
            Typed::parse("ILOO-0000-0000-0000"),
            Typed::Recovery("1100000000000000".to_string())
        );
        for other in [
            "",
            "12345",
            "1234567",
            "abcd-efgh-jkmn-pqr",
            "uuuu-0000-0000-0000",
        ] {
            assert_eq!(Typed::parse(other), Typed::Other, "{other}");
        }
    }
}
