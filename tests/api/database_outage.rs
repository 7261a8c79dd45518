//! PostgreSQL goes away under a running portal (the network to it is cut): every request is
//! answered 503 with `Retry-After`, in the format the client asked for — the seed's failed
//! action for XML, the JSON error shape for JSON, a page for a browser — and once the database is
//! back the same requests work again.

use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::{spawn_demo_app, spawn_second_process, text_of, Backend};

/// A TCP relay to PostgreSQL that can be cut (live connections dropped, new ones refused) and
/// restored on the same port.
struct Relay {
    port: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: Option<JoinHandle<()>>,
    upstream: String,
}

impl Relay {
    async fn start(upstream: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut relay = Relay {
            port,
            tasks: Arc::default(),
            acceptor: None,
            upstream: upstream.to_string(),
        };
        relay.accept(listener);
        relay
    }

    fn accept(&mut self, listener: TcpListener) {
        let (tasks, upstream) = (self.tasks.clone(), self.upstream.clone());
        self.acceptor = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(task);
            }
        }));
    }

    fn cut(&mut self) {
        if let Some(a) = self.acceptor.take() {
            a.abort();
        }
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    async fn restore(&mut self) {
        // The port was just freed by the aborted acceptor; bind it again.
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        self.accept(listener);
    }
}

/// A demo database on PostgreSQL, a relay to its server, a second portal process that reaches
/// the database through the relay, and a client logged in there as `demo`.
async fn portal_through_a_relay() -> (crate::common::TestApp, Relay, String, reqwest::Client) {
    let app = spawn_demo_app(Backend::Postgres).await;
    // The server's host:port from the test database's URL.
    let after_at = app.database_url.split_once('@').unwrap().1;
    let (host_port, database) = after_at.split_once('/').unwrap();
    let relay = Relay::start(host_port).await;
    let relayed = format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        relay.port,
        database.split('?').next().unwrap()
    );
    let portal = spawn_second_process(&app, |s| s.database_url = relayed).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .get(format!("{portal}/api/login?u=demo&p=demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    (app, relay, portal, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(selfcare_test_postgres),
    ignore = "SELFCARE_TEST_POSTGRES is not set"
)]
async fn a_database_outage_is_answered_in_the_page_format_then_passes() {
    let (_app, mut relay, portal, client) = portal_through_a_relay().await;
    let page = |format: &'static str| {
        let client = client.clone();
        let url = format!("{portal}/callc/main?format={format}");
        async move {
            let r = client.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let kind = r.headers()["content-type"].to_str().unwrap().to_string();
            (status, retry, kind, r.text().await.unwrap())
        }
    };
    assert_eq!(page("xml").await.0, 200);

    relay.cut();
    let (xml, json, html) = tokio::join!(page("xml"), page("json"), page("html"));
    assert_eq!((xml.0, xml.1.as_deref()), (503, Some("30")), "{xml:?}");
    assert!(xml.2.contains("xml"), "{xml:?}");
    roxmltree::Document::parse(&xml.3).expect("well-formed XML");
    assert_eq!(text_of(&xml.3, "status"), "failed");
    assert!(text_of(&xml.3, "status_message").contains("temporarily unavailable"));

    assert_eq!((json.0, json.1.as_deref()), (503, Some("30")), "{json:?}");
    assert!(json.2.contains("json"), "{json:?}");
    let body: serde_json::Value = serde_json::from_str(&json.3).expect("JSON");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("temporarily unavailable"));

    assert_eq!(html.0, 503, "{html:?}");
    assert!(html.2.contains("text/html"), "{html:?}");
    assert!(html.3.contains("temporarily unavailable"));

    // Back: the same session works again.
    relay.restore().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, ..) = page("json").await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} after the database came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The pool tests a connection only when it has lain idle (`store::open_pool`): connections cut
/// while nobody asked anything are found dead and replaced before a page's statement uses them,
/// so the first page asked after the database came back is served, not answered 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(selfcare_test_postgres),
    ignore = "SELFCARE_TEST_POSTGRES is not set"
)]
async fn connections_cut_while_idle_are_replaced_before_a_page_uses_them() {
    let (_app, mut relay, portal, client) = portal_through_a_relay().await;
    let main = format!("{portal}/callc/main?format=json");
    assert_eq!(
        client.get(&main).send().await.unwrap().status().as_u16(),
        200
    );

    // Every pooled connection is cut, as a PostgreSQL restart cuts them, and the database is
    // back before anyone asks again.
    relay.cut();
    relay.restore().await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for _ in 0..3 {
        let r = client.get(&main).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    }
}
