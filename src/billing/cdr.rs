//! Call-detail records as PBXes write them, parsed into one typed record.
//!
//! * Asterisk `cdr_csv` (`Master.csv`, `cdr/cdr_csv.c`): accountcode, src, dst, dcontext, clid,
//!   channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
//!   disposition, amaflags (16 fields); then uniqueid with `loguniqueid`, userfield with
//!   `loguserfield`, and peeraccount, linkedid, sequence with `newcdrcolumns` (16 to 21
//!   fields). Text fields are quoted (a quote doubled), numbers are not, an unset time is an
//!   empty unquoted field. Times are the PBX's local time (UTC with `usegmtime`). With 17 or 20
//!   fields only one of uniqueid and userfield is logged: it is the uniqueid when it looks like
//!   one (`1709632800.42`, `host-1709632800.42`).
//! * FreeSWITCH `mod_cdr_csv`: whatever its template says, see [`freeswitch`].
//!
//! Dispositions: Asterisk's (`main/cdr.c`: ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION,
//! CANCEL with `canceldispositionenabled`, UNKNOWN) and the Dial statuses A2Billing logs as its
//! terminate causes (ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, DONTCALL,
//! TORTURE, INVALIDARGS) become ours, see [`Disposition::asterisk`]; FreeSWITCH's hangup causes
//! likewise ([`Disposition::freeswitch`]).
//!
//! Each record gets a key for idempotent imports (`calls.unique_id`). FreeSWITCH's uuid is
//! unique per call leg and is the key. Asterisk's uniqueid is not: since Asterisk 12 a channel
//! that is transferred or dials several times writes several records with its uniqueid, so the
//! key is the uniqueid plus a hash of the whole record. A record without an id is keyed by a
//! hash of the whole record. The same record imported again always gets the same key.

pub mod freeswitch;

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use csv::ByteRecord;
use sha2::{Digest, Sha256};

pub use freeswitch::Template;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Asterisk,
    /// FreeSWITCH, read through the template that wrote the records.
    FreeSwitch(Arc<Template>),
}

impl Format {
    /// FreeSWITCH with the template its shipped configurations write (`example`).
    pub fn freeswitch() -> Format {
        Format::FreeSwitch(Arc::new(Template::shipped_default()))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Format::Asterisk => "asterisk",
            Format::FreeSwitch(_) => "freeswitch",
        }
    }
}

/// How a call ended, as the `calls` table stores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Disposition {
    Answered,
    NoAnswer,
    Busy,
    #[default]
    Failed,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "ANSWERED",
            Disposition::NoAnswer => "NO ANSWER",
            Disposition::Busy => "BUSY",
            Disposition::Failed => "FAILED",
        }
    }

    /// Asterisk's dispositions and A2Billing's terminate causes (Dial's DIALSTATUS), in any
    /// case, with a space, an underscore or nothing between words. The caller giving up
    /// (CANCEL) is not answered, as FreeSWITCH's ORIGINATOR_CANCEL; a callee declining through
    /// the privacy manager (DONTCALL, TORTURE) too, as CALL_REJECTED; a channel or network
    /// that could not carry the call (CONGESTION, CHANUNAVAIL, INVALIDARGS, UNKNOWN) failed.
    pub fn asterisk(s: &str) -> Option<Disposition> {
        let word: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_uppercase)
            .collect();
        Some(match word.as_str() {
            "ANSWERED" | "ANSWER" => Disposition::Answered,
            "NOANSWER" | "NULL" | "CANCEL" | "DONTCALL" | "TORTURE" => Disposition::NoAnswer,
            "BUSY" => Disposition::Busy,
            "FAILED" | "CONGESTION" | "CHANUNAVAIL" | "INVALIDARGS" | "UNKNOWN" => {
                Disposition::Failed
            }
            _ => return None,
        })
    }

    /// A FreeSWITCH call with billed seconds or an answer time was answered; otherwise the
    /// hangup cause tells busy, not answered (including the caller giving up) or failed.
    fn freeswitch(cause: &str, answered: bool) -> Disposition {
        if answered {
            return Disposition::Answered;
        }
        match cause {
            "USER_BUSY" => Disposition::Busy,
            "NO_ANSWER" | "NO_USER_RESPONSE" | "ORIGINATOR_CANCEL" | "ALLOTTED_TIMEOUT"
            | "CALL_REJECTED" | "LOSE_RACE" | "PICKED_OFF" => Disposition::NoAnswer,
            _ => Disposition::Failed,
        }
    }
}

/// One call record, whatever PBX wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cdr {
    pub accountcode: String,
    /// The calling number.
    pub src: String,
    /// The number dialled.
    pub dst: String,
    /// The device the call came from: the peer of Asterisk's channel (`SIP/101-0000002a` →
    /// `101`), FreeSWITCH's channel user or caller id number.
    pub from_device: String,
    /// The device the call went to: the peer of Asterisk's destination channel; FreeSWITCH
    /// has it only when the template logs `${bridge_channel}` (the dialled number stands for
    /// it).
    pub to_device: String,
    pub started_at: i64,
    pub duration_s: i64,
    pub billsec: i64,
    pub disposition: Disposition,
    /// The idempotence key (`calls.unique_id`).
    pub key: String,
    /// FreeSWITCH: this leg's uuid, and the uuid of the b-leg it names (empty when none).
    pub uuid: String,
    pub bleg_uuid: String,
    /// FreeSWITCH: the record says by itself that it is a b-leg (the callee's side of a call
    /// whose a-leg is logged too): `${aleg_uuid}`/`${originating_leg_uuid}` set, or
    /// `${direction}` outbound.
    pub b_leg: bool,
}

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Parses one Asterisk CSV record; times are read in `tz`. The error says what is wrong with
/// the record, without its line number (the caller knows it).
pub fn parse_asterisk(rec: &ByteRecord, tz: Tz) -> Result<Cdr, String> {
    let n = rec.len();
    if !(16..=21).contains(&n) {
        return Err(format!(
            "{n} fields; an Asterisk Master.csv record has 16 to 21"
        ));
    }
    let f = |i| text(rec, i);
    let started_at = instant("start", &f(9), tz)?;
    let answer = f(10);
    if !answer.is_empty() {
        instant("answer", &answer, tz)?;
    }
    let duration_s = seconds("duration", &f(12))?;
    let billsec = seconds("billsec", &f(13))?;
    let disp = f(14);
    let disposition = Disposition::asterisk(&disp).ok_or_else(|| {
        format!(
            "disposition {disp:?} is none of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION, \
             CANCEL, CHANUNAVAIL, DONTCALL, TORTURE, INVALIDARGS"
        )
    })?;
    // newcdrcolumns: peeraccount, linkedid and sequence (a number) close the record.
    let new_columns = n >= 19;
    if new_columns {
        let sequence = f(n - 1);
        if sequence.parse::<u64>().is_err() {
            return Err(format!(
                "{n} fields, so newcdrcolumns is on, but the last (sequence) {sequence:?} is not a number"
            ));
        }
    }
    let logged = n - 16 - if new_columns { 3 } else { 0 };
    let uniqueid = match logged {
        2 => f(16),
        1 if looks_like_uniqueid(&f(16)) => f(16),
        _ => String::new(),
    };
    // Up to 18 fields the 17th is in the key whatever it is, as it always was, so files
    // imported before are recognised.
    let id = if (17..=18).contains(&n) {
        f(16)
    } else {
        uniqueid
    };
    let hash = record_hash(rec);
    let key = if id.is_empty() {
        format!("sha256:{}", &hash[..32])
    } else {
        format!("{id}/{}", &hash[..12])
    };
    Ok(Cdr {
        accountcode: f(0),
        src: f(1),
        dst: f(2),
        from_device: channel_peer(&f(5)).to_string(),
        to_device: channel_peer(&f(6)).to_string(),
        started_at,
        duration_s,
        billsec,
        disposition,
        key,
        ..Cdr::default()
    })
}

/// An Asterisk uniqueid: `[systemname-]epoch.sequence`.
fn looks_like_uniqueid(s: &str) -> bool {
    let id = s.rsplit_once('-').map_or(s, |(_, id)| id);
    match id.split_once('.') {
        Some((secs, seq)) => {
            secs.len() >= 9
                && !seq.is_empty()
                && secs.bytes().all(|b| b.is_ascii_digit())
                && seq.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn text(rec: &ByteRecord, i: usize) -> String {
    String::from_utf8_lossy(rec.get(i).unwrap_or_default())
        .trim()
        .to_string()
}

fn instant(what: &str, s: &str, tz: Tz) -> Result<i64, String> {
    if s.is_empty() {
        return Err(format!("no {what} time"));
    }
    let local = NaiveDateTime::parse_from_str(s, TIME_FORMAT)
        .map_err(|_| format!("{what} {s:?} is not a time like 2024-03-01 14:05:09"))?;
    // A local time that occurs twice (the hour when clocks go back) is taken the first time.
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp())
        .ok_or_else(|| format!("{what} {s:?} does not exist in time zone {tz}"))
}

fn seconds(what: &str, s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(n) if (0..=100 * 86_400).contains(&n) => Ok(n),
        _ => Err(format!("{what} {s:?} is not a number of seconds")),
    }
}

/// The device part of an Asterisk channel name: `SIP/101-0000002a` → `101`,
/// `PJSIP/alice-phone-00000012` → `alice-phone`, `Local/101@from-internal-0000001f;2` → `101`,
/// `DAHDI/1-1` → `1`. Empty for an empty channel.
pub fn channel_peer(channel: &str) -> &str {
    let rest = match channel.split_once('/') {
        Some((_, r)) => r,
        None => channel,
    };
    let rest = match rest.rsplit_once(';') {
        Some((r, n)) if n.bytes().all(|b| b.is_ascii_digit()) => r,
        _ => rest,
    };
    let rest = match rest.rsplit_once('-') {
        Some((r, seq)) if !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_hexdigit()) => r,
        _ => rest,
    };
    match rest.split_once('@') {
        Some((r, _)) => r,
        None => rest,
    }
}

/// SHA-256 of the record's fields (separated by a byte no field holds), in hex.
fn record_hash(rec: &ByteRecord) -> String {
    fields_hash(rec.iter())
}

fn fields_hash<'a>(fields: impl Iterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for field in fields {
        h.update(field);
        h.update([0x1f]);
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        out.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv_text: &str) -> Vec<ByteRecord> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv_text.as_bytes());
        r.byte_records().map(|r| r.unwrap()).collect()
    }

    fn at(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, TIME_FORMAT)
            .unwrap()
            .and_utc()
            .timestamp()
    }

    /// Two records exactly as Asterisk's cdr_csv writes them (loguniqueid and loguserfield on):
    /// an answered outgoing call and an incoming call nobody answered.
    const MASTER: &str = r#""","101","0044207946","from-internal","""John Smith"" <101>","SIP/101-0000002a","SIP/trunk-0000002b","Dial","SIP/trunk/0044207946,60,tT","2024-03-05 10:00:00","2024-03-05 10:00:07","2024-03-05 10:01:07","67","60","ANSWERED","DOCUMENTATION","1709632800.42",""
"","442079460000","s","from-trunk","""442079460000"" <442079460000>","SIP/trunk-0000002c","SIP/101-0000002d","Dial","SIP/101,30","2024-03-05 11:00:00","","2024-03-05 11:00:30","30","0","NO ANSWER","DOCUMENTATION","1709636400.43",""
"#;

    #[test]
    fn reads_asterisk_master_csv() {
        let recs = read(MASTER);
        let out = parse_asterisk(&recs[0], Tz::UTC).unwrap();
        assert_eq!(out.src, "101");
        assert_eq!(out.dst, "0044207946");
        assert_eq!(out.from_device, "101");
        assert_eq!(out.to_device, "trunk");
        assert_eq!(out.started_at, at("2024-03-05 10:00:00"));
        assert_eq!((out.duration_s, out.billsec), (67, 60));
        assert_eq!(out.disposition, Disposition::Answered);
        assert!(out.key.starts_with("1709632800.42/"), "{}", out.key);
        assert_eq!(out.key.len(), "1709632800.42/".len() + 12);

        let missed = parse_asterisk(&recs[1], Tz::UTC).unwrap();
        assert_eq!(missed.disposition, Disposition::NoAnswer);
        assert_eq!(missed.from_device, "trunk");
        assert_eq!(missed.to_device, "101");
        assert_eq!(missed.billsec, 0);
        assert_ne!(missed.key, out.key);
    }

    #[test]
    fn asterisk_times_are_read_in_the_pbx_zone() {
        let recs = read(MASTER);
        let london: Tz = "Europe/London".parse().unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        // 5 March: London is on GMT, New York 5 hours behind.
        assert_eq!(
            parse_asterisk(&recs[0], london).unwrap().started_at,
            at("2024-03-05 10:00:00")
        );
        assert_eq!(
            parse_asterisk(&recs[0], ny).unwrap().started_at,
            at("2024-03-05 15:00:00")
        );
    }

    #[test]
    fn the_same_record_gets_the_same_key_and_records_without_uniqueid_are_hashed() {
        let a = read(MASTER);
        let b = read(MASTER);
        assert_eq!(
            parse_asterisk(&a[0], Tz::UTC).unwrap().key,
            parse_asterisk(&b[0], Tz::UTC).unwrap().key
        );
        // 16 fields: loguniqueid off.
        let short = read(
            r#""acc1","101","5551234","default","","SIP/101-1","","Dial","","2024-03-05 10:00:00","","2024-03-05 10:00:03","3","0","BUSY","DOCUMENTATION""#,
        );
        let cdr = parse_asterisk(&short[0], Tz::UTC).unwrap();
        assert!(cdr.key.starts_with("sha256:") && cdr.key.len() == 7 + 32);
        assert_eq!(cdr.accountcode, "acc1");
        assert_eq!(cdr.disposition, Disposition::Busy);
        assert_eq!(cdr.to_device, "");
    }

    #[test]
    fn bad_asterisk_records_say_what_is_wrong() {
        let cases = [
            (r#""","101","5551234""#, "3 fields"),
            (
                r#""","101","555","c","","SIP/101-1","","Dial","","2024-03-05","","","3","0","ANSWERED","DOCUMENTATION","1.1",""#,
                "start \"2024-03-05\" is not a time",
            ),
            (
                r#""","101","555","c","","SIP/101-1","","Dial","","","","","3","0","ANSWERED","DOCUMENTATION","1.1",""#,
                "no start time",
            ),
            (
                r#""","101","555","c","","SIP/101-1","","Dial","","2024-03-05 10:00:00","","","x","0","ANSWERED","DOCUMENTATION","1.1",""#,
                "duration \"x\"",
            ),
            (
                r#""","101","555","c","","SIP/101-1","","Dial","","2024-03-05 10:00:00","","","3","-1","ANSWERED","DOCUMENTATION","1.1",""#,
                "billsec \"-1\"",
            ),
            (
                r#""","101","555","c","","SIP/101-1","","Dial","","2024-03-05 10:00:00","","","3","0","HUNG UP","DOCUMENTATION","1.1",""#,
                "disposition \"HUNG UP\"",
            ),
        ];
        for (line, want) in cases {
            let recs = read(line);
            let err = parse_asterisk(&recs[0], Tz::UTC).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
        }
        // A local time skipped by a clock change does not exist.
        let gap = read(
            r#""","101","555","c","","SIP/101-1","","Dial","","2024-03-31 01:30:00","","","3","0","FAILED","DOCUMENTATION","1.1",""#,
        );
        let london: Tz = "Europe/London".parse().unwrap();
        assert!(parse_asterisk(&gap[0], london)
            .unwrap_err()
            .contains("does not exist"));
    }

    #[test]
    fn channel_names_give_the_device() {
        for (channel, peer) in [
            ("SIP/101-0000002a", "101"),
            ("PJSIP/alice-phone-00000012", "alice-phone"),
            ("IAX2/202-3", "202"),
            ("Local/101@from-internal-0000001f;2", "101"),
            ("DAHDI/1-1", "1"),
            ("SIP/trunk", "trunk"),
            ("", ""),
        ] {
            assert_eq!(channel_peer(channel), peer, "{channel}");
        }
    }

    /// One line per record, as mod_cdr_csv writes them.
    fn lines(text: &str) -> Vec<&[u8]> {
        text.lines().map(str::as_bytes).collect()
    }

    fn template(name: &str) -> Template {
        Template::named_or_given(name).unwrap()
    }

    #[test]
    fn reads_freeswitch_example_template() {
        let t = template("example");
        let recs = lines(
            r#""Alice","1000","00442079460000","default","2024-03-05 10:00:00","2024-03-05 10:00:05","2024-03-05 10:01:05","65","60","NORMAL_CLEARING","a0b1c2d3-0000-4000-8000-000000000001","","","PCMA","PCMA"
"Bob","1001","1000","default","2024-03-05 10:05:00","","2024-03-05 10:05:20","20","0","ORIGINATOR_CANCEL","a0b1c2d3-0000-4000-8000-000000000002","","acc9","PCMA","PCMA"
"Bob","1001","1002","default","2024-03-05 10:06:00","","2024-03-05 10:06:02","2","0","USER_BUSY","a0b1c2d3-0000-4000-8000-000000000003","","","PCMA","PCMA"
"Bob","1001","999","default","2024-03-05 10:07:00","","2024-03-05 10:07:01","1","0","UNALLOCATED_NUMBER","","","","PCMA","PCMA""#,
        );
        let c = t.read(recs[0], Tz::UTC).unwrap();
        assert_eq!((c.src.as_str(), c.dst.as_str()), ("1000", "00442079460000"));
        assert_eq!(c.from_device, "1000");
        assert_eq!(c.disposition, Disposition::Answered);
        assert_eq!(c.key, "a0b1c2d3-0000-4000-8000-000000000001");
        assert_eq!((c.duration_s, c.billsec), (65, 60));
        assert_eq!(c.started_at, at("2024-03-05 10:00:00"));
        assert!(!c.b_leg);
        let c = t.read(recs[1], Tz::UTC).unwrap();
        assert_eq!(c.disposition, Disposition::NoAnswer);
        assert_eq!(c.accountcode, "acc9");
        let c = t.read(recs[2], Tz::UTC).unwrap();
        assert_eq!(c.disposition, Disposition::Busy);
        let c = t.read(recs[3], Tz::UTC).unwrap();
        assert_eq!(c.disposition, Disposition::Failed);
        assert!(c.key.starts_with("sha256:"));
        // An Asterisk record is not a FreeSWITCH one.
        let err = t.read(MASTER.lines().next().unwrap().as_bytes(), Tz::UTC);
        assert!(err.unwrap_err().contains("more fields than the 15"));
    }

    /// The same call (answered, to a London number; a caller name with a comma, a quote and
    /// Cyrillic) as each built-in template writes it.
    #[test]
    fn reads_every_built_in_template() {
        let uuid = "5f1c7e36-0000-4000-8000-00000000000a";
        let bleg = "5f1c7e36-0000-4000-8000-00000000000b";
        let start = "2024-03-05 10:00:00";
        let answer = "2024-03-05 10:00:05";
        let end = "2024-03-05 10:01:35";
        let name = "Иван \"Ваня\", Петров";
        let common = format!(
            r#""{name}","1000","00442079460000","default","{start}","{answer}","{end}","95","90","NORMAL_CLEARING","{uuid}","{bleg}""#
        );
        let cases = [
            ("default", format!(r#"{common}, "acc1""#)),
            ("example", format!(r#"{common},"acc1","PCMA","PCMA""#)),
            (
                "snom",
                format!(r#"{common}, "acc1","PCMA","PCMA","snom360/8.7","","","","""#),
            ),
            (
                "linksys",
                format!(r#"{common},"acc1","PCMA","PCMA","Linksys/SPA942","""#),
            ),
            (
                "sql",
                format!(r#"INSERT INTO cdr VALUES ({common}, "acc1");"#),
            ),
            (
                "asterisk",
                format!(
                    r#""acc1","1000","00442079460000","default","{name} <1000>","sofia/internal/1000@10.0.0.1","sofia/external/00442079460000@carrier","bridge","sofia/gateway/carrier/00442079460000","{start}","{answer}","{end}","95","90","NORMAL_CLEARING","default","{uuid}","""#
                ),
            ),
            (
                "opencdrrate",
                format!(
                    r#""{uuid}","{bleg}","inbound","1000","00442079460000","{answer}","{end}","90","acc1","","10.0.0.1","И","carrier""#
                ),
            ),
        ];
        for (name, line) in cases {
            let c = template(name)
                .read(line.as_bytes(), Tz::UTC)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{line}"));
            assert_eq!(c.src, "1000", "{name}");
            assert_eq!(c.from_device, "1000", "{name}");
            assert_eq!(c.dst, "00442079460000", "{name}");
            assert_eq!(c.accountcode, "acc1", "{name}");
            assert_eq!(c.billsec, 90, "{name}");
            assert_eq!(c.disposition, Disposition::Answered, "{name}");
            assert_eq!(c.key, uuid, "{name}");
            assert!(!c.b_leg, "{name}");
            if name == "opencdrrate" {
                // No start time: the answer time stands for it, and the end gives the length.
                assert_eq!(c.started_at, at(answer));
                assert_eq!(c.duration_s, 90);
            } else {
                assert_eq!(c.started_at, at(start), "{name}");
                assert_eq!(c.duration_s, 95, "{name}");
                assert_eq!(c.bleg_uuid, if name == "asterisk" { "" } else { bleg });
            }
            // Every other built-in template refuses the line, saying why.
            for (other, _) in freeswitch::TEMPLATES {
                if other != name {
                    let err = template(other).read(line.as_bytes(), Tz::UTC);
                    assert!(err.is_err(), "{other} read a {name} line");
                }
            }
        }
    }

    #[test]
    fn a_template_given_in_freeswitch_syntax_reads_its_columns() {
        // Tab-separated, unquoted, epochs, milliseconds, the direction and the a-leg's uuid.
        let t = Template::named_or_given(
            "${uuid}\t${direction}\t${caller_id_number}\t${destination_number}\t${start_epoch}\t${answer_epoch}\t${end_epoch}\t${billmsec}\t${hangup_cause_q850}\t${originating_leg_uuid}\n",
        )
        .unwrap();
        let c = t
            .read(
                b"u-1\tinbound\t1000\t5551234\t1709632800\t1709632805\t1709632866\t60500\t16\t",
                Tz::UTC,
            )
            .unwrap();
        assert_eq!(c.started_at, at("2024-03-05 10:00:00"));
        assert_eq!(c.billsec, 61); // 60.5 s bill as 61
        assert_eq!(c.duration_s, 66);
        assert_eq!(c.disposition, Disposition::Answered);
        assert!(!c.b_leg);
        let b = t
            .read(
                b"u-2\toutbound\t1000\t5551234\t1709632801\t0\t1709632803\t0\t17\tu-1",
                Tz::UTC,
            )
            .unwrap();
        assert!(b.b_leg);
        assert_eq!(b.disposition, Disposition::Busy);
        // With only the direction, an outbound leg that names no b-leg is one.
        let t = Template::named_or_given(
            r#""${direction}","${caller_id_number}","${destination_number}","${start_stamp}","${billsec}","${uuid}","${bleg_uuid}""#,
        )
        .unwrap();
        let line = |dir: &str, bleg: &str| {
            format!(r#""{dir}","1000","1001","2024-03-05 10:00:00","3","u","{bleg}""#)
        };
        let read = |l: String| t.read(l.as_bytes(), Tz::UTC).unwrap().b_leg;
        assert!(!read(line("inbound", "")));
        assert!(read(line("outbound", "")));
        assert!(!read(line("outbound", "u-b"))); // a call FreeSWITCH originated, bridged
    }

    #[test]
    fn templates_that_cannot_carry_a_call_are_refused_naming_what_is_missing() {
        let cases = [
            (
                r#""${caller_id_number}","${start_stamp}","${billsec}""#,
                "${destination_number}",
            ),
            (
                r#""${caller_id_number}","${destination_number}","${billsec}""#,
                "${start_stamp}",
            ),
            (
                r#""${caller_id_number}","${destination_number}","${start_stamp}""#,
                "${billsec}",
            ),
            (
                r#""${caller_id_name}","${destination_number}","${start_stamp}","${billsec}""#,
                "${caller_id_number}",
            ),
            (
                "${caller_id_number}${destination_number}",
                "nothing between them",
            ),
            (
                "\"${caller_id_number\",\"${destination_number}\"",
                "never closed",
            ),
            ("nosuch", "example, snom"),
        ];
        for (text, want) in cases {
            let err = Template::named_or_given(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn bad_freeswitch_lines_say_what_is_wrong() {
        let t = template("default");
        let good = r#""A","1000","5551234","default","2024-03-05 10:00:00","","2024-03-05 10:00:09","9","0","NO_ANSWER","u1","", "acc""#;
        assert!(t.read(good.as_bytes(), Tz::UTC).is_ok());
        let cases = [
            (
                good.replace(r#", "acc""#, r#","acc""#),
                "only 12 of the 13 fields of template default: no `\", \"` after ${bleg_uuid}",
            ),
            (good.replace(r#""9","0""#, r#""9","x""#), "billsec \"x\""),
            (
                good.replace("2024-03-05 10:00:00", "05/03/2024"),
                "start_stamp",
            ),
            (good.replace("NO_ANSWER", ""), "no hangup_cause"),
            (good.replace("5551234", ""), "no destination_number"),
            (format!("{good},\"extra\""), "more fields"),
            (good[1..].to_string(), "does not start with"),
        ];
        for (line, want) in cases {
            let err = t.read(line.as_bytes(), Tz::UTC).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
        }
        // The hint names the templates a line fits.
        let example = format!(
            "{},\"PCMA\",\"PCMA\"",
            good.replace(", \"acc\"", ",\"acc\"")
        );
        assert_eq!(Template::fitting(example.as_bytes()), ["example"]);
        assert_eq!(Template::fitting(good.as_bytes()), ["default"]);
    }

    /// Whatever a line holds, it is read or refused with a reason, never a panic.
    #[test]
    fn cut_or_garbled_lines_are_refused_not_panicked_on() {
        let line = r#""Zoë","1000","5551234","default","2024-03-05 10:00:00","2024-03-05 10:00:01","2024-03-05 10:00:09","9","8","NORMAL_CLEARING","u1","u2","acc","PCMA","PCMA""#;
        for (name, _) in freeswitch::TEMPLATES {
            let t = template(name);
            for (i, _) in line.char_indices() {
                let _ = t.read(&line.as_bytes()[..i], Tz::UTC);
                let _ = t.read(&line.as_bytes()[i..], Tz::UTC);
            }
        }
        let t = Template::named_or_given(
            "${caller_id_number},${destination_number},${start_uepoch},${end_epoch},${billusec},${mduration}",
        )
        .unwrap();
        for bad in [
            "1,2,99999999999999999999,1,1,1",
            "1,2,1709632800000000,-5,1,1",
            "1,2,1709632800000000,1,18446744073709551615,1",
            "1,2,1709632800000000,1,1,-1",
            "1,2,9223372036854775807,1,1,1",
        ] {
            assert!(t.read(bad.as_bytes(), Tz::UTC).is_err(), "{bad}");
        }
        let ok = t
            .read(b"1,2,1709632800000000,1709632809,8000001,9000", Tz::UTC)
            .unwrap();
        assert_eq!(
            (ok.started_at, ok.billsec, ok.duration_s),
            (1709632800, 9, 9)
        );
    }

    #[test]
    fn every_asterisk_and_a2billing_disposition_is_ours() {
        for (written, ours) in [
            ("ANSWERED", Disposition::Answered),
            ("ANSWER", Disposition::Answered),
            ("NO ANSWER", Disposition::NoAnswer),
            ("NOANSWER", Disposition::NoAnswer),
            ("no_answer", Disposition::NoAnswer),
            ("CANCEL", Disposition::NoAnswer),
            ("DONTCALL", Disposition::NoAnswer),
            ("TORTURE", Disposition::NoAnswer),
            ("BUSY", Disposition::Busy),
            ("FAILED", Disposition::Failed),
            ("CONGESTION", Disposition::Failed),
            ("CHANUNAVAIL", Disposition::Failed),
            ("INVALIDARGS", Disposition::Failed),
            ("UNKNOWN", Disposition::Failed),
        ] {
            assert_eq!(Disposition::asterisk(written), Some(ours), "{written}");
        }
        assert_eq!(Disposition::asterisk("HUNG UP"), None);
    }

    /// Asterisk 1.8+ with newcdrcolumns, and loguniqueid/loguserfield in each combination:
    /// numbers unquoted, an unanswered call's answer time an empty unquoted field.
    #[test]
    fn reads_every_asterisk_layout() {
        let base = r#""acc","101","0044207946","from-internal","""Ann"" <101>","SIP/101-0000002a","SIP/trunk-0000002b","Dial","SIP/trunk/0044207946,60","2024-03-05 10:00:00",,"2024-03-05 10:00:30",30,0,"CANCEL","DOCUMENTATION""#;
        let id = r#""1709632800.42""#;
        let user = r#""vip""#;
        let new = r#""","1709632800.40",7"#;
        for (line, n, key_id) in [
            (base.to_string(), 16, None),
            (format!("{base},{id}"), 17, Some("1709632800.42")),
            (format!("{base},{user}"), 17, Some("vip")),
            (format!("{base},{id},{user}"), 18, Some("1709632800.42")),
            (format!("{base},{new}"), 19, None),
            (format!("{base},{id},{new}"), 20, Some("1709632800.42")),
            (format!("{base},{user},{new}"), 20, None),
            (
                format!("{base},{id},{user},{new}"),
                21,
                Some("1709632800.42"),
            ),
        ] {
            let recs = read(&line);
            assert_eq!(recs[0].len(), n);
            let c = parse_asterisk(&recs[0], Tz::UTC).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(c.disposition, Disposition::NoAnswer, "{line}");
            assert_eq!((c.duration_s, c.billsec), (30, 0));
            assert_eq!(c.from_device, "101");
            match key_id {
                Some(id) => assert!(c.key.starts_with(&format!("{id}/")), "{n}: {}", c.key),
                None => assert!(c.key.starts_with("sha256:"), "{n}: {}", c.key),
            }
        }
        let bad = read(&format!("{base},{id},{user},\"\",\"1709632800.40\",\"x\""));
        assert!(parse_asterisk(&bad[0], Tz::UTC)
            .unwrap_err()
            .contains("sequence"));
        let long = read(&format!("{base},{id},{user},{new},\"more\""));
        assert!(parse_asterisk(&long[0], Tz::UTC)
            .unwrap_err()
            .contains("22 fields"));
    }
}
