//! Each request's cost: its complexity as async-graphql computes it during validation (every
//! field 1, list fields times the page they ask for), at least 1. The cost is charged to the
//! caller's budget per minute (`RATE_LIMITED` with `retryAfter` once spent, shared across nodes
//! through Redis) and reported in the response's `extensions.cost`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextRequest, NextValidation,
};
use async_graphql::{Response, ServerError, ValidationResult, Value};

use crate::graphql::context::RequestContext;
use crate::graphql::error::GqlError;

pub struct CostBudget;

impl ExtensionFactory for CostBudget {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostExtension {
            cost: AtomicU64::new(0),
        })
    }
}

/// One per request.
struct CostExtension {
    /// 0 until validation measured the document.
    cost: AtomicU64,
}

#[async_graphql::async_trait::async_trait]
impl Extension for CostExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let cost = self.cost.load(Ordering::Acquire);
        if cost > 0 {
            response
                .extensions
                .insert("cost".to_owned(), Value::from(cost));
        }
        response
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let cost = (result.complexity as u64).max(1);
        self.cost.store(cost, Ordering::Release);
        if let Some(request) = ctx.data_opt::<RequestContext>() {
            let charged = request
                .services()
                .budget
                .charge(&request.spender(), cost)
                .await;
            if let Err(error) = charged {
                return Err(vec![GqlError::from(error).into_server_error()]);
            }
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(request) = ctx.data_opt::<RequestContext>() {
            request.mark_executed();
        }
        next.run(ctx, operation_name).await
    }
}

/// The complexity of a paged list field: the field itself, then its selection once per item of
/// the page asked for (`first`, the default page when absent; out-of-range values count as the
/// nearest allowed size, since the resolver refuses them anyway).
pub fn page(first: Option<i32>, child_complexity: usize) -> usize {
    let items = first.map_or(feihong_domain::page::DEFAULT_PAGE as i64, i64::from);
    let items = items.clamp(1, feihong_domain::page::MAX_PAGE as i64) as usize;
    1usize.saturating_add(items.saturating_mul(child_complexity))
}

/// The complexity of a list field without paging, from the most items it holds in practice
/// (a team's sub-teams, an area's children).
pub fn list(expected_items: usize, child_complexity: usize) -> usize {
    1usize.saturating_add(expected_items.saturating_mul(child_complexity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_costs_its_selection_once_per_item_asked_for() {
        assert_eq!(page(Some(100), 3), 301);
        assert_eq!(page(None, 3), 61);
        assert_eq!(page(Some(0), 3), 4);
        assert_eq!(page(Some(i32::MAX), 3), 301);
        assert_eq!(page(Some(100), usize::MAX), usize::MAX);
        assert_eq!(list(10, 2), 21);
    }
}
