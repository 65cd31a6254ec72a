//! Service-hour certificates: issued to the signed-in volunteer, verified by anyone with a code.

use async_graphql::{Context, Enum, Object};
use chrono::{DateTime, Utc};
use feihong_domain::Error as DomainError;
use feihong_domain::certificates;
use feihong_domain::ids::TeamId;

use super::context::ContextExt as _;
use super::error::GqlResult;
use super::limits::cost;
use super::scalars::Date;
use super::team::Team;

/// Minutes as GraphQL `Int`: a lifetime of service is far below `i32::MAX` minutes, so the
/// clamp only guards against a corrupted row.
fn minutes(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Where the printable page of a certificate is served (by `GET`, on this server).
pub fn page_path(code: &str) -> String {
    format!("/certificates/{code}")
}

/// Where a certificate stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "certificates::CertificateStatus")]
pub enum CertificateStatus {
    /// The holder's latest certificate; every hour it counts is still approved.
    Current,
    /// The holder was issued a newer one; every hour this one counts is still approved, so it
    /// still verifies (`valid: true`) as of its own issue time.
    Superseded,
    /// Hours it counted were rejected or reduced after it was issued: it no longer verifies.
    Revoked,
}

/// A numbered record of a volunteer's approved hours at the moment it was issued. Its figures
/// never change: new hours give a new certificate (the older one is then SUPERSEDED and keeps
/// verifying as issued), and withdrawn hours revoke every certificate that counted them.
pub struct Certificate(pub certificates::Certificate);

#[Object]
impl Certificate {
    /// The certificate's number: `FH-` and 17 characters. Anyone may check it with
    /// `verifyCertificate`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// The holder's display name when the certificate was issued.
    async fn holder_name(&self) -> &str {
        &self.0.holder_name
    }

    /// Approved minutes in all teams.
    async fn total_minutes(&self) -> i32 {
        minutes(self.0.total_minutes)
    }

    /// Approved minutes per team, most first.
    #[graphql(complexity = "cost::list(5, child_complexity)")]
    async fn by_team(&self) -> Vec<CertificateTeamLine> {
        self.0
            .by_team
            .iter()
            .map(|line| CertificateTeamLine {
                team: line.team_id,
                minutes: line.minutes,
            })
            .collect()
    }

    /// The first day of approved service; null without any.
    async fn first_service_date(&self) -> Option<Date> {
        self.0.first_service_date.map(Date)
    }

    /// The last day of approved service; null without any.
    async fn last_service_date(&self) -> Option<Date> {
        self.0.last_service_date.map(Date)
    }

    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }

    async fn issuing_organisation(&self) -> &str {
        self.0.issuing_organisation
    }

    /// CURRENT, SUPERSEDED (a newer one exists) or REVOKED (hours it counted were withdrawn).
    async fn status(&self) -> CertificateStatus {
        self.0.status.into()
    }

    /// When it was revoked; null unless REVOKED.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// The printable page (Chinese and English), relative to this server: `/certificates/{code}`.
    async fn url(&self) -> String {
        page_path(&self.0.code)
    }
}

/// One team's approved minutes on a certificate.
pub struct CertificateTeamLine {
    team: TeamId,
    minutes: i64,
}

#[Object]
impl CertificateTeamLine {
    async fn team(&self, ctx: &Context<'_>) -> GqlResult<Team> {
        Ok(ctx
            .request()
            .find(|l| &l.teams, self.team)
            .await?
            .map(Team)
            .ok_or(DomainError::NotFound("team"))?)
    }

    async fn minutes(&self) -> i32 {
        minutes(self.minutes)
    }
}

/// The answer to "is this certificate genuine, and do its hours still stand?". Says nothing about
/// the holder beyond a masked name; every other field is null when no certificate has the code.
pub struct CertificateVerification(certificates::Verification);

#[Object]
impl CertificateVerification {
    /// Whether a certificate with this code was issued and is not revoked (a SUPERSEDED one is
    /// still valid: its hours stand as of its issue).
    async fn valid(&self) -> bool {
        self.0.certificate.as_ref().is_some_and(|c| c.valid())
    }

    /// CURRENT, SUPERSEDED or REVOKED; null when no certificate has this code.
    async fn status(&self) -> Option<CertificateStatus> {
        self.0.certificate.as_ref().map(|c| c.status.into())
    }

    /// When the certificate was revoked (hours it counted were withdrawn); null otherwise.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.certificate.as_ref().and_then(|c| c.revoked_at)
    }

    /// The holder's name with all but its first character hidden: `黄**`.
    async fn holder_masked_name(&self) -> Option<&str> {
        self.0
            .certificate
            .as_ref()
            .map(|c| c.holder_masked_name.as_str())
    }

    /// Approved minutes as of the certificate's issue.
    async fn total_minutes(&self) -> Option<i32> {
        self.0
            .certificate
            .as_ref()
            .map(|c| minutes(c.total_minutes))
    }

    async fn issued_at(&self) -> Option<DateTime<Utc>> {
        self.0.certificate.as_ref().map(|c| c.issued_at)
    }

    /// The code in its canonical form when valid; otherwise as it was given.
    async fn code(&self) -> &str {
        &self.0.code
    }
}

#[derive(Default)]
pub struct CertificateQuery;

#[Object]
impl CertificateQuery {
    /// The caller's latest certificate as it was issued, or null before the first. To get one
    /// that states the hours as they are now, `issueServiceCertificate`.
    #[graphql(
        deprecation = "a query does not issue certificates: use the mutation issueServiceCertificate"
    )]
    async fn service_certificate(&self, ctx: &Context<'_>) -> GqlResult<Option<Certificate>> {
        let actor = ctx.request().actor().await?;
        let latest = ctx.services().certificates.latest(actor).await?;
        Ok(latest.map(Certificate))
    }

    /// Checks a certificate's code; anyone may ask. Unknown or malformed codes are `valid: false`
    /// (not an error). Codes may be typed in any case, with spaces or hyphens.
    async fn verify_certificate(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> GqlResult<CertificateVerification> {
        let verification = ctx.services().certificates.verify(&code).await?;
        Ok(CertificateVerification(verification))
    }
}

#[derive(Default)]
pub struct CertificateMutation;

#[Object]
impl CertificateMutation {
    /// A certificate of the caller's approved hours: the latest one when nothing changed since,
    /// else a newly issued one (with a new code).
    async fn issue_service_certificate(&self, ctx: &Context<'_>) -> GqlResult<Certificate> {
        let actor = ctx.request().actor().await?;
        let certificate = ctx.services().certificates.issue(actor).await?;
        Ok(Certificate(certificate))
    }
}
