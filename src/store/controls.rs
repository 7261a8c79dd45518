//! Subscriber controls: spending limit, barrings, the lost-phone block, the calling plan, and the
//! operator's settings for them. The rules are in `crate::controls`.

use sqlx::{AnyConnection, FromRow};

use super::Store;
use crate::controls::decision::{Barrings, HIGH_RISK};

/// The operator's settings.
#[derive(Clone, Debug, FromRow)]
pub struct ControlSettings {
    /// ISO 3166 alpha-2 of the operator's country ('' when not set: every call is national).
    pub national_country: String,
    pub risk_ceiling: i64,
}

/// A subscriber's controls (all defaults when never set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserControls {
    pub spending_limit_micros: Option<i64>,
    pub limit_mail: bool,
    pub limit_mail_80_month: String,
    pub limit_mail_100_month: String,
    pub barrings: Barrings,
    pub lost_phone_at: Option<i64>,
}

#[derive(FromRow)]
struct ControlsRow {
    spending_limit_micros: Option<i64>,
    limit_mail: i64,
    limit_mail_80_month: String,
    limit_mail_100_month: String,
    bar_outgoing: i64,
    bar_international: i64,
    bar_international_except_home: i64,
    bar_premium: i64,
    bar_incoming: i64,
    lost_phone_at: Option<i64>,
}

impl From<ControlsRow> for UserControls {
    fn from(r: ControlsRow) -> Self {
        UserControls {
            spending_limit_micros: r.spending_limit_micros,
            limit_mail: r.limit_mail != 0,
            limit_mail_80_month: r.limit_mail_80_month,
            limit_mail_100_month: r.limit_mail_100_month,
            barrings: Barrings {
                outgoing: r.bar_outgoing != 0,
                international: r.bar_international != 0,
                international_except_home: r.bar_international_except_home != 0,
                premium: r.bar_premium != 0,
                incoming: r.bar_incoming != 0,
            },
            lost_phone_at: r.lost_phone_at,
        }
    }
}

/// The columns of [`ControlsRow`].
macro_rules! control_columns {
    () => {
        "spending_limit_micros, limit_mail, limit_mail_80_month, limit_mail_100_month,
         bar_outgoing, bar_international, bar_international_except_home, bar_premium,
         bar_incoming, lost_phone_at"
    };
}

const CONTROLS: &str = concat!(
    "SELECT ",
    control_columns!(),
    " FROM user_controls WHERE user_id = $1"
);

/// A row of `user_controls` with its user.
#[derive(FromRow)]
struct UserControlsOf {
    user_id: i64,
    #[sqlx(flatten)]
    controls: ControlsRow,
}

/// One service of the calling plan as a subscriber sees it.
#[derive(Clone, Debug, FromRow)]
pub struct PlanRow {
    pub group_id: i64,
    pub country: String,
    pub iso: String,
    pub country_risk: i64,
    /// The country's calling code as stored ('' when unknown).
    pub calling_code: String,
    /// The lowest and highest of the group's prefixes (their common start is the country code
    /// when none is stored).
    pub min_prefix: String,
    pub max_prefix: String,
    pub service_id: i64,
    pub dir_code: String,
    pub service_type: String,
    pub risk: i64,
    /// The subscriber's choice; `None`: never changed (the default applies).
    pub chosen: Option<i64>,
}

impl PlanRow {
    /// The calling code: as stored, or what all the country's prefixes start with.
    pub fn country_code(&self) -> String {
        if !self.calling_code.is_empty() {
            return self.calling_code.clone();
        }
        self.min_prefix
            .chars()
            .zip(self.max_prefix.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    }

    /// On when the subscriber switched it on, or by default a standard service below high risk.
    pub fn enabled(&self) -> bool {
        match self.chosen {
            Some(c) => c != 0,
            None => default_enabled(&self.service_type, self.risk.max(self.country_risk)),
        }
    }
}

/// A service the subscriber never changed: on for standard services below high risk.
pub fn default_enabled(service_type: &str, risk: i64) -> bool {
    service_type == "standard" && risk < HIGH_RISK
}

impl Store {
    /// The subscriber a device account (user name) belongs to, and whether they are blocked.
    pub async fn device_owner(&self, account: &str) -> sqlx::Result<Option<(i64, bool)>> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT u.id, u.blocked FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.username = $1 ORDER BY d.id LIMIT 1",
        )
        .bind(account)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(id, blocked)| (id, blocked != 0)))
    }

    pub async fn control_settings(&self) -> sqlx::Result<ControlSettings> {
        let mut c = self.pool().acquire().await?;
        control_settings(&mut c).await
    }

    pub async fn user_controls(&self, user_id: i64) -> sqlx::Result<UserControls> {
        let mut c = self.pool().acquire().await?;
        user_controls(&mut c, user_id).await
    }

    /// Saves a subscriber's controls with their activity-log lines, in one transaction.
    pub async fn save_user_controls(
        &self,
        user_id: i64,
        controls: &UserControls,
        log: &[(&str, String)],
        address: &str,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        save_user_controls(&mut tx, user_id, controls).await?;
        for (action, detail) in log {
            super::audit::record(&mut tx, Some(user_id), action, detail, address).await?;
        }
        tx.commit().await
    }

    /// The highest monthly limit a subscriber in `currency` may set.
    pub async fn spending_limit_ceiling(&self, currency: &str) -> sqlx::Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT max_micros FROM spending_limit_ceilings WHERE currency = $1")
                .bind(currency)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(m,)| m))
    }

    /// The subscriber's calling plan: every service of every country, countries by name.
    pub async fn calling_plan(&self, user_id: i64) -> sqlx::Result<Vec<PlanRow>> {
        sqlx::query_as(
            "SELECT g.id AS group_id, g.name AS country, g.flag AS iso, g.risk AS country_risk,
                    g.country_code AS calling_code,
                    (SELECT MIN(prefix) FROM destinations WHERE group_id = g.id) AS min_prefix,
                    (SELECT MAX(prefix) FROM destinations WHERE group_id = g.id) AS max_prefix,
                    s.id AS service_id, s.dir_code, s.service_type, s.risk, u.enabled AS chosen
             FROM plan_services s
             JOIN destination_groups g ON g.id = s.group_id
             LEFT JOIN user_plan_services u ON u.service_id = s.id AND u.user_id = $1
             ORDER BY g.name, s.service_type DESC, s.dir_code",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// Sets the subscriber's choices (service id, enabled) with their log lines, at once.
    pub async fn set_plan_services(
        &self,
        user_id: i64,
        choices: &[(i64, bool)],
        log: &[String],
        address: &str,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        for (service, enabled) in choices {
            sqlx::query(
                "INSERT INTO user_plan_services (user_id, service_id, enabled) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, service_id) DO UPDATE SET enabled = excluded.enabled",
            )
            .bind(user_id)
            .bind(*service)
            .bind(*enabled as i64)
            .execute(&mut *tx)
            .await?;
        }
        for detail in log {
            super::audit::record(&mut tx, Some(user_id), "plan_changed", detail, address).await?;
        }
        tx.commit().await
    }

    /// The operator's own country (ISO alpha-2, upper case).
    pub async fn set_national_country(&self, iso: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE control_settings SET national_country = $1 WHERE id = 1")
            .bind(iso)
            .execute(self.pool())
            .await
            .map(|_| ())
    }

    pub async fn set_risk_ceiling(&self, risk: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE control_settings SET risk_ceiling = $1 WHERE id = 1")
            .bind(risk)
            .execute(self.pool())
            .await
            .map(|_| ())
    }

    /// `None` removes the ceiling of `currency`.
    pub async fn set_spending_limit_ceiling(
        &self,
        currency: &str,
        max_micros: Option<i64>,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM spending_limit_ceilings WHERE currency = $1")
            .bind(currency)
            .execute(&mut *tx)
            .await?;
        if let Some(max) = max_micros {
            sqlx::query(
                "INSERT INTO spending_limit_ceilings (currency, max_micros) VALUES ($1, $2)",
            )
            .bind(currency)
            .bind(max)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Sets the risk of the countries whose flag is `iso`; how many there were.
    pub async fn set_country_risk(&self, iso: &str, risk: i64) -> sqlx::Result<u64> {
        Ok(
            sqlx::query("UPDATE destination_groups SET risk = $1 WHERE LOWER(flag) = LOWER($2)")
                .bind(risk)
                .bind(iso)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }

    /// Sets the type and risk of the service `dir_code` of the countries whose flag is `iso`;
    /// how many there were.
    pub async fn set_plan_service(
        &self,
        iso: &str,
        dir_code: &str,
        service_type: &str,
        risk: i64,
    ) -> sqlx::Result<u64> {
        Ok(sqlx::query(
            "UPDATE plan_services SET service_type = $1, risk = $2
             WHERE dir_code = $3
               AND group_id IN (SELECT id FROM destination_groups WHERE LOWER(flag) = LOWER($4))",
        )
        .bind(service_type)
        .bind(risk)
        .bind(dir_code)
        .bind(iso)
        .execute(self.pool())
        .await?
        .rows_affected())
    }
}

pub const SETTINGS: &str =
    "SELECT national_country, risk_ceiling FROM control_settings WHERE id = 1";

pub async fn control_settings(c: &mut AnyConnection) -> sqlx::Result<ControlSettings> {
    sqlx::query_as(SETTINGS).fetch_one(c).await
}

/// The subscribers who asked for the spending limit's mail (and have a limit).
pub async fn limit_mail_users(c: &mut AnyConnection) -> sqlx::Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT user_id FROM user_controls
         WHERE limit_mail = 1 AND spending_limit_micros IS NOT NULL",
    )
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

pub async fn user_controls(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<UserControls> {
    let row: Option<ControlsRow> = sqlx::query_as(CONTROLS)
        .bind(user_id)
        .fetch_optional(c)
        .await?;
    Ok(row.map(UserControls::from).unwrap_or_default())
}

pub async fn save_user_controls(
    c: &mut AnyConnection,
    user_id: i64,
    u: &UserControls,
) -> sqlx::Result<()> {
    let b = &u.barrings;
    sqlx::query(
        "INSERT INTO user_controls (user_id, spending_limit_micros, limit_mail, limit_mail_80_month,
            limit_mail_100_month, bar_outgoing, bar_international, bar_international_except_home,
            bar_premium, bar_incoming, lost_phone_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (user_id) DO UPDATE SET spending_limit_micros = excluded.spending_limit_micros,
            limit_mail = excluded.limit_mail, limit_mail_80_month = excluded.limit_mail_80_month,
            limit_mail_100_month = excluded.limit_mail_100_month, bar_outgoing = excluded.bar_outgoing,
            bar_international = excluded.bar_international,
            bar_international_except_home = excluded.bar_international_except_home,
            bar_premium = excluded.bar_premium, bar_incoming = excluded.bar_incoming,
            lost_phone_at = excluded.lost_phone_at",
    )
    .bind(user_id)
    .bind(u.spending_limit_micros)
    .bind(u.limit_mail as i64)
    .bind(&u.limit_mail_80_month)
    .bind(&u.limit_mail_100_month)
    .bind(b.outgoing as i64)
    .bind(b.international as i64)
    .bind(b.international_except_home as i64)
    .bind(b.premium as i64)
    .bind(b.incoming as i64)
    .bind(u.lost_phone_at)
    .execute(c)
    .await
    .map(|_| ())
}

/// Gives every (country, type of number) of the destinations its service in the calling plan
/// (standard, low risk) when it has none yet: after a rate deck or the demo data adds some.
pub async fn sync_plan_services(c: &mut AnyConnection) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "INSERT INTO plan_services (group_id, dir_code)
         SELECT DISTINCT d.group_id, d.dir_code FROM destinations d
         WHERE NOT EXISTS (SELECT 1 FROM plan_services s
                           WHERE s.group_id = d.group_id AND s.dir_code = d.dir_code)",
    )
    .execute(c)
    .await?
    .rows_affected())
}

/// `$1` the user, `$2` the first whole hour, `$3`…`$4` the part of an hour before it.
const SPEND_SINCE: &str = "SELECT CAST(
    COALESCE((SELECT SUM(price_micros) FROM call_hours WHERE user_id = $1 AND hour >= $2), 0)
  + COALESCE((SELECT SUM(price_micros) FROM calls WHERE user_id = $1
                AND started_at >= $3 AND started_at < $4), 0) AS BIGINT)";

/// What the spend this month is: the priced calls from `since` (UTC seconds), read from the
/// hourly roll-up for whole hours and from the calls for the part of an hour at the start.
pub async fn spend_since(c: &mut AnyConnection, user_id: i64, since: i64) -> sqlx::Result<i64> {
    let first_whole_hour = (since + 3599) / 3600;
    let (spend,): (i64,) = sqlx::query_as(SPEND_SINCE)
        .bind(user_id)
        .bind(first_whole_hour)
        .bind(since)
        .bind(first_whole_hour * 3600)
        .fetch_one(c)
        .await?;
    Ok(spend)
}

/// What [`crate::controls::screen::Screen`] is built from.
pub struct ScreenData {
    pub national_country: String,
    pub risk_ceiling: i64,
    /// (destination id, group id, dir code)
    pub dests: Vec<(i64, i64, String)>,
    /// (group id, flag, name, risk)
    pub groups: Vec<(i64, String, String, i64)>,
    /// (service id, group id, dir code, type, risk)
    pub services: Vec<(i64, i64, String, String, i64)>,
    /// (user id, blocked, reg_country)
    pub users: Vec<(i64, i64, String)>,
    pub controls: Vec<(i64, UserControls)>,
    /// (user id, service id, enabled)
    pub choices: Vec<(i64, i64, i64)>,
}

impl Store {
    pub async fn screen_data(&self) -> sqlx::Result<ScreenData> {
        let mut c = self.pool().acquire().await?;
        let settings = control_settings(&mut c).await?;
        let controls: Vec<(i64, UserControls)> = sqlx::query_as::<_, UserControlsOf>(concat!(
            "SELECT user_id, ",
            control_columns!(),
            " FROM user_controls"
        ))
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r.controls.into()))
        .collect();
        Ok(ScreenData {
            national_country: settings.national_country,
            risk_ceiling: settings.risk_ceiling,
            dests: sqlx::query_as("SELECT id, group_id, dir_code FROM destinations")
                .fetch_all(&mut *c)
                .await?,
            groups: sqlx::query_as("SELECT id, flag, name, risk FROM destination_groups")
                .fetch_all(&mut *c)
                .await?,
            services: sqlx::query_as(
                "SELECT id, group_id, dir_code, service_type, risk FROM plan_services",
            )
            .fetch_all(&mut *c)
            .await?,
            users: sqlx::query_as("SELECT id, blocked, reg_country FROM users")
                .fetch_all(&mut *c)
                .await?,
            controls,
            choices: sqlx::query_as("SELECT user_id, service_id, enabled FROM user_plan_services")
                .fetch_all(&mut *c)
                .await?,
        })
    }
}
