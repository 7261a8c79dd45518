//! A portal with a read replica: PostgreSQL primary and a streaming replica made here from the
//! machine's PostgreSQL programs (`initdb`, `pg_basebackup`, `pg_ctl`) in a temporary folder.
//! Pages of call history are read from the replica (shown by pausing its replay: a call the
//! primary has is not on the page until the replica replays it), while logins and every write go
//! to the primary (the replica refuses writes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use selfcare::demo::{self, DemoOptions};
use selfcare::store::Store;

use crate::common::{browser, free_port, get_json, spawn_app_on};

/// A primary and its streaming replica, stopped and removed on drop.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    primary_port: u16,
    replica_port: u16,
}

/// The newest installed PostgreSQL's programs (Debian: /usr/lib/postgresql/N/bin).
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's programs in /usr/lib/postgresql (Debian package postgresql)")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .expect("initdb under /usr/lib/postgresql/*/bin")
        .1
}

fn output_of(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Cluster {
    /// PostgreSQL refuses to run as root: as root (CI), its programs run as `postgres`.
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut cmd = if output_of("id", &["-u"]) == "0" {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().expect(program);
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn start_server(&self, data: &str, port: u16, extra: &str) {
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off {extra}",
            self.dir.path().display()
        );
        let log = self.path(&format!("{data}.log"));
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.path(data),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        if output_of("id", &["-u"]) == "0" {
            let uid: u32 = output_of("id", &["-u", "postgres"]).parse().unwrap();
            let gid: u32 = output_of("id", &["-g", "postgres"]).parse().unwrap();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let cluster = Cluster {
            dir,
            bin: postgres_bin(),
            primary_port: free_port(),
            replica_port: free_port(),
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.path("primary"),
                "-U",
                "postgres",
                "--auth=trust",
            ],
        );
        cluster.start_server(
            "primary",
            cluster.primary_port,
            "-c wal_level=replica -c max_wal_senders=4",
        );
        cluster.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &cluster.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                &cluster.path("replica"),
                "-R",
                "-X",
                "stream",
            ],
        );
        cluster.start_server("replica", cluster.replica_port, "-c hot_standby=on");
        cluster
    }

    fn url(&self, port: u16, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{db}")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for data in ["replica", "primary"] {
            if Path::new(&self.path(data)).exists() {
                let _ = std::panic::catch_unwind(|| {
                    self.run(
                        "pg_ctl",
                        &["-D", &self.path(data), "-m", "immediate", "stop"],
                    )
                });
            }
        }
    }
}

/// Waits until the replica has replayed everything the primary has written so far.
async fn caught_up(primary: &Store, replica: &Store) {
    let (lsn,): (String,) = sqlx::query_as("SELECT CAST(pg_current_wal_lsn() AS TEXT)")
        .fetch_one(primary.pool())
        .await
        .unwrap();
    for _ in 0..600 {
        let (done,): (bool,) =
            sqlx::query_as("SELECT pg_last_wal_replay_lsn() >= CAST(CAST($1 AS TEXT) AS pg_lsn)")
                .bind(&lsn)
                .fetch_one(replica.pool())
                .await
                .unwrap();
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica did not catch up with {lsn} in 30 s");
}

/// An answered call of the user's to `dst`, written on the primary.
async fn add_call(primary: &Store, user_id: i64, at: i64, dst: &str) {
    sqlx::query(
        "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s, billsec)
         VALUES ($1, $2, '101', $3, 'out', 'ANSWERED', 60, 55)",
    )
    .bind(user_id)
    .bind(at)
    .bind(dst)
    .execute(primary.pool())
    .await
    .unwrap();
}

async fn calls_to(client: &reqwest::Client, address: &str, dst: &str) -> usize {
    let page = get_json(
        client,
        &format!("{address}/stats/call_list?period_start=2000-01-01&per_page=500&format=json"),
    )
    .await;
    page["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["called_to"].as_str() == Some(dst))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(selfcare_test_postgres),
    ignore = "SELFCARE_TEST_POSTGRES is not set"
)]
async fn pages_read_call_history_from_the_replica_and_write_to_the_primary() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let admin = Store::connect(&cluster.url(cluster.primary_port, "postgres"))
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE selfcare")
        .execute(admin.pool())
        .await
        .unwrap();
    let primary_url = cluster.url(cluster.primary_port, "selfcare");
    let replica_url = cluster.url(cluster.replica_port, "selfcare");

    let dir = tempfile::tempdir().unwrap();
    let primary = Store::connect(&primary_url).await.unwrap();
    primary.migrate().await.unwrap();
    let opts = DemoOptions {
        users: 2,
        calls: Some(500),
        seed: 3,
    };
    demo::fill(&primary, &dir.path().join("data"), &opts)
        .await
        .unwrap();
    let replica = Store::connect(&replica_url).await.unwrap();
    caught_up(&primary, &replica).await;
    let (in_recovery,): (bool,) = sqlx::query_as("SELECT pg_is_in_recovery()")
        .fetch_one(replica.pool())
        .await
        .unwrap();
    assert!(in_recovery, "the second server is a replica");

    let replica_for_portal = replica_url.clone();
    let app = spawn_app_on(primary_url.clone(), dir, move |s| {
        s.replica_database_url = Some(replica_for_portal)
    })
    .await;
    // A login writes (the session's row, the activity log): it works, so it went to the primary.
    let client = browser(&app, "demo", "replica test").await;
    let address = app.address.clone();
    assert_eq!(calls_to(&client, &address, "4420555012").await, 0);

    // The replica stops replaying; the primary gets a new call of demo's.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(replica.pool())
        .await
        .unwrap();
    let (user_id,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE username = 'demo'")
        .fetch_one(primary.pool())
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    add_call(&primary, user_id, now - 60, "4420555012").await;
    // Not on the page: the page was read from the replica, which has not replayed it.
    assert_eq!(calls_to(&client, &address, "4420555012").await, 0);
    let r = client
        .get(format!("{address}/stats/call_list?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        !r.text().await.unwrap().contains("4420555012"),
        "exports read the replica too"
    );

    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(replica.pool())
        .await
        .unwrap();
    caught_up(&primary, &replica).await;
    assert_eq!(calls_to(&client, &address, "4420555012").await, 1);

    // A write from a page (mark every missed call processed) lands on the primary.
    let token = crate::common::csrf(&app, &client, "/stats/missed_calls").await;
    let r = client
        .post(format!("{address}/stats/missed_calls"))
        .form(&[("processed", "all"), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "marking processed: {}",
        r.status()
    );
    let (left,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM calls WHERE user_id = $1 AND direction = 'in'
           AND disposition <> 'ANSWERED' AND processed = 0",
    )
    .bind(user_id)
    .fetch_one(primary.pool())
    .await
    .unwrap();
    assert_eq!(left, 0, "the primary has every missed call processed");

    // The replica refuses writes: the portal could only have written to the primary.
    let refused = sqlx::query("UPDATE calls SET seen = 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(replica.pool())
        .await;
    assert!(refused.is_err(), "a replica is read-only");
    drop(app);

    // `selfcare serve` given the replica reads it too.
    let served = Served::start(&primary_url, &replica_url).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .get(format!("{}/api/login?u=demo&p=demo", served.address))
        .send()
        .await
        .unwrap();
    assert!(login.text().await.unwrap().contains("<status>ok</status>"));
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(replica.pool())
        .await
        .unwrap();
    add_call(&primary, user_id, now - 30, "4420555013").await;
    assert_eq!(calls_to(&client, &served.address, "4420555013").await, 0);
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(replica.pool())
        .await
        .unwrap();
    caught_up(&primary, &replica).await;
    assert_eq!(calls_to(&client, &served.address, "4420555013").await, 1);
    drop(served);
    drop(cluster);
}

/// `selfcare serve` on the primary with its replica, as a process of its own; stopped on drop.
struct Served {
    child: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start(primary_url: &str, replica_url: &str) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_selfcare"))
            .args(["--database-url", primary_url, "serve"])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--replica-database-url", replica_url])
            .env("SELFCARE_DATA_DIR", dir.path().join("data"))
            .env_remove("SELFCARE_REDIS_URL")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let served = Served {
            child,
            address: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        for _ in 0..300 {
            if reqwest::get(format!("{}/callc/login", served.address))
                .await
                .is_ok()
            {
                return served;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("selfcare serve did not answer in 30 s");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
