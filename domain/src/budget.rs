//! The cost budget: how much query complexity one caller may spend per minute, across every API
//! node. A signed-in volunteer has a budget of their own; anonymous callers share one per client
//! address (higher, since carrier NAT puts many phones behind one address).

use std::sync::Arc;
use std::time::Duration;

use crate::counters::WindowCounters;
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::redis_store::RedisStore;

/// The window budgets are counted over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spender {
    Volunteer(VolunteerId),
    /// Anonymous callers (and those with a token that does not verify), by client address.
    Address(String),
}

/// Complexity per window: for each signed-in volunteer, and for each anonymous address.
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    pub per_volunteer: u64,
    pub per_address: u64,
}

pub struct CostBudget {
    counters: WindowCounters,
    budgets: Budgets,
}

/// Whether spending `total` (this request included) stays within `budget`; otherwise how long
/// until the window starts over. A pure rule, tested on its own.
pub fn decide(total: u64, budget: u64, left: Duration) -> Result<()> {
    if total <= budget {
        Ok(())
    } else {
        Err(Error::RateLimited {
            retry_after: Duration::from_secs(left.as_secs_f64().ceil().max(1.0) as u64),
        })
    }
}

impl CostBudget {
    pub fn new(redis: Option<Arc<RedisStore>>, budgets: Budgets) -> Self {
        Self {
            counters: WindowCounters::new(redis, WINDOW, 1_000_000),
            budgets,
        }
    }

    /// Charges `cost` to the spender; `RateLimited` (with when to retry) once the window's
    /// budget is spent. A refused request is charged too, so hammering does not pay.
    pub async fn charge(&self, spender: &Spender, cost: u64) -> Result<()> {
        let (key, budget) = match spender {
            Spender::Volunteer(id) => (format!("cost:v:{}", id.0), self.budgets.per_volunteer),
            Spender::Address(address) => (format!("cost:a:{address}"), self.budgets.per_address),
        };
        let count = self.counters.add(&key, cost).await;
        decide(count.total, budget, count.left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_up_to_the_budget_is_allowed_and_past_it_says_when_to_retry() {
        assert!(decide(100, 100, Duration::from_secs(30)).is_ok());
        let refused = decide(101, 100, Duration::from_millis(29_200)).unwrap_err();
        assert!(
            matches!(refused, Error::RateLimited { retry_after } if retry_after.as_secs() == 30)
        );
        let soon = decide(101, 100, Duration::ZERO).unwrap_err();
        assert!(matches!(soon, Error::RateLimited { retry_after } if retry_after.as_secs() == 1));
    }

    #[tokio::test]
    async fn volunteers_and_addresses_have_budgets_of_their_own() {
        let budget = CostBudget::new(
            None,
            Budgets {
                per_volunteer: 10,
                per_address: 20,
            },
        );
        let volunteer = Spender::Volunteer(VolunteerId(1));
        budget.charge(&volunteer, 10).await.unwrap();
        assert!(budget.charge(&volunteer, 1).await.is_err());
        assert!(
            budget
                .charge(&Spender::Volunteer(VolunteerId(2)), 10)
                .await
                .is_ok()
        );
        let address = Spender::Address("10.0.0.1".into());
        budget.charge(&address, 20).await.unwrap();
        assert!(budget.charge(&address, 1).await.is_err());
    }
}
