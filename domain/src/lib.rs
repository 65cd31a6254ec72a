//! Feihong's domain: rules, services and persistence. No HTTP or GraphQL types live here; the API
//! crate calls these services and maps their errors.

pub mod account_cache;
pub mod accounts;
pub mod actor;
pub mod areas;
pub mod attendance;
pub mod attendance_sheet;
pub mod audit;
pub mod audit_log;
pub mod backlog;
pub mod budget;
pub mod bus;
pub mod certificates;
pub mod counters;
pub mod dates;
pub mod db;
pub mod deps;
pub mod devices;
pub mod duty;
mod entity;
pub mod error;
pub mod events;
pub mod geo;
mod grams;
pub mod hashing;
pub mod idempotency;
pub mod ids;
pub mod incidents;
pub mod kinds;
pub mod leaderboards;
pub mod notifications;
pub mod page;
pub mod policy;
pub mod privacy;
pub mod push;
pub mod real_names;
pub mod redis_store;
pub mod reminders;
mod request_writes;
mod seats;
pub mod service_records;
pub mod signups;
pub mod sms;
pub mod stats;
pub mod store;
pub mod tallies;
pub mod team_messages;
pub mod teams;
pub mod text;
pub mod throttle;
pub mod tokens;
pub mod values;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

pub use error::{Error, Result};

use accounts::{AccountLimits, Accounts};
use areas::AreaTree;
use attendance::AttendanceService;
use audit_log::AuditLog;
use bus::Bus;
use deps::Deps;
use events::Events;
use hashing::PasswordHasher;
use leaderboards::{Leaderboards, RankStore};
use redis_store::RedisStore;
use service_records::ServiceRecords;
use signups::SignUps;
use stats::Stats;
use store::Store;
use tallies::Tallies;
use teams::Teams;
use throttle::{Limit, LoginLimits, LoginThrottle, RateLimiter};
use tokens::AccessTokens;

/// Settings the services need; the API crate builds it from its configuration.
#[derive(Clone)]
pub struct ServiceSettings {
    pub token_secret: Vec<u8>,
    /// Seals real names and ID numbers (32 bytes; `real_names::cipher`).
    pub data_key: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub login_limits: LoginLimits,
    /// Registrations per client address.
    pub registrations_per_address: Limit,
    /// How many password hashes may run at once (the rest queue).
    pub hashing_concurrency: usize,
    /// The city's time zone: local dates and periods are cut in it.
    pub timezone: chrono_tz::Tz,
    /// Query complexity a caller may spend per minute.
    pub cost_budgets: budget::Budgets,
    /// How long before a CONFIRMED sign-up's start its reminders come.
    pub reminders_before: Vec<Duration>,
    /// How many SMS codes may be asked for.
    pub sms_limits: sms::SmsLimits,
    /// Delivers SMS codes (through the outbox).
    pub sms_sender: Arc<dyn sms::SmsSender>,
    /// The privacy policy in force and how long positions are kept.
    pub privacy: privacy::PrivacySettings,
    pub response: incidents::ResponseSettings,
}

/// Every service, wired to one database and (optionally) one Redis.
pub struct Services {
    pub db: DatabaseConnection,
    pub redis: Option<Arc<RedisStore>>,
    /// Committed changes, for subscriptions; run `bus.run()` to hear other nodes' changes.
    pub bus: Arc<Bus>,
    pub areas: Arc<AreaTree>,
    pub timezone: chrono_tz::Tz,
    pub accounts: Accounts,
    /// What each caller may spend on queries per minute.
    pub budget: budget::CostBudget,
    pub teams: Arc<Teams>,
    /// `messageTeam`: leaders and deputies telling their whole team something.
    pub team_messages: team_messages::TeamMessages,
    pub events: Arc<Events>,
    pub sign_ups: SignUps,
    pub attendance: AttendanceService,
    /// Attendance sheets of events, for export.
    pub attendance_sheets: attendance_sheet::AttendanceSheets,
    pub service_records: ServiceRecords,
    pub audit: AuditLog,
    pub tallies: Tallies,
    pub certificates: certificates::Certificates,
    /// `setRealName`: real names and resident ID numbers, sealed.
    pub real_names: real_names::RealNames,
    pub leaderboards: Arc<Leaderboards>,
    pub stats: Stats,
    /// Push devices (`registerDevice`, `unregisterDevice`).
    pub devices: devices::Devices,
    /// Reminders before a CONFIRMED sign-up's start, created by the upkeep.
    pub reminders: reminders::Reminders,
    /// Sends queued SMS codes; run `sms_outbox.run()`.
    pub sms_outbox: Arc<sms::SmsOutbox>,
    /// Consent, export, erasure and retention (`docs/privacy.md`).
    pub privacy: privacy::Privacy,
    pub duty: Arc<duty::Duty>,
    pub incidents: Arc<incidents::Incidents>,
}

impl Services {
    /// Wires the services over a migrated database.
    pub async fn new(
        db: DatabaseConnection,
        redis: Option<Arc<RedisStore>>,
        settings: ServiceSettings,
    ) -> Result<Self> {
        let areas = Arc::new(AreaTree::load(&db).await?);
        let bus = Arc::new(Bus::new(redis.clone()));
        let store = Arc::new(Store::new(db.clone(), bus.clone()));
        let (accounts, sms_outbox) =
            Self::accounts(&db, &redis, &settings, store.clone(), areas.clone()).await?;
        bus.listen(accounts.account_listener());
        let cipher = Arc::new(real_names::DataCipher::new(&settings.data_key)?);
        let budget = budget::CostBudget::new(redis.clone(), settings.cost_budgets);
        let privacy = privacy::Privacy::new(store.clone(), redis.clone(), settings.privacy.clone());
        let deps = Deps {
            store,
            areas: areas.clone(),
            timezone: settings.timezone,
            tally_changed: Arc::new(tokio::sync::Notify::new()),
        };
        let teams = Arc::new(Teams::new(deps.clone()));
        bus.listen(teams.roles_listener());
        let events = Arc::new(Events::new(deps.clone(), teams.clone()));
        bus.listen(events.feed_listener());
        let positions = Arc::new(duty::positions::Positions::new(redis.clone()));
        let duty = Arc::new(duty::Duty::new(deps.clone(), positions));
        let incidents = Arc::new(incidents::Incidents::new(
            deps.clone(),
            teams.clone(),
            duty.clone(),
            settings.response.clone(),
            redis.clone(),
        ));
        Ok(Self {
            duty: duty.clone(),
            incidents,
            sign_ups: SignUps::new(deps.clone(), teams.clone(), events.clone()),
            attendance: AttendanceService::new(
                deps.clone(),
                teams.clone(),
                events.clone(),
                duty.clone(),
            ),
            attendance_sheets: attendance_sheet::AttendanceSheets::new(deps.clone(), teams.clone()),
            service_records: ServiceRecords::new(deps.clone(), teams.clone()),
            audit: AuditLog::new(deps.clone(), teams.clone()),
            team_messages: team_messages::TeamMessages::new(
                deps.clone(),
                teams.clone(),
                redis.clone(),
            ),
            tallies: Tallies { deps: deps.clone() },
            stats: Stats::new(deps.clone()),
            certificates: certificates::Certificates::new(deps.clone(), cipher.clone()),
            real_names: real_names::RealNames::new(deps.clone(), cipher),
            devices: devices::Devices::new(deps.clone()),
            reminders: reminders::Reminders::new(deps.clone(), settings.reminders_before.clone()),
            leaderboards: Arc::new(Leaderboards::new(
                deps,
                match &redis {
                    Some(redis) => RankStore::Redis {
                        redis: redis.clone(),
                    },
                    None => RankStore::memory(),
                },
            )),
            teams,
            events,
            db,
            redis,
            bus,
            areas,
            timezone: settings.timezone,
            accounts,
            budget,
            sms_outbox,
            privacy,
        })
    }
    /// Accounts with their hasher, tokens and limits, and the SMS outbox its codes go through.
    async fn accounts(
        db: &DatabaseConnection,
        redis: &Option<Arc<RedisStore>>,
        settings: &ServiceSettings,
        store: Arc<Store>,
        areas: Arc<AreaTree>,
    ) -> Result<(Accounts, Arc<sms::SmsOutbox>)> {
        let concurrency = settings.hashing_concurrency;
        let hasher = tokio::task::spawn_blocking(move || PasswordHasher::new(concurrency))
            .await
            .map_err(Error::internal)??;
        let tokens = AccessTokens::new(&settings.token_secret, settings.access_token_ttl)?;
        let sms_written = Arc::new(tokio::sync::Notify::new());
        let limits = AccountLimits {
            logins: LoginThrottle::new(redis.clone(), settings.login_limits),
            registrations: RateLimiter::new(
                "register",
                settings.registrations_per_address,
                redis.clone(),
            ),
            sms: sms::SmsCodes::new(
                sms::CodeKey::derive(&settings.token_secret),
                settings.sms_limits,
                redis.clone(),
                sms_written.clone(),
            ),
        };
        let sms_outbox = Arc::new(sms::SmsOutbox::new(
            db.clone(),
            settings.sms_sender.clone(),
            sms_written,
        ));
        let accounts = Accounts::new(
            store,
            areas,
            hasher,
            tokens,
            limits,
            settings.refresh_token_ttl,
            settings.timezone,
        )?;
        Ok((accounts, sms_outbox))
    }
}
