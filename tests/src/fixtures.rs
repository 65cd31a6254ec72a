//! Fixtures made through the API, as a client would: admins, teams, members, events.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::client::{Response, Session};
use crate::server::TestApp;

/// Zumiao street, Chancheng: where test events happen.
pub const EVENT_LAT: f64 = 23.0290;
pub const EVENT_LNG: f64 = 113.1140;

/// An event to create; `starts_in` and `lasts` are minutes from now.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub title: String,
    pub starts_in: i64,
    pub lasts: i64,
    pub capacity: i64,
    pub visibility: &'static str,
    pub kind: &'static str,
    pub publish: bool,
}

impl Default for EventSpec {
    fn default() -> Self {
        Self {
            title: "祖庙夜间巡逻 Evening patrol".to_owned(),
            starts_in: 24 * 60,
            lasts: 120,
            capacity: 10,
            visibility: "PUBLIC",
            kind: "PATROL",
            publish: true,
        }
    }
}

pub const CREATE_TEAM: &str = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { id name kind joinPolicy area { code } } }";
pub const CREATE_EVENT: &str =
    "mutation($input: CreateEventInput!) { createEvent(input: $input) { id status } }";
pub const PUBLISH_EVENT: &str = "mutation($id: ID!) { publishEvent(eventId: $id) { id status } }";
pub const JOIN_TEAM: &str = "mutation($id: ID!) { joinTeam(teamId: $id) { id status role } }";
pub const SIGN_UP: &str = "mutation($id: ID!, $key: String) { signUp(eventId: $id, idempotencyKey: $key) { id status waitlistPosition } }";
pub const CANCEL_SIGN_UP: &str = "mutation($id: ID!, $key: String) { cancelSignUp(signUpId: $id, idempotencyKey: $key) { id status } }";

/// A team with its leader (a fresh volunteer) and the admin who created it.
pub struct TeamFixture {
    pub id: String,
    pub leader: Session,
    pub admin: Session,
}

impl TestApp {
    /// An admin of the area with `area_code`; one phone per area code.
    pub async fn area_admin(&self, area_code: &str) -> Session {
        let phone = format!(
            "139{:08}",
            area_code.parse::<u64>().unwrap_or(0) % 100_000_000
        );
        self.admin(&phone, area_code).await
    }

    /// An admin creates a team in the area with `area_code`, led by a new volunteer.
    pub async fn team(&self, name: &str, area_code: &str, join_policy: &str) -> TeamFixture {
        let admin = self.area_admin(area_code).await;
        let leader_phone = format!("1370{:07}", next_number());
        let leader = self.register(&leader_phone, &format!("{name} 队长")).await;
        let area = self.area_id(area_code).await;
        let created = self
            .graphql_as(
                &admin,
                CREATE_TEAM,
                json!({ "input": { "name": name, "kind": "KUNG_FU_PATROL", "areaId": area, "joinPolicy": join_policy, "leaderId": leader.volunteer_id } }),
            )
            .await;
        let id = created.data()["createTeam"]["id"]
            .as_str()
            .expect("team id")
            .to_owned();
        TeamFixture { id, leader, admin }
    }

    /// A new volunteer who joined (and, for APPROVAL teams, was admitted to) the team.
    pub async fn member(&self, team: &TeamFixture) -> Session {
        let session = self.volunteer().await;
        let joined = self
            .graphql_as(&session, JOIN_TEAM, json!({ "id": team.id }))
            .await;
        let membership = &joined.data()["joinTeam"];
        if membership["status"] == "PENDING" {
            let approve = "mutation($id: ID!) { reviewMembership(membershipId: $id, approve: true) { status } }";
            let reviewed = self
                .graphql_as(&team.leader, approve, json!({ "id": membership["id"] }))
                .await;
            assert_eq!(reviewed.data()["reviewMembership"]["status"], "ACTIVE");
        }
        session
    }

    /// A fresh registered volunteer.
    pub async fn volunteer(&self) -> Session {
        let phone = format!("1360{:07}", next_number());
        self.register(&phone, &format!("志愿者{}", &phone[7..]))
            .await
    }

    /// The leader creates (and by default publishes) an event of the team.
    pub async fn event(&self, leader: &Session, team_id: &str, spec: EventSpec) -> String {
        let starts = Utc::now() + Duration::minutes(spec.starts_in);
        let ends = starts + Duration::minutes(spec.lasts);
        let input = json!({ "input": {
            "teamId": team_id, "kind": spec.kind, "title": spec.title,
            "startsAt": starts.to_rfc3339(), "endsAt": ends.to_rfc3339(), "capacity": spec.capacity,
            "location": { "address": "佛山市禅城区祖庙路21号", "lat": EVENT_LAT, "lng": EVENT_LNG, "radiusM": 200 },
            "visibility": spec.visibility,
        } });
        let created = self.graphql_as(leader, CREATE_EVENT, input).await;
        let id = created.data()["createEvent"]["id"]
            .as_str()
            .expect("event id")
            .to_owned();
        if spec.publish {
            self.graphql_as(leader, PUBLISH_EVENT, json!({ "id": id }))
                .await
                .data();
        }
        id
    }

    pub async fn sign_up(&self, session: &Session, event_id: &str, key: Option<&str>) -> Response {
        self.graphql_as(session, SIGN_UP, json!({ "id": event_id, "key": key }))
            .await
    }

    /// `signUp` as a phone sends it in a storm: with an idempotency key, and again (same key)
    /// while the answer is `UNAVAILABLE` (the node's pool was busy for its whole acquire timeout:
    /// the apps are told to retry). Any other answer is returned as it came.
    pub async fn sign_up_as_a_phone(&self, session: &Session, event_id: &str) -> Response {
        let key = format!("storm-{}", next_number());
        for _ in 0..20 {
            let answer = self.sign_up(session, event_id, Some(&key)).await;
            // An outage, or the first try (given up on) still holding its key: try again, as
            // the answers ask.
            let error = &answer.body["errors"][0];
            let busy = error["extensions"]["code"] == "CONFLICT"
                && error["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("still being processed"));
            if error["extensions"]["code"] != "UNAVAILABLE" && !busy {
                return answer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("signUp still UNAVAILABLE or in progress after twenty tries");
    }

    pub async fn event_counts(&self, session: &Session, event_id: &str) -> Value {
        let query = "query($id: ID!) { event(id: $id) { capacity confirmedCount waitlistCount seatsLeft status } }";
        self.graphql_as(session, query, json!({ "id": event_id }))
            .await
            .data()["event"]
            .clone()
    }
}

/// Unique numbers for phones across the tests of one binary.
fn next_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub const RECORD_SERVICE: &str =
    "mutation($input: RecordServiceInput!) { recordService(input: $input) { id minutes status } }";
pub const REVIEW: &str = "mutation($id: ID!, $decision: ReviewDecision!, $minutes: Int, $reason: String) { reviewServiceRecord(recordId: $id, decision: $decision, minutes: $minutes, reason: $reason) { id status minutes } }";

impl TestApp {
    /// The team's leader records `minutes` on `day` (YYYY-MM-DD) for `member` and approves them
    /// through the API (an area admin approves days over 8 hours). Returns the record's id.
    pub async fn approved_minutes(
        &self,
        team: &TeamFixture,
        member: &Session,
        minutes: i64,
        day: &str,
    ) -> String {
        let recorded = self
            .graphql_as(
                &team.leader,
                RECORD_SERVICE,
                json!({ "input": { "volunteerId": member.volunteer_id, "teamId": team.id, "minutes": minutes, "serviceDate": day } }),
            )
            .await;
        let id = recorded.data()["recordService"]["id"]
            .as_str()
            .expect("record id")
            .to_owned();
        let approved = self
            .graphql_as(
                &team.leader,
                REVIEW,
                json!({ "id": id, "decision": "APPROVE" }),
            )
            .await;
        if approved.body.get("errors").is_some() && approved.error_code() == "FORBIDDEN" {
            self.graphql_as(
                &team.admin,
                REVIEW,
                json!({ "id": id, "decision": "APPROVE" }),
            )
            .await
            .data();
        } else {
            approved.data();
        }
        id
    }
}
