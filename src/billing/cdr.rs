//! Call-detail records as PBXes write them, parsed into one typed record.
//!
//! * Asterisk `cdr_csv` (`Master.csv`): every field quoted, in the order accountcode, src, dst,
//!   dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration,
//!   billsec, disposition, amaflags, then uniqueid and userfield when `loguniqueid` /
//!   `loguserfield` are on (16, 17 or 18 fields). Times are the PBX's local time (UTC with
//!   `usegmtime`); an unanswered call has an empty answer time.
//! * FreeSWITCH `mod_cdr_csv`, the `default` template: caller_id_name, caller_id_number,
//!   destination_number, context, start_stamp, answer_stamp, end_stamp, duration, billsec,
//!   hangup_cause, uuid, bleg_uuid, accountcode, read_codec, write_codec (15 fields).
//!
//! Each record gets a key for idempotent imports (`calls.unique_id`). FreeSWITCH's uuid is
//! unique per call leg and is the key. Asterisk's uniqueid is not: since Asterisk 12 a channel
//! that is transferred or dials several times writes several records with its uniqueid, so the
//! key is the uniqueid plus a hash of the whole record. A record without an id is keyed by a
//! hash of the whole record. The same record imported again always gets the same key.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use csv::ByteRecord;
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Asterisk,
    FreeSwitch,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Asterisk => "asterisk",
            Format::FreeSwitch => "freeswitch",
        }
    }
}

/// How a call ended, as the `calls` table stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Answered,
    NoAnswer,
    Busy,
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

    /// Asterisk's dispositions; CONGESTION (Asterisk 12+) is a failed call.
    fn asterisk(s: &str) -> Option<Disposition> {
        Some(match s {
            "ANSWERED" => Disposition::Answered,
            "NO ANSWER" => Disposition::NoAnswer,
            "BUSY" => Disposition::Busy,
            "FAILED" | "CONGESTION" => Disposition::Failed,
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cdr {
    pub accountcode: String,
    /// The calling number.
    pub src: String,
    /// The number dialled.
    pub dst: String,
    /// The device the call came from: the peer of Asterisk's channel (`SIP/101-0000002a` →
    /// `101`), FreeSWITCH's caller id number.
    pub from_device: String,
    /// The device the call went to: the peer of Asterisk's destination channel; FreeSWITCH
    /// has none in its default template (the dialled number stands for it).
    pub to_device: String,
    pub started_at: i64,
    pub duration_s: i64,
    pub billsec: i64,
    pub disposition: Disposition,
    /// The idempotence key (`calls.unique_id`).
    pub key: String,
}

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Parses one CSV record of `format`; times are read in `tz`. The error says what is wrong
/// with the record, without its line number (the caller knows it).
pub fn parse(format: Format, rec: &ByteRecord, tz: Tz) -> Result<Cdr, String> {
    match format {
        Format::Asterisk => parse_asterisk(rec, tz),
        Format::FreeSwitch => parse_freeswitch(rec, tz),
    }
}

fn text(rec: &ByteRecord, i: usize) -> String {
    String::from_utf8_lossy(rec.get(i).unwrap_or_default())
        .trim()
        .to_string()
}

fn parse_asterisk(rec: &ByteRecord, tz: Tz) -> Result<Cdr, String> {
    if !(16..=18).contains(&rec.len()) {
        return Err(format!(
            "{} fields; an Asterisk Master.csv record has 16 to 18",
            rec.len()
        ));
    }
    let f = |i| text(rec, i);
    let started_at = instant("start", &f(9), tz)?;
    let duration_s = seconds("duration", &f(12))?;
    let billsec = seconds("billsec", &f(13))?;
    let disp = f(14);
    let disposition = Disposition::asterisk(&disp).ok_or_else(|| {
        format!("disposition {disp:?} is none of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION")
    })?;
    let uniqueid = if rec.len() >= 17 {
        f(16)
    } else {
        String::new()
    };
    let hash = record_hash(rec);
    let key = if uniqueid.is_empty() {
        format!("sha256:{}", &hash[..32])
    } else {
        format!("{uniqueid}/{}", &hash[..12])
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
    })
}

fn parse_freeswitch(rec: &ByteRecord, tz: Tz) -> Result<Cdr, String> {
    if rec.len() != 15 {
        return Err(format!(
            "{} fields; a FreeSWITCH default-template record has 15",
            rec.len()
        ));
    }
    let f = |i| text(rec, i);
    let started_at = instant("start_stamp", &f(4), tz)?;
    let answered_at = f(5);
    if !answered_at.is_empty() {
        instant("answer_stamp", &answered_at, tz)?;
    }
    let duration_s = seconds("duration", &f(7))?;
    let billsec = seconds("billsec", &f(8))?;
    let cause = f(9);
    if cause.is_empty() {
        return Err("no hangup_cause".to_string());
    }
    let disposition = Disposition::freeswitch(&cause, billsec > 0 || !answered_at.is_empty());
    let uuid = f(10);
    let key = if uuid.is_empty() {
        format!("sha256:{}", &record_hash(rec)[..32])
    } else {
        uuid
    };
    let src = f(1);
    let dst = f(2);
    Ok(Cdr {
        accountcode: f(12),
        from_device: src.clone(),
        to_device: String::new(),
        src,
        dst,
        started_at,
        duration_s,
        billsec,
        disposition,
        key,
    })
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
    let mut h = Sha256::new();
    for field in rec.iter() {
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
        let out = parse(Format::Asterisk, &recs[0], Tz::UTC).unwrap();
        assert_eq!(out.src, "101");
        assert_eq!(out.dst, "0044207946");
        assert_eq!(out.from_device, "101");
        assert_eq!(out.to_device, "trunk");
        assert_eq!(out.started_at, at("2024-03-05 10:00:00"));
        assert_eq!((out.duration_s, out.billsec), (67, 60));
        assert_eq!(out.disposition, Disposition::Answered);
        assert!(out.key.starts_with("1709632800.42/"), "{}", out.key);
        assert_eq!(out.key.len(), "1709632800.42/".len() + 12);

        let missed = parse(Format::Asterisk, &recs[1], Tz::UTC).unwrap();
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
            parse(Format::Asterisk, &recs[0], london)
                .unwrap()
                .started_at,
            at("2024-03-05 10:00:00")
        );
        assert_eq!(
            parse(Format::Asterisk, &recs[0], ny).unwrap().started_at,
            at("2024-03-05 15:00:00")
        );
    }

    #[test]
    fn the_same_record_gets_the_same_key_and_records_without_uniqueid_are_hashed() {
        let a = read(MASTER);
        let b = read(MASTER);
        assert_eq!(
            parse(Format::Asterisk, &a[0], Tz::UTC).unwrap().key,
            parse(Format::Asterisk, &b[0], Tz::UTC).unwrap().key
        );
        // 16 fields: loguniqueid off.
        let short = read(
            r#""acc1","101","5551234","default","","SIP/101-1","","Dial","","2024-03-05 10:00:00","","2024-03-05 10:00:03","3","0","BUSY","DOCUMENTATION""#,
        );
        let cdr = parse(Format::Asterisk, &short[0], Tz::UTC).unwrap();
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
            let err = parse(Format::Asterisk, &recs[0], Tz::UTC).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
        }
        // A local time skipped by a clock change does not exist.
        let gap = read(
            r#""","101","555","c","","SIP/101-1","","Dial","","2024-03-31 01:30:00","","","3","0","FAILED","DOCUMENTATION","1.1",""#,
        );
        let london: Tz = "Europe/London".parse().unwrap();
        assert!(parse(Format::Asterisk, &gap[0], london)
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

    #[test]
    fn reads_freeswitch_default_template() {
        let recs = read(
            r#""Alice","1000","00442079460000","default","2024-03-05 10:00:00","2024-03-05 10:00:05","2024-03-05 10:01:05","65","60","NORMAL_CLEARING","a0b1c2d3-0000-4000-8000-000000000001","","","PCMA","PCMA"
"Bob","1001","1000","default","2024-03-05 10:05:00","","2024-03-05 10:05:20","20","0","ORIGINATOR_CANCEL","a0b1c2d3-0000-4000-8000-000000000002","","acc9","PCMA","PCMA"
"Bob","1001","1002","default","2024-03-05 10:06:00","","2024-03-05 10:06:02","2","0","USER_BUSY","a0b1c2d3-0000-4000-8000-000000000003","","","PCMA","PCMA"
"Bob","1001","999","default","2024-03-05 10:07:00","","2024-03-05 10:07:01","1","0","UNALLOCATED_NUMBER","","","","PCMA","PCMA""#,
        );
        let c = parse(Format::FreeSwitch, &recs[0], Tz::UTC).unwrap();
        assert_eq!((c.src.as_str(), c.dst.as_str()), ("1000", "00442079460000"));
        assert_eq!(c.from_device, "1000");
        assert_eq!(c.disposition, Disposition::Answered);
        assert_eq!(c.key, "a0b1c2d3-0000-4000-8000-000000000001");
        assert_eq!((c.duration_s, c.billsec), (65, 60));
        let c = parse(Format::FreeSwitch, &recs[1], Tz::UTC).unwrap();
        assert_eq!(c.disposition, Disposition::NoAnswer);
        assert_eq!(c.accountcode, "acc9");
        let c = parse(Format::FreeSwitch, &recs[2], Tz::UTC).unwrap();
        assert_eq!(c.disposition, Disposition::Busy);
        let c = parse(Format::FreeSwitch, &recs[3], Tz::UTC).unwrap();
        assert_eq!(c.disposition, Disposition::Failed);
        assert!(c.key.starts_with("sha256:"));
        // An Asterisk record is not a FreeSWITCH one.
        let ast = read(MASTER);
        assert!(parse(Format::FreeSwitch, &ast[0], Tz::UTC)
            .unwrap_err()
            .contains("18 fields"));
    }
}
