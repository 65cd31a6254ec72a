//! Accounts and sessions: `register`, `login`, `refreshSession`, `logout`, `me`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use feihong_domain::accounts::{ProfileChange, RegisterInput as DomainRegisterInput, Session};
use feihong_domain::ids::AreaId;

use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::GlobalId as _;
use super::volunteer::Volunteer;

/// A new account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Mainland mobile number, 11 digits, optionally with +86. It is the login.
    pub phone: String,
    /// 8–128 characters, no control characters, not the phone number; the most common
    /// passwords are refused.
    pub password: String,
    /// 1–40 characters, shown to teammates; something visible, no bidirectional controls.
    pub display_name: String,
    /// The volunteer's home area (a town/street or district).
    pub area_id: ID,
    /// The privacy policy version (`privacyPolicy.version`) the person accepted on the sign-up
    /// screen; only the version in force is accepted (`BAD_USER_INPUT` otherwise).
    pub accepted_policy_version: Option<String>,
}

/// A signed-in session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Sent as `Authorization: Bearer …`; valid until `accessTokenExpiresAt` (at most 15 min).
    pub access_token: String,
    /// Opaque; exchanged once with `refreshSession` for a new pair. Keep it secret.
    pub refresh_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub volunteer: Volunteer,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        Self {
            access_token: session.access.token,
            refresh_token: session.refresh_token,
            access_token_expires_at: session.access.expires_at,
            volunteer: Volunteer::own(session.volunteer),
        }
    }
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in volunteer; null when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<Option<Volunteer>> {
        let Some(actor) = ctx.request().viewer().await?.actor() else {
            return Ok(None);
        };
        let volunteer = ctx
            .request()
            .find(|l| &l.volunteers, actor.volunteer)
            .await?;
        Ok(volunteer.map(Volunteer::own))
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and signs it in. Registrations from one client address are limited:
    /// over the limit, `RATE_LIMITED` with `extensions.retryAfter` (seconds).
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> GqlResult<AuthPayload> {
        let area_id = AreaId::parse(&input.area_id, "input.areaId")?;
        let client_address = ctx.request().client_address.clone();
        let accepted_policy = input
            .accepted_policy_version
            .as_deref()
            .map(|version| {
                ctx.services()
                    .privacy
                    .check_version(version, "acceptedPolicyVersion")
            })
            .transpose()
            .map_err(|e| e.in_argument("input"))?;
        let session = ctx
            .services()
            .accounts
            .register(DomainRegisterInput {
                phone: input.phone,
                password: input.password,
                display_name: input.display_name,
                area_id,
                accepted_policy,
                client_address,
            })
            .await
            .map_err(|e| e.in_argument("input"))?;
        Ok(session.into())
    }

    /// Signs in. Attempts are limited per phone and address, per address, and per phone (with
    /// growing delays): over a limit, `RATE_LIMITED` with `extensions.retryAfter` (seconds).
    async fn login(
        &self,
        ctx: &Context<'_>,
        phone: String,
        password: String,
    ) -> GqlResult<AuthPayload> {
        let request = ctx.request();
        let session = ctx
            .services()
            .accounts
            .login(&phone, &password, &request.client_address)
            .await?;
        Ok(session.into())
    }

    /// Exchanges a refresh token for a new pair. Each refresh token works once: presenting a
    /// spent one signs out every session of that login.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> GqlResult<AuthPayload> {
        Ok(ctx
            .services()
            .accounts
            .refresh(&refresh_token)
            .await?
            .into())
    }

    /// Changes the caller's own profile. With `showOnLeaderboards: false` the caller appears
    /// anonymised on public leaderboards (and still sees their own rank). `areaId` moves the
    /// caller's home area (an existing area); minutes already counted stay where they were.
    async fn update_my_profile(
        &self,
        ctx: &Context<'_>,
        display_name: Option<String>,
        show_on_leaderboards: Option<bool>,
        area_id: Option<ID>,
    ) -> GqlResult<Volunteer> {
        let actor = ctx.request().actor().await?;
        let area_id = AreaId::parse_optional(area_id.as_ref(), "areaId")?;
        let change = ProfileChange {
            display_name,
            show_on_leaderboards,
            area_id,
        };
        Ok(Volunteer::own(
            ctx.services()
                .accounts
                .update_profile(actor, change)
                .await?,
        ))
    }

    /// Ends the login this refresh token belongs to. False when the token was never issued.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> GqlResult<bool> {
        Ok(ctx.services().accounts.logout(&refresh_token).await?)
    }
}
