//! Limits on the shape of a document, so a hostile one is refused before it costs anything.
//!
//! async-graphql limits depth, complexity and directives itself. Two checks are added here:
//! nesting is measured on the raw text before parsing (a 10,000-level document must never reach
//! the recursive parser), and aliases are counted after parsing (aliases multiply work while the
//! document stays small).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Positioned, ServerError, ServerResult, Variables};

pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 2_000;
pub const MAX_RECURSIVE_DEPTH: usize = 32;
pub const MAX_DIRECTIVES_PER_FIELD: usize = 4;
pub const MAX_ALIASES: usize = 50;
/// Brackets of any kind (`{`, `(`, `[`) open at once in the raw text.
pub const MAX_NESTING: usize = 48;

/// The deepest bracket nesting of a GraphQL document, ignoring strings and comments. Linear time,
/// no recursion.
pub fn nesting_depth(document: &str) -> usize {
    let bytes = document.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

fn count_aliases(selection_set: &Positioned<SelectionSet>) -> usize {
    // Depth is bounded by MAX_NESTING before parsing, so this recursion is shallow.
    selection_set
        .node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + count_aliases(&field.node.selection_set)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

fn document_aliases(document: &ExecutableDocument) -> usize {
    let operations: usize = match &document.operations {
        DocumentOperations::Single(operation) => count_aliases(&operation.node.selection_set),
        DocumentOperations::Multiple(operations) => operations
            .values()
            .map(|operation| count_aliases(&operation.node.selection_set))
            .sum(),
    };
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| count_aliases(&fragment.node.selection_set))
        .sum();
    operations + fragments
}

/// Refuses documents with more than `MAX_ALIASES` aliases.
pub struct AliasLimit;

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension)
    }
}

struct AliasLimitExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for AliasLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let aliases = document_aliases(&document);
        if aliases > MAX_ALIASES {
            return Err(ServerError::new(
                format!("the document has {aliases} aliases; at most {MAX_ALIASES} are allowed"),
                None,
            ));
        }
        Ok(document)
    }
}

/// For the WebSocket endpoint: subscriptions only (queries and mutations are POSTed to
/// `/graphql`, where every HTTP-level check applies), and the raw nesting check the POST handler
/// makes before parsing.
pub struct SubscriptionsOnly;

impl ExtensionFactory for SubscriptionsOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SubscriptionsOnlyExtension)
    }
}

struct SubscriptionsOnlyExtension;

fn refusal(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", super::error::code::BAD_USER_INPUT);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for SubscriptionsOnlyExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let depth = nesting_depth(query);
        if depth > MAX_NESTING {
            return Err(refusal(format!(
                "the document nests {depth} levels deep; at most {MAX_NESTING} are allowed"
            )));
        }
        let document = next.run(ctx, query, variables).await?;
        let only_subscriptions = document
            .operations
            .iter()
            .all(|(_, operation)| operation.node.ty == OperationType::Subscription);
        if !only_subscriptions {
            return Err(refusal(
                "only subscriptions run over WebSocket; POST queries and mutations to /graphql"
                    .to_owned(),
            ));
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_but_not_those_in_strings_or_comments() {
        assert_eq!(nesting_depth("{ a { b } }"), 2);
        assert_eq!(nesting_depth("{ a(x: \"{{{{\") }"), 2);
        assert_eq!(nesting_depth("# {{{{{\n{ a }"), 1);
        assert_eq!(nesting_depth("{ a(x: \"\"\"{{{ \\\"\"\" {{ \"\"\") }"), 2);
        assert_eq!(nesting_depth(&"{a".repeat(10_000)), 10_000);
    }

    #[test]
    fn aliases_are_counted_across_fields_and_fragments() {
        let document = async_graphql::parser::parse_query(
            "{ a: me { b: id } ...F } fragment F on Query { c: me { id } }",
        )
        .unwrap();
        assert_eq!(document_aliases(&document), 3);
    }
}
