//! Callbacks through the PBX: a recorded request is originated over the Asterisk Manager
//! Interface in a task of its own, so the page that asked answers at once and a PBX that is
//! slow, down or refusing never holds up the portal. The task writes each step to the request
//! (queued → dialing → answered, or failed with the reason) while its manager connection is
//! still open, so whoever sees the connection end can read the final status.
//!
//! The first leg calls the subscriber's source number through the dialplan
//! (`Local/<src>@<context>`); when it answers, the call continues at extension `<dst>` of the
//! same context, which bridges it to the destination. The device the subscriber chose gives the
//! caller ID and the CDR account code, so the call is billed to that device.

pub mod ami;
pub mod number;

use std::time::Duration;

use tokio::time::Instant;

use crate::config::AmiSettings;
use crate::store::callbacks::CallbackStatus;
use crate::store::Store;
use ami::{AmiError, Connection, Originate, OriginateResult, Timeouts};

/// The PBX the portal talks to, shared with the handlers as app data.
#[derive(Clone, Debug)]
pub struct Pbx {
    ami: Option<AmiSettings>,
}

impl Pbx {
    pub fn new(ami: Option<AmiSettings>) -> Pbx {
        Pbx { ami }
    }

    pub fn configured(&self) -> bool {
        self.ami.is_some()
    }

    /// Starts placing a recorded callback, when a PBX is configured; otherwise the request
    /// stays queued. Returns at once.
    pub fn place(&self, store: Store, job: CallbackJob) -> bool {
        let Some(ami) = self.ami.clone() else {
            return false;
        };
        tokio::spawn(async move {
            place(&store, &ami, &job).await;
        });
        true
    }
}

/// A recorded callback request with what the originate needs.
#[derive(Clone, Debug)]
pub struct CallbackJob {
    pub request_id: i64,
    pub user_id: i64,
    pub src: String,
    pub dst: String,
    /// The device's user name: the CDR account code.
    pub account: String,
    pub caller_id: String,
}

/// How long the subscriber's phone may ring before the PBX gives up.
const RING_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after that the task waits for the PBX to report the outcome.
const RESULT_GRACE: Duration = Duration::from_secs(15);

async fn place(store: &Store, ami: &AmiSettings, job: &CallbackJob) {
    let id = job.request_id;
    let action = format!("selfcare-callback-{id}");
    let outcome = async {
        let mut conn = Connection::open(&ami.host, ami.port, Timeouts::default()).await?;
        // `call` events carry the OriginateResponse that tells how the call went.
        let login = conn
            .login(
                &ami.username,
                ami.secret.expose(),
                "call",
                &format!("{action}-login"),
            )
            .await;
        if let Err(e) = login {
            // Written before the connection closes (see the module's doc).
            finish(store, job, Err(&e)).await;
            return Ok(());
        }
        let channel = format!("Local/{}@{}", job.src, ami.context);
        let caller_id = clean_caller_id(&job.caller_id);
        let originate = Originate {
            action_id: &action,
            channel: &channel,
            context: &ami.context,
            exten: &job.dst,
            caller_id: &caller_id,
            account: &job.account,
            ring_timeout: RING_TIMEOUT,
        };
        if let Err(e) = conn.originate(&originate).await {
            finish(store, job, Err(&e)).await;
            conn.logoff(&format!("{action}-logoff")).await;
            return Ok(());
        }
        update(store, job, CallbackStatus::Dialing, "").await;
        let deadline = Instant::now() + RING_TIMEOUT + RESULT_GRACE;
        match conn.originate_result(&action, deadline).await {
            Ok(result) => finish(store, job, Ok(result)).await,
            // The PBX accepted the call and did not say how it went: it stays dialing.
            Err(e) => tracing::warn!(request = id, error = %e, "no originate result from the PBX"),
        }
        conn.logoff(&format!("{action}-logoff")).await;
        Ok::<(), AmiError>(())
    }
    .await;
    if let Err(e) = outcome {
        finish(store, job, Err(&e)).await;
    }
}

/// Records how a callback ended, and tells the account's activity log.
async fn finish(store: &Store, job: &CallbackJob, result: Result<OriginateResult, &AmiError>) {
    let (status, reason) = match result {
        Ok(OriginateResult::Answered) => (CallbackStatus::Answered, String::new()),
        Ok(OriginateResult::Failed(why)) => (CallbackStatus::Failed, why),
        Err(e) => {
            tracing::warn!(request = job.request_id, error = ?e, "callback failed");
            (CallbackStatus::Failed, e.to_string())
        }
    };
    update(store, job, status, &reason).await;
    let detail = match reason.as_str() {
        "" => format!("{} → {}", job.src, job.dst),
        why => format!("{} → {}: {why}", job.src, job.dst),
    };
    let action = format!("callback_{}", status.as_str());
    if let Err(e) = store.audit(Some(job.user_id), &action, &detail, "").await {
        tracing::error!(request = job.request_id, error = %e, "cannot record the callback outcome in the activity log");
    }
}

async fn update(store: &Store, job: &CallbackJob, status: CallbackStatus, reason: &str) {
    if let Err(e) = store
        .set_callback_status(job.request_id, status, reason)
        .await
    {
        tracing::error!(request = job.request_id, status = status.as_str(), error = %e, "cannot store the callback status");
    }
}

/// A caller ID fit for one manager header line.
fn clean_caller_id(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}
