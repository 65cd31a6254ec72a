//! Keeping an account: `changePassword` (and, with SMS codes, signing in and resetting a
//! forgotten password).

use async_graphql::{Context, Enum, Object};
use feihong_domain::accounts::PasswordChange;

use super::accounts::AuthPayload;
use super::context::ContextExt as _;
use super::error::GqlResult;

/// What an SMS code is for; a code works only for its purpose.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "feihong_domain::sms::SmsPurpose")]
pub enum SmsPurpose {
    /// `loginWithSmsCode`.
    Login,
    /// `resetPassword`.
    ResetPassword,
}

#[derive(Default)]
pub struct AccountSecurityMutation;

#[Object]
impl AccountSecurityMutation {
    /// Changes the caller's password (the same rules as at registration). A wrong
    /// `currentPassword` is refused and counts as a failed sign-in (the same limits as `login`:
    /// over them, `RATE_LIMITED`). Every other login of the account is ended (its refresh tokens
    /// stop working; access tokens already issued lapse within 15 minutes); this one stays.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> GqlResult<bool> {
        let request = ctx.request();
        let actor = request.actor().await?;
        let accounts = &ctx.services().accounts;
        let keep_session = request
            .bearer_token()
            .and_then(|token| accounts.session_of(token));
        accounts
            .change_password(
                actor,
                PasswordChange {
                    current_password: &current_password,
                    new_password: &new_password,
                    keep_session,
                    client_address: &request.client_address,
                },
            )
            .await?;
        Ok(true)
    }

    /// Sends a six-digit code to `phone` by SMS, valid 5 minutes. Answers `true` whether or not
    /// the phone has an account (and takes the same time): only a registered phone receives a
    /// message. At most one code per phone per minute, and a daily number per phone and per
    /// client address: over a limit, `RATE_LIMITED` with `extensions.retryAfter` (seconds). A new
    /// code replaces the phone's earlier one for the purpose.
    async fn request_sms_code(
        &self,
        ctx: &Context<'_>,
        phone: String,
        purpose: SmsPurpose,
    ) -> GqlResult<bool> {
        let request = ctx.request();
        ctx.services()
            .accounts
            .request_sms_code(&phone, purpose.into(), &request.client_address)
            .await?;
        Ok(true)
    }

    /// Signs in with a LOGIN code; answers like `login`. A code works once and dies after 5
    /// wrong tries; a wrong, expired or dead code is refused on `code`. Attempts also count
    /// against the sign-in limits of `login`.
    async fn login_with_sms_code(
        &self,
        ctx: &Context<'_>,
        phone: String,
        code: String,
    ) -> GqlResult<AuthPayload> {
        let request = ctx.request();
        let session = ctx
            .services()
            .accounts
            .login_with_sms_code(&phone, &code, &request.client_address)
            .await?;
        Ok(session.into())
    }

    /// Sets a new password (the registration rules) with a RESET_PASSWORD code, and ends every
    /// login of the account: sign in again with the new password.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        phone: String,
        code: String,
        new_password: String,
    ) -> GqlResult<bool> {
        let request = ctx.request();
        ctx.services()
            .accounts
            .reset_password(&phone, &code, &new_password, &request.client_address)
            .await?;
        Ok(true)
    }
}
