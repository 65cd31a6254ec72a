//! Rights over one's own data (`docs/privacy.md`): the privacy policy in force and consent to it.

use async_graphql::{Context, Object, SimpleObject};

use super::context::ContextExt as _;
use super::error::GqlResult;
use super::volunteer::Volunteer;

/// The privacy policy in force.
#[derive(SimpleObject)]
pub struct PrivacyPolicy {
    /// Changes when the policy changes: compare with `me.acceptedPolicyVersion`.
    pub version: String,
    pub url: String,
}

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// The privacy policy in force; anyone may read it (the sign-up screen shows it).
    async fn privacy_policy(&self, ctx: &Context<'_>) -> PrivacyPolicy {
        let policy = ctx.services().privacy.policy();
        PrivacyPolicy {
            version: policy.version,
            url: policy.url,
        }
    }

    /// Everything held about the caller, as one JSON document of per-table sections
    /// (`docs/privacy.md`); also `GET /me/export.json`. A few exports per hour per volunteer:
    /// over that, `RATE_LIMITED` with `extensions.retryAfter` (seconds).
    async fn export_my_data(&self, ctx: &Context<'_>) -> GqlResult<String> {
        let actor = ctx.request().actor().await?;
        Ok(ctx.services().privacy.export(actor).await?)
    }
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Records that the caller accepted this version of the privacy policy, now. Only the
    /// version in force (`privacyPolicy.version`) is accepted: any other is `BAD_USER_INPUT`.
    async fn accept_privacy_policy(
        &self,
        ctx: &Context<'_>,
        version: String,
    ) -> GqlResult<Volunteer> {
        let actor = ctx.request().actor().await?;
        let volunteer = ctx.services().privacy.accept(actor, &version).await?;
        Ok(Volunteer::own(volunteer))
    }

    /// Erases the caller's account (`docs/privacy.md`): phone, names, positions and sessions
    /// are wiped, upcoming sign-ups cancelled (waitlists promoted), memberships ended, and the
    /// person leaves every leaderboard; approved minutes stay in team totals and statistics
    /// without naming anyone, and certificates already issued still verify, their holder shown
    /// as 已注销. The phone may register again as a new person. A team's only leader is refused
    /// (`CONFLICT`) until they appoint another. The password is checked and throttled like a
    /// sign-in: a wrong one is `BAD_USER_INPUT` on `password`. True once erased; the access token
    /// stops working at once.
    async fn delete_my_account(&self, ctx: &Context<'_>, password: String) -> GqlResult<bool> {
        let request = ctx.request();
        let actor = request.actor().await?;
        let services = ctx.services();
        services
            .accounts
            .confirm_password(actor, &password, &request.client_address)
            .await?;
        services.sign_ups.erase_account(actor).await?;
        Ok(true)
    }
}
