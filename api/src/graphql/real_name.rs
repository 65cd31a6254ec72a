//! `setRealName`: the signed-in volunteer records their legal name and resident ID number.

use async_graphql::{Context, Object};
use feihong_domain::policy;

use super::context::ContextExt as _;
use super::error::GqlResult;
use super::volunteer::Volunteer;

#[derive(Default)]
pub struct RealNameMutation;

#[Object]
impl RealNameMutation {
    /// Records (or replaces) the caller's real name and 18-character resident ID number. The
    /// number must be well formed (GB 11643 check character, a real birth date, a known area
    /// code) and not recorded for another account (`CONFLICT`, without saying whose). Both are
    /// stored encrypted; the number is only ever shown masked (`4406**********123X`).
    /// `realNameVerified` then says the number is well formed and unique: it does not prove
    /// that it is the caller's own.
    async fn set_real_name(
        &self,
        ctx: &Context<'_>,
        name: String,
        id_number: String,
    ) -> GqlResult<Volunteer> {
        let actor = ctx.request().actor().await?;
        ctx.services()
            .real_names
            .set(actor, &name, &id_number)
            .await?;
        let volunteer = ctx
            .request()
            .find(|l| &l.volunteers, actor.volunteer)
            .await?
            .ok_or(feihong_domain::Error::NotFound("volunteer"))?;
        Ok(Volunteer::own(volunteer))
    }
}

/// `Volunteer.realName` and `Volunteer.idNumberMasked`: for the volunteer themself only.
pub(super) async fn own_real_name(
    ctx: &Context<'_>,
    volunteer: &Volunteer,
) -> GqlResult<Option<feihong_domain::real_names::RealNameRecord>> {
    if !policy::sees_real_name(volunteer.relation_to_viewer(ctx).await?) {
        return Ok(None);
    }
    Ok(ctx
        .services()
        .real_names
        .own(volunteer.volunteer_id())
        .await?)
}

/// `Volunteer.realNameVerified`: for the volunteer and those who supervise them; null otherwise.
pub(super) async fn real_name_verified(
    ctx: &Context<'_>,
    volunteer: &Volunteer,
) -> GqlResult<Option<bool>> {
    if !policy::sees_real_name_verified(volunteer.relation_to_viewer(ctx).await?) {
        return Ok(None);
    }
    let id = volunteer.volunteer_id();
    let verified = ctx.request().find(|l| &l.real_name_verified, id).await?;
    Ok(Some(verified.unwrap_or(false)))
}
