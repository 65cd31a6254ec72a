//! Keeping an account: `changePassword` (and, with SMS codes, signing in and resetting a
//! forgotten password).

use async_graphql::{Context, Object};
use feihong_domain::accounts::PasswordChange;

use super::context::ContextExt as _;
use super::error::GqlResult;

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
}
