//! Rating's side of the controls: a call that the subscriber's controls would have refused,
//! had the PBX asked (`/pbx/authorize`), is flagged with the reason when it is imported
//! (`calls.control_flag`). Everything is loaded once per import; a call costs a few lookups.
//! Money (the limit, the balance) is not judged afterwards: what was left when the call began
//! is not known from its record.

use std::collections::HashMap;

use super::decision::{self, Destination, Reason, Subscriber};
use crate::store::controls::{default_enabled, ScreenData, UserControls};

pub struct Screen {
    national: String,
    ceiling: i64,
    /// destination id → (group id, dir code)
    dests: HashMap<i64, (i64, String)>,
    /// group id → (flag, name, risk)
    groups: HashMap<i64, (String, String, i64)>,
    /// (group id, dir code) → (service id, premium, risk)
    services: HashMap<(i64, String), (i64, bool, i64)>,
    /// user id → (blocked by the operator, home country as written)
    users: HashMap<i64, (bool, String)>,
    controls: HashMap<i64, UserControls>,
    /// (user id, service id) → on
    choices: HashMap<(i64, i64), bool>,
}

impl Screen {
    pub fn new(d: ScreenData) -> Screen {
        Screen {
            national: d.national_country,
            ceiling: d.risk_ceiling,
            dests: d
                .dests
                .into_iter()
                .map(|(id, g, dir)| (id, (g, dir)))
                .collect(),
            groups: d
                .groups
                .into_iter()
                .map(|(id, flag, name, risk)| (id, (flag, name, risk)))
                .collect(),
            services: d
                .services
                .into_iter()
                .map(|(id, g, dir, kind, risk)| ((g, dir), (id, kind == "premium", risk)))
                .collect(),
            users: d
                .users
                .into_iter()
                .map(|(id, blocked, home)| (id, (blocked != 0, home)))
                .collect(),
            controls: d.controls.into_iter().collect(),
            choices: d
                .choices
                .into_iter()
                .map(|(u, s, on)| ((u, s), on != 0))
                .collect(),
        }
    }

    /// Why the controls would have refused this call, if they would have.
    pub fn flag(
        &self,
        user_id: i64,
        outgoing: bool,
        destination_id: Option<i64>,
        started_at: i64,
    ) -> Option<Reason> {
        let (blocked, home) = self.users.get(&user_id)?;
        let controls = self.controls.get(&user_id);
        let who = Subscriber {
            blocked: *blocked
                || controls
                    .and_then(|c| c.lost_phone_at)
                    .is_some_and(|since| started_at >= since),
            barrings: controls.map(|c| c.barrings).unwrap_or_default(),
        };
        if !outgoing {
            return decision::incoming(&who).err();
        }
        let Some(dest) = destination_id else {
            // Internal, or not matched: nothing to judge but the block and the barring.
            return decision::policy(&who, &Self::anywhere()).err();
        };
        let (group, dir) = self.dests.get(&dest)?;
        let (flag, name, country_risk) = self.groups.get(group)?;
        let (service, premium, service_risk) = self
            .services
            .get(&(*group, dir.clone()))
            .copied()
            .unwrap_or((0, false, 1));
        let risk = service_risk.max(*country_risk);
        let is = |iso: &str| !flag.is_empty() && flag.eq_ignore_ascii_case(iso);
        let to = Destination {
            national: self.national.is_empty() || is(&self.national),
            home: is(home) || name.eq_ignore_ascii_case(home),
            premium,
            risk,
            enabled: self
                .choices
                .get(&(user_id, service))
                .copied()
                .unwrap_or_else(|| {
                    default_enabled(if premium { "premium" } else { "standard" }, risk)
                }),
            risk_ceiling: self.ceiling,
        };
        decision::policy(&who, &to).err()
    }

    /// A destination nothing but the block and the outgoing barring refuse.
    fn anywhere() -> Destination {
        Destination {
            national: true,
            home: true,
            premium: false,
            risk: 1,
            enabled: true,
            risk_ceiling: decision::HIGH_RISK,
        }
    }
}
