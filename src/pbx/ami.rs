//! The Asterisk Manager Interface over TCP, as much of it as a callback needs: the banner,
//! `Login`, `Originate`, the `OriginateResponse` event and `Logoff`.
//!
//! The protocol is text: after a one-line banner (`Asterisk Call Manager/5.0.1`), each message
//! is `Key: Value` lines ended by CRLF and closed by an empty line. Responses carry the
//! `ActionID` of their action; events (`Event: …`) may arrive between them and are skipped
//! unless asked for. Every read and write has a deadline, so a PBX that stops answering ends
//! in a timeout, never in a task that waits forever.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// A message longer than this is not the manager talking: the connection is dropped.
const MAX_MESSAGE: usize = 64 * 1024;

/// One manager message: its fields in order, keys compared without case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    fields: Vec<(String, String)>,
}

impl Message {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// `Event: name`.
    pub fn is_event(&self, name: &str) -> bool {
        self.get("Event")
            .is_some_and(|e| e.eq_ignore_ascii_case(name))
    }

    /// An answer to an action (an `OriginateResponse` event also has a `Response` field).
    fn is_response(&self) -> bool {
        self.get("Response").is_some() && self.get("Event").is_none()
    }

    fn action_id_is(&self, id: &str) -> bool {
        self.get("ActionID") == Some(id)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("a manager message cannot hold a line break or control character in {0:?}")]
    ControlCharacter(String),
    #[error("a manager message is longer than {MAX_MESSAGE} bytes")]
    TooLong,
}

/// An action as bytes on the wire: `Action: name`, the fields, an empty line.
/// A value with a line break would smuggle in a second action, so it is refused.
pub fn encode(action: &str, fields: &[(&str, &str)]) -> Result<Vec<u8>, FrameError> {
    let mut out = String::new();
    for (key, value) in std::iter::once(&("Action", action)).chain(fields) {
        for part in [key, value] {
            if part.chars().any(char::is_control) {
                return Err(FrameError::ControlCharacter((*key).to_string()));
            }
        }
        out.push_str(key);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

/// Splits the bytes read from the manager into the banner and messages. Fed any chunks,
/// however the TCP stream cut them; lines may end in CRLF or a bare LF.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The first line, once it is complete.
    pub fn banner(&mut self) -> Result<Option<String>, FrameError> {
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                Ok(Some(String::from_utf8_lossy(&line).trim_end().to_string()))
            }
            None if self.buf.len() > MAX_MESSAGE => Err(FrameError::TooLong),
            None => Ok(None),
        }
    }

    /// The next complete message, once its closing empty line has arrived. Lines without a
    /// colon (the output of old `Response: Follows` commands) are kept under an empty key.
    pub fn message(&mut self) -> Result<Option<Message>, FrameError> {
        loop {
            let Some(end) = message_end(&self.buf) else {
                return if self.buf.len() > MAX_MESSAGE {
                    Err(FrameError::TooLong)
                } else {
                    Ok(None)
                };
            };
            let raw: Vec<u8> = self.buf.drain(..end).collect();
            let text = String::from_utf8_lossy(&raw);
            let fields: Vec<(String, String)> = text
                .lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| !l.is_empty())
                .map(|l| match l.split_once(':') {
                    Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                    None => (String::new(), l.to_string()),
                })
                .collect();
            // Stray empty lines between messages are no message.
            if !fields.is_empty() {
                return Ok(Some(Message { fields }));
            }
        }
    }
}

/// The index just past the empty line that closes the first message in `buf`.
fn message_end(buf: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (i, &b) in buf.iter().enumerate() {
        if b == b'\n' {
            let line = &buf[line_start..i];
            if line.is_empty() || line == b"\r" {
                return Some(i + 1);
            }
            line_start = i + 1;
        }
    }
    None
}

/// What can go wrong talking to the manager, in the words a subscriber reads.
#[derive(Debug, thiserror::Error)]
pub enum AmiError {
    /// Connection refused, no route, name not resolved, or no answer to the connection.
    #[error("PBX unreachable")]
    Unreachable(#[source] std::io::Error),
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The manager answered `Response: Error` to an action, with its message.
    #[error("{0}")]
    Refused(String),
    #[error("the PBX did not answer in time")]
    Timeout,
    #[error("the PBX closed the connection")]
    Closed,
    #[error("the PBX connection failed")]
    Io(#[source] std::io::Error),
    #[error("the PBX does not speak the Asterisk manager protocol")]
    Protocol(String),
}

impl From<FrameError> for AmiError {
    fn from(e: FrameError) -> Self {
        AmiError::Protocol(e.to_string())
    }
}

/// How long the connection waits: for the TCP connection and for each answer.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub answer: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            answer: Duration::from_secs(10),
        }
    }
}

/// A logged-out manager connection whose banner has been read.
pub struct Connection {
    stream: TcpStream,
    decoder: Decoder,
    timeouts: Timeouts,
    /// The banner, e.g. `Asterisk Call Manager/5.0.1`.
    pub banner: String,
    /// Events that arrived while a response was awaited, newest last, for `originate_result`.
    events: VecDeque<Message>,
}

/// How many skipped events a connection keeps.
const KEPT_EVENTS: usize = 256;

impl Connection {
    pub async fn open(host: &str, port: u16, timeouts: Timeouts) -> Result<Connection, AmiError> {
        let deadline = Instant::now() + timeouts.connect;
        let stream = match timeout_at(deadline, TcpStream::connect((host, port))).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(AmiError::Unreachable(e)),
            Err(_) => {
                return Err(AmiError::Unreachable(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection timed out",
                )))
            }
        };
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            stream,
            decoder: Decoder::default(),
            timeouts,
            banner: String::new(),
            events: VecDeque::new(),
        };
        let deadline = Instant::now() + timeouts.answer;
        conn.banner = loop {
            if let Some(b) = conn.decoder.banner()? {
                break b;
            }
            conn.fill(deadline).await?;
        };
        if !conn.banner.starts_with("Asterisk Call Manager") {
            return Err(AmiError::Protocol(conn.banner));
        }
        Ok(conn)
    }

    /// Sends an action; the caller gives it an `ActionID` to find its response by.
    pub async fn send(&mut self, action: &str, fields: &[(&str, &str)]) -> Result<(), AmiError> {
        let bytes = encode(action, fields)?;
        let deadline = Instant::now() + self.timeouts.answer;
        match timeout_at(deadline, self.stream.write_all(&bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AmiError::Io(e)),
            Err(_) => Err(AmiError::Timeout),
        }
    }

    /// The next message of any kind, before `deadline`.
    pub async fn next(&mut self, deadline: Instant) -> Result<Message, AmiError> {
        loop {
            if let Some(m) = self.decoder.message()? {
                return Ok(m);
            }
            self.fill(deadline).await?;
        }
    }

    /// The response to the action sent with `action_id`, skipping events and other answers.
    pub async fn response(&mut self, action_id: &str) -> Result<Message, AmiError> {
        let deadline = Instant::now() + self.timeouts.answer;
        loop {
            let m = self.next(deadline).await?;
            if m.is_response() && (m.action_id_is(action_id) || m.get("ActionID").is_none()) {
                return Ok(m);
            }
            if m.get("Event").is_some() {
                if self.events.len() == KEPT_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(m);
            }
        }
    }

    async fn fill(&mut self, deadline: Instant) -> Result<(), AmiError> {
        let mut chunk = [0_u8; 4096];
        match timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) => Err(AmiError::Closed),
            Ok(Ok(n)) => {
                self.decoder.feed(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(AmiError::Io(e)),
            Err(_) => Err(AmiError::Timeout),
        }
    }

    /// `Action: Login`. `events` is the event classes to receive (`off`, or e.g. `call`).
    pub async fn login(
        &mut self,
        username: &str,
        secret: &str,
        events: &str,
        action_id: &str,
    ) -> Result<(), AmiError> {
        self.send(
            "Login",
            &[
                ("ActionID", action_id),
                ("Username", username),
                ("Secret", secret),
                ("Events", events),
            ],
        )
        .await?;
        let r = self.response(action_id).await?;
        if is_success(&r) {
            Ok(())
        } else {
            Err(AmiError::AuthenticationFailed)
        }
    }

    /// `Action: Originate` with `Async: true`: the manager answers at once whether it accepted
    /// the call; how the call went comes later as an `OriginateResponse` event.
    pub async fn originate(&mut self, o: &Originate<'_>) -> Result<(), AmiError> {
        let timeout_ms = o.ring_timeout.as_millis().to_string();
        let mut fields = vec![
            ("ActionID", o.action_id),
            ("Channel", o.channel),
            ("Context", o.context),
            ("Exten", o.exten),
            ("Priority", "1"),
            ("Timeout", timeout_ms.as_str()),
            ("CallerID", o.caller_id),
            ("Async", "true"),
        ];
        if !o.account.is_empty() {
            fields.push(("Account", o.account));
        }
        self.send("Originate", &fields).await?;
        let r = self.response(o.action_id).await?;
        if is_success(&r) {
            Ok(())
        } else {
            Err(AmiError::Refused(
                r.get("Message")
                    .filter(|m| !m.is_empty())
                    .unwrap_or("the PBX refused the call")
                    .to_string(),
            ))
        }
    }

    /// Waits until `deadline` for the `OriginateResponse` event of `action_id`.
    pub async fn originate_result(
        &mut self,
        action_id: &str,
        deadline: Instant,
    ) -> Result<OriginateResult, AmiError> {
        let wanted = |m: &Message| m.is_event("OriginateResponse") && m.action_id_is(action_id);
        // A call that fails at once may be reported before the originate's own response.
        if let Some(i) = self.events.iter().position(wanted) {
            let m = self.events.remove(i).unwrap_or_default();
            return Ok(OriginateResult::from_event(&m));
        }
        loop {
            let m = self.next(deadline).await?;
            if wanted(&m) {
                return Ok(OriginateResult::from_event(&m));
            }
        }
    }

    /// `Action: Logoff`, waiting briefly for the goodbye; errors do not matter any more.
    pub async fn logoff(mut self, action_id: &str) {
        if self
            .send("Logoff", &[("ActionID", action_id)])
            .await
            .is_ok()
        {
            let _ = self.response(action_id).await;
        }
    }
}

fn is_success(m: &Message) -> bool {
    m.get("Response")
        .is_some_and(|r| r.eq_ignore_ascii_case("Success"))
}

/// The fields of an originate a callback fills in.
#[derive(Clone, Debug)]
pub struct Originate<'a> {
    pub action_id: &'a str,
    /// The first leg, e.g. `Local/4477001234@from-internal`.
    pub channel: &'a str,
    pub context: &'a str,
    /// Where the answered first leg continues: the number to bridge to.
    pub exten: &'a str,
    pub caller_id: &'a str,
    /// The CDR account code.
    pub account: &'a str,
    /// How long the first leg may ring.
    pub ring_timeout: Duration,
}

/// How an asynchronous originate ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginateResult {
    Answered,
    Failed(String),
}

impl OriginateResult {
    fn from_event(m: &Message) -> OriginateResult {
        if is_success(m) {
            return OriginateResult::Answered;
        }
        // The reason is the channel's last control frame (Asterisk's `ast_control_frame_type`).
        let why = match m.get("Reason").unwrap_or("") {
            "1" => "hung up",
            "3" => "no answer",
            "5" => "busy",
            "8" => "congestion",
            _ => "the call could not be placed",
        };
        OriginateResult::Failed(why.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_key_value_lines_closed_by_an_empty_line() {
        let bytes = encode("Login", &[("Username", "portal"), ("Secret", "s: x")]).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "Action: Login\r\nUsername: portal\r\nSecret: s: x\r\n\r\n"
        );
    }

    #[test]
    fn a_line_break_in_a_value_cannot_smuggle_an_action() {
        for evil in ["x\r\nAction: Command", "x\nCommand: core stop now", "x\0"] {
            assert_eq!(
                encode("Originate", &[("CallerID", evil)]),
                Err(FrameError::ControlCharacter("CallerID".into()))
            );
        }
    }

    #[test]
    fn banner_then_messages_in_any_chunks() {
        let wire = "Asterisk Call Manager/5.0.1\r\n\
                    Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n\
                    Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n";
        // Every cut of the stream in two, and one byte at a time, give the same messages.
        let cuts =
            (0..=wire.len()).map(|cut| vec![&wire.as_bytes()[..cut], &wire.as_bytes()[cut..]]);
        let bytewise = wire.as_bytes().chunks(1).collect::<Vec<_>>();
        for chunks in cuts.chain(std::iter::once(bytewise)) {
            let mut d = Decoder::default();
            let (mut banner, mut got) = (None, Vec::new());
            for chunk in chunks {
                d.feed(chunk);
                if banner.is_none() {
                    banner = d.banner().unwrap();
                }
                if banner.is_some() {
                    while let Some(m) = d.message().unwrap() {
                        got.push(m);
                    }
                }
            }
            assert_eq!(banner.as_deref(), Some("Asterisk Call Manager/5.0.1"));
            assert_eq!(got.len(), 2);
            assert_eq!(got[0].get("response"), Some("Success"));
            assert_eq!(got[0].get("ActionID"), Some("a1"));
            assert_eq!(got[0].get("Message"), Some("Authentication accepted"));
            assert!(got[1].is_event("FullyBooted"));
        }
    }

    #[test]
    fn bare_line_feeds_and_stray_empty_lines_are_accepted() {
        let mut d = Decoder::default();
        d.feed(b"\r\n\nResponse: Error\nMessage: Authentication failed\n\n");
        let m = d.message().unwrap().unwrap();
        assert_eq!(m.get("Message"), Some("Authentication failed"));
        assert_eq!(d.message().unwrap(), None);
    }

    #[test]
    fn values_keep_their_colons() {
        let mut d = Decoder::default();
        d.feed(b"Event: OriginateResponse\r\nChannel: Local/123@ctx-0000;1\r\nCallerIDName: a:b\r\n\r\n");
        let m = d.message().unwrap().unwrap();
        assert_eq!(m.get("callerIDname"), Some("a:b"));
    }

    #[test]
    fn an_endless_message_is_refused() {
        let mut d = Decoder::default();
        d.feed(&vec![b'x'; MAX_MESSAGE + 1]);
        assert_eq!(d.banner(), Err(FrameError::TooLong));
        let mut d = Decoder::default();
        d.feed(b"Asterisk Call Manager/5.0.1\r\n");
        d.banner().unwrap();
        d.feed(&b"Key: value\r\n".repeat(MAX_MESSAGE / 10));
        assert_eq!(d.message(), Err(FrameError::TooLong));
    }

    /// A manager that reports the call's end before it answers the originate.
    #[tokio::test]
    async fn an_early_originate_result_is_not_lost() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"Asterisk Call Manager/5.0.1\r\n")
                .await
                .unwrap();
            let mut got = Vec::new();
            while !got.ends_with(b"\r\n\r\n") {
                let mut b = [0_u8; 256];
                let n = s.read(&mut b).await.unwrap();
                got.extend_from_slice(&b[..n]);
            }
            s.write_all(
                b"Event: OriginateResponse\r\nActionID: cb-1\r\nResponse: Failure\r\nReason: 8\r\n\r\n\
                  Response: Success\r\nActionID: cb-1\r\nMessage: Originate successfully queued\r\n\r\n",
            )
            .await
            .unwrap();
            String::from_utf8(got).unwrap()
        });
        let mut conn = Connection::open("127.0.0.1", port, Timeouts::default())
            .await
            .unwrap();
        assert_eq!(conn.banner, "Asterisk Call Manager/5.0.1");
        let o = Originate {
            action_id: "cb-1",
            channel: "Local/4477009001@from-internal",
            context: "from-internal",
            exten: "4420794600",
            caller_id: "\"John\" <101>",
            account: "",
            ring_timeout: Duration::from_secs(30),
        };
        conn.originate(&o).await.unwrap();
        let result = conn
            .originate_result("cb-1", Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(result, OriginateResult::Failed("congestion".into()));
        let sent = server.await.unwrap();
        assert!(
            sent.starts_with("Action: Originate\r\nActionID: cb-1\r\n"),
            "{sent}"
        );
        assert!(!sent.contains("Account:"), "no empty account code: {sent}");
    }

    #[tokio::test]
    async fn a_port_that_is_not_a_manager_is_named() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await.unwrap();
        });
        let err = Connection::open("127.0.0.1", port, Timeouts::default())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, AmiError::Protocol(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the PBX does not speak the Asterisk manager protocol"
        );
    }

    #[test]
    fn originate_results_name_the_reason() {
        let event = |fields: &[(&str, &str)]| Message {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert_eq!(
            OriginateResult::from_event(&event(&[("Response", "Success"), ("Reason", "4")])),
            OriginateResult::Answered
        );
        assert_eq!(
            OriginateResult::from_event(&event(&[("Response", "Failure"), ("Reason", "5")])),
            OriginateResult::Failed("busy".into())
        );
        assert_eq!(
            OriginateResult::from_event(&event(&[("Response", "Failure"), ("Reason", "0")])),
            OriginateResult::Failed("the call could not be placed".into())
        );
    }
}
