//! Limits on the shape and cost of a document, so a hostile one is refused before it costs
//! anything, and a caller's sustained cost is bounded.
//!
//! - [`DocumentLimits`] measures the raw text's nesting before parsing, then the parsed
//!   document with fragments expanded (fields, aliases, depth; introspection apart), before
//!   async-graphql validates it: validation itself expands fragments, so a small document that
//!   stands for millions of fields must never reach it.
//! - async-graphql then applies complexity (lists count `first` times, see the `complexity`
//!   attributes on list fields), recursive depth and directive limits.
//! - [`cost::CostBudget`] charges each request's complexity to its caller's budget per minute and
//!   reports it in `extensions.cost`.
//! - [`SubscriptionsOnly`] keeps the WebSocket to subscriptions, at most
//!   [`MAX_SUBSCRIPTIONS_PER_CONNECTION`] at once, and refuses new ones once the connection's
//!   token has expired.

pub mod cost;
pub mod shape;

use std::any::TypeId;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
    NextSubscribe,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerError, ServerResult, Variables};
use feihong_domain::text::Text;
use futures::stream::BoxStream;
use futures::{StreamExt as _, stream};

use super::context::RequestContext;
use super::error::code;
use crate::locale::current_locale;
pub use shape::nesting_depth;
use shape::{Shape, ShapeError};

/// Field nesting outside introspection.
pub const MAX_DEPTH: u32 = 12;
/// Field nesting under `__schema` / `__type`: the standard introspection query nests 14 deep
/// (`ofType` nine times); the rest is room for tools that ask a little deeper.
pub const MAX_INTROSPECTION_DEPTH: u32 = 20;
/// Lists nested inside each other under introspection (`types { fields { args } }` is three);
/// each level multiplies the answer by up to a hundred or so.
pub const MAX_INTROSPECTION_LISTS: u32 = 3;
/// Field selections with every fragment expanded, over the whole document. The standard
/// introspection query is about 300; the largest screen of the apps about 100.
pub const MAX_FIELDS: u64 = 2_000;
pub const MAX_COMPLEXITY: usize = 2_000;
pub const MAX_RECURSIVE_DEPTH: usize = 32;
pub const MAX_DIRECTIVES_PER_FIELD: usize = 4;
/// Aliases with fragments expanded.
pub const MAX_ALIASES: u64 = 50;
/// Brackets of any kind (`{`, `(`, `[`) open at once in the raw text.
pub const MAX_NESTING: usize = 48;
/// Subscriptions one WebSocket connection may hold open at once.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 20;

/// A refusal of the document: the client's to fix, told in the request's language.
pub fn refusal(message: Text) -> ServerError {
    refusal_coded(code::BAD_USER_INPUT, message)
}

/// A refusal before execution with its own `extensions.code`.
pub fn refusal_coded(code: &str, message: Text) -> ServerError {
    let mut error = ServerError::new(message.render(current_locale()), None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// The first bound a measured document breaks, as the text the client gets.
pub fn check_shape(shape: &Shape) -> Result<(), Text> {
    let bound =
        |key: &str, found: u64, most: u64| Text::new(key).arg("found", found).arg("most", most);
    let checks: [(bool, Text); 5] = [
        (
            shape.aliases > MAX_ALIASES,
            bound("document-too-many-aliases", shape.aliases, MAX_ALIASES),
        ),
        (
            shape.fields > MAX_FIELDS,
            bound("document-too-many-fields", shape.fields, MAX_FIELDS),
        ),
        (
            shape.depth > MAX_DEPTH,
            bound("document-too-deep", shape.depth.into(), MAX_DEPTH.into()),
        ),
        (
            shape.introspection_depth > MAX_INTROSPECTION_DEPTH,
            bound(
                "introspection-too-deep",
                shape.introspection_depth.into(),
                MAX_INTROSPECTION_DEPTH.into(),
            ),
        ),
        (
            shape.introspection_lists > MAX_INTROSPECTION_LISTS,
            bound(
                "introspection-too-many-lists",
                shape.introspection_lists.into(),
                MAX_INTROSPECTION_LISTS.into(),
            ),
        ),
    ];
    match checks.into_iter().find(|(broken, _)| *broken) {
        Some((_, message)) => Err(message),
        None => Ok(()),
    }
}

/// Checks the raw text, parses, then checks the expanded shape; on every schema.
pub struct DocumentLimits;

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension)
    }
}

struct DocumentLimitsExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    /// Runs before async-graphql parses: its own checks after parsing (the recursive depth
    /// check among them) follow fragment spreads without remembering them, so a fan-out must
    /// be refused before they run. The document parsed here is handed on, not parsed twice.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let document = checked_document(&request.query)?;
        note_operation(&request, &document);
        request.set_parsed_query(document);
        next.run(ctx, request).await
    }
}

/// Tells the request's outcome the name of the document's operation when the request named
/// none and the document has just one, named (for the metrics; no second parse).
fn note_operation(request: &Request, document: &ExecutableDocument) {
    if request.operation_name.is_some() {
        return;
    }
    let DocumentOperations::Multiple(operations) = &document.operations else {
        return;
    };
    let context = request
        .data
        .get(&TypeId::of::<RequestContext>())
        .and_then(|data| data.downcast_ref::<RequestContext>());
    if let (Some(context), 1) = (context, operations.len())
        && let Some(name) = operations.keys().next()
    {
        context.outcome().note_operation(name);
    }
}

/// Parses a document whose raw nesting and expanded shape are within bounds.
pub fn checked_document(query: &str) -> ServerResult<ExecutableDocument> {
    let depth = nesting_depth(query);
    if depth > MAX_NESTING {
        return Err(refusal(
            Text::new("document-nests-too-deep")
                .arg("found", depth)
                .arg("most", MAX_NESTING),
        ));
    }
    let document = async_graphql::parser::parse_query(query)?;
    let shape = shape::measure(&document).map_err(|error| {
        refusal(match error {
            ShapeError::FragmentCycle(name) => {
                Text::new("fragment-spreads-itself").arg("name", name)
            }
            ShapeError::FragmentChain => {
                Text::new("fragment-chain-too-deep").arg("most", shape::MAX_FRAGMENT_CHAIN)
            }
        })
    })?;
    check_shape(&shape).map_err(refusal)?;
    Ok(document)
}

/// For the WebSocket endpoint: subscriptions only (queries and mutations are POSTed to
/// `/graphql`, where every HTTP-level check applies), at most
/// [`MAX_SUBSCRIPTIONS_PER_CONNECTION`] open at once, and none started once the token the
/// connection signed in with has expired (the app reconnects with a fresh one).
pub struct SubscriptionsOnly;

impl ExtensionFactory for SubscriptionsOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SubscriptionsOnlyExtension)
    }
}

struct SubscriptionsOnlyExtension;

fn refused_stream<'s>(error: ServerError) -> BoxStream<'s, Response> {
    stream::once(async move { Response::from_errors(vec![error]) }).boxed()
}

#[async_graphql::async_trait::async_trait]
impl Extension for SubscriptionsOnlyExtension {
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let Some(request) = ctx.data_opt::<RequestContext>() else {
            return next.run(ctx, stream);
        };
        if let Err(error) = request.check_token_still_valid() {
            return refused_stream(error.into_server_error());
        }
        match request.open_subscription(MAX_SUBSCRIPTIONS_PER_CONNECTION) {
            Some(slot) => next
                .run(ctx, stream)
                .map(move |response| {
                    let _held = &slot;
                    response
                })
                .boxed(),
            None => refused_stream(refusal(
                Text::new("too-many-subscriptions").arg("most", MAX_SUBSCRIPTIONS_PER_CONNECTION),
            )),
        }
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let only_subscriptions = document
            .operations
            .iter()
            .all(|(_, operation)| operation.node.ty == OperationType::Subscription);
        if !only_subscriptions {
            return Err(refusal(Text::new("only-subscriptions-over-websocket")));
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use feihong_domain::text::Locale;

    use super::*;

    #[test]
    fn every_bound_has_its_own_message() {
        assert!(check_shape(&Shape::default()).is_ok());
        let over = |shape: Shape| check_shape(&shape).unwrap_err().render(Locale::En);
        assert!(
            over(Shape {
                fields: MAX_FIELDS + 1,
                ..Shape::default()
            })
            .contains("fields")
        );
        assert!(
            over(Shape {
                aliases: MAX_ALIASES + 1,
                ..Shape::default()
            })
            .contains("aliases")
        );
        assert!(
            over(Shape {
                depth: MAX_DEPTH + 1,
                ..Shape::default()
            })
            .contains("deep")
        );
        assert!(
            over(Shape {
                introspection_depth: MAX_INTROSPECTION_DEPTH + 1,
                ..Shape::default()
            })
            .contains("introspection")
        );
        assert!(
            over(Shape {
                introspection_lists: MAX_INTROSPECTION_LISTS + 1,
                ..Shape::default()
            })
            .contains("lists")
        );
        assert!(
            check_shape(&Shape {
                fields: MAX_FIELDS,
                aliases: MAX_ALIASES,
                depth: MAX_DEPTH,
                introspection_depth: MAX_INTROSPECTION_DEPTH,
                introspection_lists: MAX_INTROSPECTION_LISTS,
            })
            .is_ok()
        );
    }
}
