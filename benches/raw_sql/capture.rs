//! The statements a page ran, as literal SQL a database's own client can run again: every value
//! bound to a placeholder written into the text.
//!
//! - SQLite: every connection this process opens gets a trace (`sqlite3_auto_extension`), and
//!   each statement, when it starts, is recorded as `sqlite3_expanded_sql` writes it.
//! - PostgreSQL: the portal connects through a proxy on 127.0.0.1 that reads the protocol's
//!   Parse and Bind messages (and simple queries) on their way to the server and writes each
//!   bound statement out with its values as typed literals (`'42'::int8`).
//!
//! Only the bench uses this; the portal is the same code as in production.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Whether statements are being recorded (between `start` and `stop`).
static RECORDING: AtomicBool = AtomicBool::new(false);
/// The statements since `start`, in the order they ran.
static CAPTURED: Mutex<Vec<Statement>> = Mutex::new(Vec::new());

/// A statement a page ran.
#[derive(Clone, Debug)]
pub enum Statement {
    /// Complete SQL: SQLite's expanded text, or a simple query sent as text.
    Text(String),
    /// A statement prepared with placeholders (PostgreSQL), its parameter types and the
    /// literals it ran with.
    Bound {
        query: String,
        types: Vec<&'static str>,
        values: Vec<String>,
    },
}

impl Statement {
    /// As one piece of SQL, the values written in.
    pub fn literal(&self) -> String {
        match self {
            Statement::Text(sql) => sql.clone(),
            Statement::Bound { query, values, .. } => fill_placeholders(query, values),
        }
    }
}

fn recording() -> bool {
    RECORDING.load(Ordering::Acquire)
}

fn record(statement: Statement) {
    CAPTURED.lock().unwrap().push(statement);
}

/// Records every statement from now on.
pub fn start() {
    CAPTURED.lock().unwrap().clear();
    RECORDING.store(true, Ordering::Release);
}

/// Stops recording; the statements since `start`.
pub fn stop() -> Vec<Statement> {
    RECORDING.store(false, Ordering::Release);
    std::mem::take(&mut *CAPTURED.lock().unwrap())
}

/// Traces every SQLite connection opened in this process from now on.
pub fn trace_sqlite() {
    // SAFETY: registers a function with the signature SQLite calls it with.
    let rc = unsafe { libsqlite3_sys::sqlite3_auto_extension(Some(on_open)) };
    assert_eq!(rc, libsqlite3_sys::SQLITE_OK, "sqlite3_auto_extension");
}

unsafe extern "C" fn on_open(
    db: *mut libsqlite3_sys::sqlite3,
    _: *mut *mut c_char,
    _: *const libsqlite3_sys::sqlite3_api_routines,
) -> c_int {
    libsqlite3_sys::sqlite3_trace_v2(
        db,
        libsqlite3_sys::SQLITE_TRACE_STMT as c_uint,
        Some(on_statement),
        std::ptr::null_mut(),
    );
    libsqlite3_sys::SQLITE_OK
}

/// SQLITE_TRACE_STMT: `statement` is the prepared statement, `text` its unexpanded text. Not
/// recorded: a trigger's body (it starts with `--`; part of the statement that fired it) and
/// `PRAGMA`s (a connection the pool opened during the request setting itself up).
unsafe extern "C" fn on_statement(
    _: c_uint,
    _: *mut c_void,
    statement: *mut c_void,
    text: *mut c_void,
) -> c_int {
    let text = CStr::from_ptr(text as *const c_char).to_bytes();
    if !recording() || text.starts_with(b"--") || text.starts_with(b"PRAGMA") {
        return 0;
    }
    let expanded = libsqlite3_sys::sqlite3_expanded_sql(statement as *mut _);
    if !expanded.is_null() {
        record(Statement::Text(
            CStr::from_ptr(expanded).to_string_lossy().into_owned(),
        ));
        libsqlite3_sys::sqlite3_free(expanded as *mut c_void);
    }
    0
}

/// Starts a proxy in front of the PostgreSQL server of `url` and returns the URL to give the
/// portal instead: the same database through the proxy, without TLS (the proxy reads the bytes).
pub async fn postgres_proxy(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let (credentials, rest) = rest.rsplit_once('@').map_or(("", rest), |(c, r)| (c, r));
    let (host_port, path) = rest.split_once('/').unwrap_or((rest, ""));
    let upstream = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let server = TcpStream::connect(&upstream)
                .await
                .expect("the PostgreSQL server");
            tokio::spawn(relay(client, server));
        }
    });
    let at = if credentials.is_empty() { "" } else { "@" };
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{scheme}://{credentials}{at}127.0.0.1:{port}/{path}{sep}sslmode=disable")
}

/// Server to client as it comes; client to server message by message, recording statements.
async fn relay(client: TcpStream, server: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
    });
    let mut prepared: HashMap<String, (String, Vec<u32>)> = HashMap::new();
    // The startup message has a length but no type byte.
    let Ok(len) = from_client.read_u32().await else {
        return;
    };
    let mut startup = vec![0; len as usize - 4];
    if from_client.read_exact(&mut startup).await.is_err() {
        return;
    }
    let _ = to_server.write_u32(len).await;
    let _ = to_server.write_all(&startup).await;
    loop {
        let Ok(kind) = from_client.read_u8().await else {
            return;
        };
        let Ok(len) = from_client.read_u32().await else {
            return;
        };
        let mut body = vec![0; len as usize - 4];
        if from_client.read_exact(&mut body).await.is_err() {
            return;
        }
        match kind {
            b'P' => {
                let mut m = Message(&body);
                let name = m.text();
                let query = m.text();
                let types = (0..m.i16()).map(|_| m.i32() as u32).collect();
                prepared.insert(name, (query, types));
            }
            b'B' => {
                let mut m = Message(&body);
                let _portal = m.text();
                let name = m.text();
                let formats: Vec<i16> = (0..m.i16()).map(|_| m.i16()).collect();
                let values: Vec<Option<Vec<u8>>> = (0..m.i16())
                    .map(|_| match m.i32() {
                        -1 => None,
                        n => Some(m.bytes(n as usize).to_vec()),
                    })
                    .collect();
                if let (true, Some((query, types))) = (recording(), prepared.get(&name)) {
                    let values: Vec<String> = values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let binary = match formats.len() {
                                0 => false,
                                1 => formats[0] == 1,
                                _ => formats[i] == 1,
                            };
                            literal(v.as_deref(), types.get(i).copied().unwrap_or(0), binary)
                        })
                        .collect();
                    record(Statement::Bound {
                        query: query.clone(),
                        types: types.iter().map(|oid| type_name(*oid)).collect(),
                        values,
                    });
                }
            }
            b'Q' if recording() => record(Statement::Text(Message(&body).text())),
            _ => {}
        }
        if to_server.write_u8(kind).await.is_err()
            || to_server.write_u32(len).await.is_err()
            || to_server.write_all(&body).await.is_err()
        {
            return;
        }
    }
}

/// A protocol message's body, read front to back.
struct Message<'a>(&'a [u8]);

impl Message<'_> {
    fn text(&mut self) -> String {
        let end = self.0.iter().position(|b| *b == 0).unwrap_or(self.0.len());
        let s = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = &self.0[(end + 1).min(self.0.len())..];
        s
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.bytes(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.bytes(4).try_into().unwrap())
    }
}

/// The name of a parameter's type, by its OID; empty for one sqlx does not send.
fn type_name(oid: u32) -> &'static str {
    match oid {
        16 => "bool",
        17 => "bytea",
        20 => "int8",
        21 => "int2",
        23 => "int4",
        25 => "text",
        700 => "float4",
        701 => "float8",
        1043 => "varchar",
        _ => "",
    }
}

/// A bound value as a literal of its type (`'42'::int8`, `NULL::text`).
fn literal(value: Option<&[u8]>, oid: u32, binary: bool) -> String {
    let type_name = type_name(oid);
    let cast = if type_name.is_empty() {
        String::new()
    } else {
        format!("::{type_name}")
    };
    let Some(v) = value else {
        return format!("NULL{cast}");
    };
    let text = if !binary {
        String::from_utf8_lossy(v).into_owned()
    } else {
        match (oid, v.len()) {
            (16, 1) => (v[0] != 0).to_string(),
            (20, 8) => i64::from_be_bytes(v.try_into().unwrap()).to_string(),
            (21, 2) => i16::from_be_bytes(v.try_into().unwrap()).to_string(),
            (23, 4) => i32::from_be_bytes(v.try_into().unwrap()).to_string(),
            (700, 4) => f32::from_be_bytes(v.try_into().unwrap()).to_string(),
            (701, 8) => f64::from_be_bytes(v.try_into().unwrap()).to_string(),
            (17, _) => format!(
                "\\x{}",
                v.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
            _ => String::from_utf8_lossy(v).into_owned(),
        }
    };
    format!("'{}'{cast}", text.replace('\'', "''"))
}

/// `query` with `$1`, `$2`, … replaced by their literals (not inside quoted text).
fn fill_placeholders(query: &str, literals: &[String]) -> String {
    let mut out = String::with_capacity(query.len() + 16 * literals.len());
    let mut chars = query.char_indices().peekable();
    let mut quoted = false;
    while let Some((_, c)) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted {
            let mut digits = String::new();
            while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            if let Some(v) = digits
                .parse::<usize>()
                .ok()
                .and_then(|n| literals.get(n.wrapping_sub(1)))
            {
                out.push_str(v);
                continue;
            }
            out.push('$');
            out.push_str(&digits);
            continue;
        }
        out.push(c);
    }
    out
}
