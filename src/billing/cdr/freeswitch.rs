//! FreeSWITCH `mod_cdr_csv` records, read through the template that wrote them.
//!
//! mod_cdr_csv writes each record by expanding a template: text with `${variable}`s, written
//! as it is, values included (nothing is escaped or quoted unless the template's own text
//! quotes it). So a record is read with the same template: [`Template::parse`] splits it once
//! into its literal pieces and its variables and finds the columns of the variables a call
//! needs ([`Columns`]); [`Template::split`] cuts a line at those literal pieces. A value may
//! then hold a comma or a quote (a caller name `"Smith, John"`), as long as it does not hold
//! the text that follows it in the template (`","`).
//!
//! Built in: FreeSWITCH's compiled-in `default` template (13 fields) and the ones its
//! `conf/vanilla/autoload_configs/cdr_csv.conf.xml` ships (`example`, the vanilla
//! configuration's `default-template`; `snom`, `linksys`, `sql`, `asterisk`, `opencdrrate`),
//! copied byte for byte (the `", "` before the accountcode of `default`, `snom` and `sql` is
//! FreeSWITCH's). Any other template is given in the same `${variable}` syntax.

use chrono::TimeZone;
use chrono_tz::Tz;

use super::{instant, seconds, Cdr, Disposition};

/// The templates FreeSWITCH compiles in and ships, by name.
pub const TEMPLATES: [(&str, &str); 7] = [
    (
        "default",
        r#""${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}", "${accountcode}""#,
    ),
    (
        "example",
        r#""${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}","${accountcode}","${read_codec}","${write_codec}""#,
    ),
    (
        "snom",
        r#""${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}", "${accountcode}","${read_codec}","${write_codec}","${sip_user_agent}","${call_clientcode}","${sip_rtp_rxstat}","${sip_rtp_txstat}","${sofia_record_file}""#,
    ),
    (
        "linksys",
        r#""${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}","${accountcode}","${read_codec}","${write_codec}","${sip_user_agent}","${sip_p_rtp_stat}""#,
    ),
    (
        "sql",
        r#"INSERT INTO cdr VALUES ("${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}", "${accountcode}");"#,
    ),
    (
        "asterisk",
        r#""${accountcode}","${caller_id_number}","${destination_number}","${context}","${caller_id}","${channel_name}","${bridge_channel}","${last_app}","${last_arg}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${amaflags}","${uuid}","${userfield}""#,
    ),
    (
        "opencdrrate",
        r#""${uuid}","${signal_bond}","${direction}","${ani}","${destination_number}","${answer_stamp}","${end_stamp}","${billsec}","${accountcode}","${userfield}","${network_addr}","${regex('${original_caller_id_name}'|^.)}","${sip_gateway_name}""#,
    ),
];

/// The template `--format freeswitch` reads without `--template`: the one FreeSWITCH's shipped
/// configurations name as `default-template`.
pub const DEFAULT_TEMPLATE: &str = "example";

/// How a time is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clock {
    /// `2024-03-05 10:00:00` in the switch's time zone (`start_stamp`).
    Stamp,
    /// Seconds since 1970 (`start_epoch`); 0 or empty: never.
    Epoch,
    /// Microseconds since 1970 (`start_uepoch`); 0 or empty: never.
    MicroEpoch,
}

/// A count of seconds (`billsec`), milliseconds (`billmsec`) or microseconds (`billusec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
    Micros,
}

/// Where the variables a call needs are, as indexes into the template's variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    caller: Option<usize>,
    channel: Option<usize>,
    bridge_channel: Option<usize>,
    dst: Option<usize>,
    start: Option<(usize, Clock)>,
    answer: Option<(usize, Clock)>,
    end: Option<(usize, Clock)>,
    duration: Option<(usize, Unit)>,
    billsec: Option<(usize, Unit)>,
    cause: Option<usize>,
    q850: Option<usize>,
    uuid: Option<usize>,
    bleg_uuid: Option<usize>,
    aleg_uuid: Option<usize>,
    direction: Option<usize>,
    accountcode: Option<usize>,
}

/// A parsed template: the text before the first variable, then each variable with the text
/// that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    name: String,
    head: Vec<u8>,
    vars: Vec<(String, Vec<u8>)>,
    columns: Columns,
}

impl Template {
    /// A built-in template by name, or a template in FreeSWITCH's syntax (anything with `${`).
    pub fn named_or_given(s: &str) -> Result<Template, String> {
        if s.contains("${") {
            return Template::parse("given on the command line", s);
        }
        match TEMPLATES.iter().find(|(name, _)| name.eq_ignore_ascii_case(s.trim())) {
            Some((name, text)) => Template::parse(name, text),
            None => Err(format!(
                "no FreeSWITCH template is called {s:?}: give one of {} or the template itself \
                 in FreeSWITCH's syntax ('\"${{caller_id_number}}\",\"${{destination_number}}\",…')",
                TEMPLATES.map(|(n, _)| n).join(", ")
            )),
        }
    }

    /// The template FreeSWITCH's shipped configurations write ([`DEFAULT_TEMPLATE`]).
    pub fn shipped_default() -> Template {
        Template::named_or_given(DEFAULT_TEMPLATE).expect("the built-in templates parse")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text` (one trailing newline, which FreeSWITCH adds anyway, is ignored); refuses
    /// a template that cannot be read back or that lacks what a call needs, naming it.
    pub fn parse(name: &str, text: &str) -> Result<Template, String> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text).as_bytes();
        let mut head = Vec::new();
        let mut vars: Vec<(String, Vec<u8>)> = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(b"${") {
                let mut depth = 0;
                let mut end = None;
                for (j, &b) in text.iter().enumerate().skip(i + 1) {
                    match b {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    return Err(format!(
                        "template {name}: the ${{ at character {} is never closed",
                        i + 1
                    ));
                };
                let var = String::from_utf8_lossy(&text[i + 2..end])
                    .trim()
                    .to_string();
                if let Some((before, between)) = vars.last() {
                    if between.is_empty() {
                        return Err(format!(
                            "template {name}: ${{{before}}} and ${{{var}}} follow each other with \
                             nothing between them, so their values cannot be told apart"
                        ));
                    }
                }
                vars.push((var, Vec::new()));
                i = end + 1;
            } else {
                match vars.last_mut() {
                    Some((_, after)) => after.push(text[i]),
                    None => head.push(text[i]),
                }
                i += 1;
            }
        }
        let columns = Columns::find(&vars);
        let missing = columns.missing();
        if !missing.is_empty() {
            return Err(format!(
                "template {name} lacks what a call needs: {}",
                missing.join("; ")
            ));
        }
        Ok(Template {
            name: name.to_string(),
            head,
            vars,
            columns,
        })
    }

    /// Cuts a line (without its newline) into the values of the template's variables.
    pub fn split<'a>(&self, line: &'a [u8]) -> Result<Vec<&'a [u8]>, String> {
        let fewer = |n: usize| {
            let (before, between) = &self.vars[n - 1];
            format!(
                "only {n} of the {} fields of template {}: no `{}` after ${{{before}}}",
                self.vars.len(),
                self.name,
                String::from_utf8_lossy(between)
            )
        };
        let Some(mut rest) = line.strip_prefix(self.head.as_slice()) else {
            return Err(format!(
                "does not start with {:?} as template {} does",
                String::from_utf8_lossy(&self.head),
                self.name
            ));
        };
        let mut values = Vec::with_capacity(self.vars.len());
        let last = self.vars.len() - 1;
        for (n, (_, after)) in self.vars.iter().enumerate() {
            if n == last {
                let Some(value) = rest.strip_suffix(after.as_slice()) else {
                    return Err(format!(
                        "does not end with {:?} as template {} does",
                        String::from_utf8_lossy(after),
                        self.name
                    ));
                };
                // A value holding the text between two fields: the line has more of them.
                let more = self.vars[..last]
                    .iter()
                    .any(|(_, sep)| find(value, sep).is_some());
                if more {
                    return Err(format!(
                        "more fields than the {} of template {}",
                        self.vars.len(),
                        self.name
                    ));
                }
                values.push(value);
            } else {
                let Some(at) = find(rest, after) else {
                    return Err(fewer(n + 1));
                };
                values.push(&rest[..at]);
                rest = &rest[at + after.len()..];
            }
        }
        Ok(values)
    }

    /// The b-leg uuid the line names, if the template has one and the line is readable; for
    /// the first pass that learns which records are b-legs.
    pub fn bleg_uuid(&self, line: &[u8]) -> Option<String> {
        let i = self.columns.bleg_uuid?;
        let values = self.split(line).ok()?;
        let v = text(values[i]);
        (!v.is_empty()).then_some(v)
    }

    /// Whether records name their b-leg (`${bleg_uuid}`), so a first pass over the files is
    /// worth making.
    pub fn has_bleg_uuid(&self) -> bool {
        self.columns.bleg_uuid.is_some()
    }

    /// One record; the error says what is wrong with it.
    pub fn read(&self, line: &[u8], tz: Tz) -> Result<Cdr, String> {
        let values = self.split(line)?;
        let c = &self.columns;
        let get = |i: Option<usize>| i.map(|i| text(values[i])).unwrap_or_default();
        let time = |what: &str, col: Option<(usize, Clock)>| -> Result<Option<i64>, String> {
            let Some((i, clock)) = col else {
                return Ok(None);
            };
            let s = text(values[i]);
            let name = &self.vars[i].0;
            match clock {
                Clock::Stamp if s.is_empty() => Ok(None),
                Clock::Stamp => instant(what, &s, tz).map(Some),
                Clock::Epoch | Clock::MicroEpoch => {
                    let n: i64 = if s.is_empty() {
                        0
                    } else {
                        s.parse()
                            .map_err(|_| format!("{name} {s:?} is not a number"))?
                    };
                    let n = if clock == Clock::MicroEpoch {
                        n / 1_000_000
                    } else {
                        n
                    };
                    if n == 0 {
                        Ok(None)
                    } else if n < 0 || tz.timestamp_opt(n, 0).single().is_none() {
                        Err(format!("{name} {s:?} is not a time"))
                    } else {
                        Ok(Some(n))
                    }
                }
            }
        };
        let start = time("start_stamp", c.start)?;
        let answer = time("answer_stamp", c.answer)?;
        let end = time("end_stamp", c.end)?;
        let count = |col: Option<(usize, Unit)>| -> Result<Option<i64>, String> {
            let Some((i, unit)) = col else {
                return Ok(None);
            };
            let s = text(values[i]);
            let name = &self.vars[i].0;
            let per_second: u64 = match unit {
                Unit::Seconds => return seconds(name, &s).map(Some),
                Unit::Millis => 1_000,
                Unit::Micros => 1_000_000,
            };
            // Rounded up to whole seconds, as a carrier bills a started second.
            match s.parse::<u64>() {
                Ok(n) => seconds(name, &n.div_ceil(per_second).to_string())
                    .map(Some)
                    .map_err(|_| format!("{name} {s:?} is not a duration")),
                Err(_) => Err(format!("{name} {s:?} is not a duration")),
            }
        };
        let duration = count(c.duration)?;
        let billsec = count(c.billsec)?;
        let billsec = match (billsec, answer, end) {
            (Some(b), ..) => b,
            (None, Some(a), Some(e)) => (e - a).max(0),
            _ => 0,
        };
        let started_at = match (start, answer, end) {
            (Some(s), ..) => s,
            (None, Some(a), _) => a,
            (None, None, Some(e)) => e - duration.unwrap_or(0),
            (None, None, None) => {
                let what = if c.start.is_some() { "start" } else { "end" };
                return Err(format!("no {what} time"));
            }
        };
        let duration_s = match (duration, end) {
            (Some(d), _) => d,
            (None, Some(e)) => (e - started_at).max(billsec),
            (None, None) => billsec,
        };
        let dst = get(c.dst);
        if dst.is_empty() {
            return Err("no destination_number".to_string());
        }
        let answered = billsec > 0 || answer.is_some();
        let disposition = if c.cause.is_some() {
            let cause = get(c.cause);
            if cause.is_empty() {
                return Err("no hangup_cause".to_string());
            }
            Disposition::freeswitch(&cause, answered)
        } else if c.q850.is_some() {
            let cause = get(c.q850);
            Disposition::freeswitch(q850_name(&cause), answered)
        } else if answered {
            Disposition::Answered
        } else {
            Disposition::NoAnswer
        };
        let uuid = get(c.uuid);
        let key = if uuid.is_empty() {
            format!(
                "sha256:{}",
                &super::fields_hash(values.iter().copied())[..32]
            )
        } else {
            uuid.clone()
        };
        let b_leg = if c.aleg_uuid.is_some() {
            !get(c.aleg_uuid).is_empty()
        } else {
            // FreeSWITCH marks the channels it originates (the b-legs) outbound.
            get(c.direction).eq_ignore_ascii_case("outbound") && get(c.bleg_uuid).is_empty()
        };
        let src = get(c.caller);
        let from_device = match get(c.channel) {
            ch if !ch.is_empty() => channel_user(&ch).to_string(),
            _ => src.clone(),
        };
        Ok(Cdr {
            accountcode: get(c.accountcode),
            from_device,
            to_device: channel_user(&get(c.bridge_channel)).to_string(),
            src,
            dst,
            started_at,
            duration_s,
            billsec,
            disposition,
            key,
            uuid,
            bleg_uuid: get(c.bleg_uuid),
            b_leg,
        })
    }

    /// The built-in templates a line fits, for a hint when it does not fit this one.
    pub fn fitting(line: &[u8]) -> Vec<&'static str> {
        TEMPLATES
            .iter()
            .filter(|(name, text)| Template::parse(name, text).is_ok_and(|t| t.split(line).is_ok()))
            .map(|(name, _)| *name)
            .collect()
    }
}

impl Columns {
    fn find(vars: &[(String, Vec<u8>)]) -> Columns {
        let at = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| vars.iter().position(|(v, _)| v == n))
        };
        let clock = |stamp: &str, epoch: &str, uepoch: &str| {
            at(&[stamp])
                .map(|i| (i, Clock::Stamp))
                .or_else(|| at(&[epoch]).map(|i| (i, Clock::Epoch)))
                .or_else(|| at(&[uepoch]).map(|i| (i, Clock::MicroEpoch)))
        };
        let count = |s: &str, ms: &str, us: &str| {
            at(&[s])
                .map(|i| (i, Unit::Seconds))
                .or_else(|| at(&[ms]).map(|i| (i, Unit::Millis)))
                .or_else(|| at(&[us]).map(|i| (i, Unit::Micros)))
        };
        Columns {
            caller: at(&["caller_id_number", "ani"]),
            channel: at(&["channel_name"]),
            bridge_channel: at(&["bridge_channel"]),
            dst: at(&["destination_number"]),
            start: clock("start_stamp", "start_epoch", "start_uepoch"),
            answer: clock("answer_stamp", "answer_epoch", "answer_uepoch"),
            end: clock("end_stamp", "end_epoch", "end_uepoch"),
            duration: count("duration", "mduration", "uduration"),
            billsec: count("billsec", "billmsec", "billusec"),
            cause: at(&["hangup_cause"]),
            q850: at(&["hangup_cause_q850"]),
            uuid: at(&["uuid"]),
            bleg_uuid: at(&["bleg_uuid"]),
            aleg_uuid: at(&["aleg_uuid", "originating_leg_uuid"]),
            direction: at(&["direction"]),
            accountcode: at(&["accountcode"]),
        }
    }

    fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.dst.is_none() {
            missing.push("the number dialled (${destination_number})");
        }
        if self.start.is_none() && self.end.is_none() {
            missing.push(
                "when the call was made (${start_stamp}, ${start_epoch} or ${start_uepoch}; \
                 or ${end_stamp}, ${end_epoch} or ${end_uepoch})",
            );
        }
        if self.billsec.is_none() && (self.answer.is_none() || self.end.is_none()) {
            missing.push(
                "the billed time (${billsec}, ${billmsec} or ${billusec}; or the answer and \
                 end times)",
            );
        }
        if self.caller.is_none() && self.channel.is_none() && self.accountcode.is_none() {
            missing.push(
                "who called (${caller_id_number}, ${ani}, ${channel_name} or ${accountcode})",
            );
        }
        missing
    }
}

/// FreeSWITCH's name of a Q.850 cause number, for the causes that tell a call's outcome.
fn q850_name(n: &str) -> &'static str {
    match n {
        "16" => "NORMAL_CLEARING",
        "17" => "USER_BUSY",
        "18" => "NO_USER_RESPONSE",
        "19" => "NO_ANSWER",
        "21" => "CALL_REJECTED",
        "487" => "ORIGINATOR_CANCEL",
        _ => "",
    }
}

/// The user part of a FreeSWITCH channel name: `sofia/internal/1000@10.0.0.1` → `1000`,
/// `user/1001@example.com` → `1001`.
fn channel_user(channel: &str) -> &str {
    let last = channel.rsplit('/').next().unwrap_or_default();
    last.split('@').next().unwrap_or_default()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
