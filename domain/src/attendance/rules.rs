//! The pure rules of attendance: when a check-in or check-out may be recorded, where, what it
//! credits, when a report counts as made offline (and until when one is accepted), and what a
//! leader's correction after the fact may say.

use chrono::{DateTime, Duration, Utc};

use crate::entity::events;
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::kinds::{EventStatus, SignUpStatus};
use crate::text::Text;

/// Self check-in opens this long before the start.
pub const CHECK_IN_OPENS_BEFORE: Duration = Duration::minutes(30);
/// Open check-ins of events over for longer than this are closed at the event's end.
pub const AUTO_CLOSE_AFTER: Duration = Duration::hours(2);
/// A report reaching the server more than this after the moment it states was made offline.
pub const OFFLINE_AFTER: Duration = Duration::minutes(10);
/// Offline reports are accepted until this long after the event's end.
pub const OFFLINE_ACCEPTED_FOR: Duration = Duration::hours(24);
/// Clock skew tolerated between a phone and the server.
pub(super) const FUTURE_SKEW: Duration = Duration::seconds(5);

/// Whole minutes of `[from, to)` that fall inside the event.
pub fn credited_minutes(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) -> i32 {
    let start = from.max(starts);
    let end = to.min(ends);
    if end <= start {
        0
    } else {
        (end - start).num_minutes().min(i64::from(i32::MAX)) as i32
    }
}

/// A sign-up that checked in counts as attended even if the no-show marking, racing with the
/// check-in, got to it first (CONFIRMED or NO_SHOW with an attendance).
pub(super) fn attended_status(status: SignUpStatus) -> bool {
    matches!(status, SignUpStatus::Confirmed | SignUpStatus::NoShow)
}

/// When a moment happened: the time the phone sent (it was offline), never in the future beyond
/// a little clock skew, else now.
pub(super) fn moment(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    match at {
        Some(at) if at > now + FUTURE_SKEW => Err(Error::invalid("at", "must-not-be-in-future")),
        Some(at) => crate::dates::check_instant(at, "at"),
        None => Ok(now),
    }
}

/// Whether a report of the moment `at`, reaching the server at `received`, was made offline:
/// it arrived more than ten minutes after the fact.
pub fn is_offline(at: DateTime<Utc>, received: DateTime<Utc>) -> bool {
    received - at > OFFLINE_AFTER
}

/// An offline report is accepted until 24 hours after the event's end; later, only a leader's
/// correction (`markAttendance`) records the attendance.
pub(super) fn check_offline_accepted(
    offline: bool,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    if offline && now > ends_at + OFFLINE_ACCEPTED_FOR {
        return Err(Error::conflict("offline-check-ins-check-outs-are"));
    }
    Ok(())
}

/// Whether a check-in at `at` may be recorded: on a confirmed sign-up of an event that was not
/// cancelled, from 30 minutes before its start until its end (`window`). A time the phone `sent`
/// outside the window is bad input; the present moment outside it, a conflict.
pub(super) fn check_in_allowed(
    sign_up: SignUpStatus,
    event: EventStatus,
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
    at: DateTime<Utc>,
    sent: bool,
) -> Result<()> {
    // A report made while the phone was offline may arrive after the volunteer was marked a
    // no-show (two hours after the end): it stands, and makes them attended after all.
    if sign_up != SignUpStatus::Confirmed && !revives_no_show(sign_up, sent) {
        return Err(Error::conflict("only-confirmed-sign-up-can-check"));
    }
    if event == EventStatus::Cancelled {
        return Err(Error::conflict("event-was-cancelled"));
    }
    if at < starts_at - CHECK_IN_OPENS_BEFORE || at > ends_at {
        let message = "check-in-open-from-30-minutes-before";
        return Err(if sent {
            Error::invalid("at", message)
        } else {
            Error::conflict(message)
        });
    }
    Ok(())
}

/// Which report a position comes with, for the messages of [`check_position`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Report {
    CheckIn,
    CheckOut,
}

/// A volunteer checking themself in or out must be within the event's radius.
pub(super) fn check_position(
    event: &events::Model,
    position: Option<(Position, Option<f64>)>,
    report: Report,
) -> Result<()> {
    let (required, too_far) = match report {
        Report::CheckIn => ("required-to-check-in-yourself", "too-far-to-check-in"),
        Report::CheckOut => ("required-to-check-out-yourself", "too-far-to-check-out"),
    };
    let Some((position, _)) = position else {
        return Err(Error::invalid("position", required));
    };
    let distance = position.distance_m(&Position {
        lat: event.lat,
        lng: event.lng,
    });
    if distance > f64::from(event.radius_m) {
        return Err(Error::conflict(
            Text::new(too_far)
                .arg("distance", distance.round())
                .arg("radius", event.radius_m),
        ));
    }
    Ok(())
}

/// Whether a check-out at `at` may close an attendance checked in at `checked_in_at`: not before
/// it, and a time the phone `sent` no later than two hours after the event's end.
pub(super) fn check_out_allowed(
    at: DateTime<Utc>,
    checked_in_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    sent: bool,
) -> Result<()> {
    if at < checked_in_at {
        return Err(Error::invalid("at", "must-not-be-before-check-in"));
    }
    if sent && at > ends_at + AUTO_CLOSE_AFTER {
        return Err(Error::invalid("at", "must-be-within-two-hours-after"));
    }
    Ok(())
}

/// Whether a check-in reported after the fact (`at` sent) turns a no-show into an attendance.
pub(super) fn revives_no_show(status: SignUpStatus, sent: bool) -> bool {
    sent && status == SignUpStatus::NoShow
}

/// Why a record needs review before approval, if it does: what the leader sees beside it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewCauses {
    /// The volunteer's check-in reached the server this many minutes after its time.
    pub offline_check_in: Option<i64>,
    /// The volunteer's check-out reached the server this many minutes after its time.
    pub offline_check_out: Option<i64>,
    /// Nobody checked out; the server closed the attendance at the event's end.
    pub auto_closed: bool,
}

impl ReviewCauses {
    pub fn needs_review(&self) -> bool {
        self.offline_check_in.is_some() || self.offline_check_out.is_some() || self.auto_closed
    }

    /// The reason shown to the leader (Chinese, then English), or `None` when nothing is amiss.
    pub fn reason(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(late) = self.offline_check_in {
            parts.push(format!(
                "离线签到，{late} 分钟后才送达 / offline check-in, received {late} min after its time"
            ));
        }
        if let Some(late) = self.offline_check_out {
            parts.push(format!(
                "离线签退，{late} 分钟后才送达 / offline check-out, received {late} min after its time"
            ));
        }
        if self.auto_closed {
            parts.push(
                "无人签退，已在活动结束时自动签退 / Nobody checked out; closed automatically at the event's end"
                    .to_owned(),
            );
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// How late a volunteer's own report arrived, in minutes, when it was made offline.
pub(super) fn offline_minutes(at: DateTime<Utc>, received: Option<DateTime<Utc>>) -> Option<i64> {
    let received = received?;
    is_offline(at, received).then(|| (received - at).num_minutes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn only_the_overlap_with_the_event_is_credited() {
        let (starts, ends) = (at(0), at(120));
        assert_eq!(credited_minutes(at(-30), at(60), starts, ends), 60);
        assert_eq!(credited_minutes(at(10), at(200), starts, ends), 110);
        assert_eq!(
            credited_minutes(at(-30), at(300), starts, ends),
            120,
            "never more than the event's length"
        );
        assert_eq!(credited_minutes(at(130), at(200), starts, ends), 0);
        assert_eq!(credited_minutes(at(10), at(10), starts, ends), 0);
    }

    fn field_or_conflict(result: Result<()>) -> String {
        match result {
            Err(Error::InvalidInput { field, .. }) => field,
            Err(Error::Conflict(_)) => "CONFLICT".into(),
            other => panic!("neither: {other:?}"),
        }
    }

    #[test]
    fn check_in_opens_half_an_hour_before_the_start_and_closes_at_the_end() {
        let window = (at(0), at(120));
        let allowed = |at, sent| {
            check_in_allowed(
                SignUpStatus::Confirmed,
                EventStatus::Published,
                window,
                at,
                sent,
            )
        };
        assert!(allowed(at(-30), false).is_ok());
        assert!(allowed(at(120), true).is_ok());
        // Outside the window: a time the phone sent is bad input, the present a conflict.
        assert_eq!(field_or_conflict(allowed(at(-31), true)), "at");
        assert_eq!(field_or_conflict(allowed(at(121), false)), "CONFLICT");
    }

    #[test]
    fn only_a_confirmed_sign_up_of_a_live_event_checks_in() {
        let window = (at(0), at(120));
        for status in [SignUpStatus::Waitlisted, SignUpStatus::Cancelled] {
            let result = check_in_allowed(status, EventStatus::Published, window, at(0), false);
            assert_eq!(field_or_conflict(result), "CONFLICT");
        }
        let cancelled = check_in_allowed(
            SignUpStatus::Confirmed,
            EventStatus::Cancelled,
            window,
            at(0),
            false,
        );
        assert_eq!(field_or_conflict(cancelled), "CONFLICT");
    }

    #[test]
    fn a_no_show_checks_in_only_by_a_report_sent_after_the_fact() {
        let window = (at(0), at(120));
        let live = check_in_allowed(
            SignUpStatus::NoShow,
            EventStatus::Published,
            window,
            at(5),
            false,
        );
        assert_eq!(field_or_conflict(live), "CONFLICT");
        let offline = check_in_allowed(
            SignUpStatus::NoShow,
            EventStatus::Published,
            window,
            at(5),
            true,
        );
        assert!(offline.is_ok());
        assert!(revives_no_show(SignUpStatus::NoShow, true));
        assert!(!revives_no_show(SignUpStatus::Confirmed, true));
    }

    #[test]
    fn a_check_out_follows_the_check_in_and_a_sent_time_the_end_by_two_hours_at_most() {
        let (checked_in, ends) = (at(10), at(120));
        assert!(check_out_allowed(at(60), checked_in, ends, true).is_ok());
        assert_eq!(
            field_or_conflict(check_out_allowed(at(9), checked_in, ends, false)),
            "at"
        );
        assert!(check_out_allowed(at(240), checked_in, ends, true).is_ok());
        assert_eq!(
            field_or_conflict(check_out_allowed(at(241), checked_in, ends, true)),
            "at"
        );
        // The present moment is never too late: the check-out is simply recorded.
        assert!(check_out_allowed(at(600), checked_in, ends, false).is_ok());
    }

    #[test]
    fn a_sent_moment_may_not_lie_in_the_future_beyond_clock_skew() {
        let now = at(0);
        assert_eq!(moment(None, now).unwrap(), now);
        assert_eq!(moment(Some(at(-5)), now).unwrap(), at(-5));
        assert!(moment(Some(now + FUTURE_SKEW), now).is_ok());
        assert!(moment(Some(now + FUTURE_SKEW + Duration::seconds(1)), now).is_err());
    }
}

#[cfg(test)]
mod offline_and_corrections {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn a_report_arriving_more_than_ten_minutes_late_was_made_offline() {
        assert!(!is_offline(at(0), at(10)));
        assert!(is_offline(at(0), at(10) + Duration::seconds(1)));
        assert_eq!(offline_minutes(at(0), Some(at(45))), Some(45));
        assert_eq!(offline_minutes(at(0), Some(at(3))), None);
        assert_eq!(
            offline_minutes(at(0), None),
            None,
            "older rows: unknown, not offline"
        );
    }

    #[test]
    fn offline_reports_are_accepted_until_a_day_after_the_end() {
        let ends = at(120);
        let day = 24 * 60;
        assert!(check_offline_accepted(true, ends, at(120 + day)).is_ok());
        assert!(matches!(
            check_offline_accepted(true, ends, at(121 + day)),
            Err(Error::Conflict(message)) if message.render(crate::text::Locale::En).contains("24 hours")
        ));
        // A live report is never refused by this rule.
        assert!(check_offline_accepted(false, ends, at(121 + day)).is_ok());
    }

    #[test]
    fn the_review_reason_names_every_cause() {
        assert_eq!(ReviewCauses::default().reason(), None);
        assert!(!ReviewCauses::default().needs_review());
        let both = ReviewCauses {
            offline_check_in: Some(95),
            offline_check_out: Some(40),
            auto_closed: false,
        };
        assert!(both.needs_review());
        let reason = both.reason().unwrap();
        assert!(
            reason.contains("offline check-in, received 95 min"),
            "{reason}"
        );
        assert!(
            reason.contains("offline check-out, received 40 min"),
            "{reason}"
        );
        let closed = ReviewCauses {
            auto_closed: true,
            ..Default::default()
        };
        assert!(closed.reason().unwrap().contains("closed automatically"));
    }
}
