//! What a document would cost to validate and run, measured before async-graphql sees it.
//!
//! Two measures, both linear in the size of the text:
//! - [`nesting_depth`] on the raw text, before parsing, so a 10,000-level document never reaches
//!   the recursive parser;
//! - [`measure`] on the parsed document, with fragments *expanded*: a fragment spread counts as
//!   everything the fragment selects, however often it is spread. Each fragment is measured once
//!   and remembered, so `fragment F0 { ...F1 ...F1 } fragment F1 { ...F2 ...F2 } …` costs one
//!   pass over the text, while the 2^n fields it stands for are counted (saturating) and refused.
//!
//! Introspection (`__schema`, `__type`) is measured apart: the standard introspection query of
//! GraphiQL and code generators is deeper than any application query (`ofType` nests nine
//! levels), so it has its own depth bound, and a bound on nested lists, the thing that makes an
//! introspection query expensive.

use std::collections::HashMap;

use async_graphql::Positioned;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The deepest bracket nesting of a GraphQL document, ignoring strings and comments (which end
/// at a line feed or a carriage return, as the spec's line terminators do). Linear time, no
/// recursion.
pub fn nesting_depth(document: &str) -> usize {
    let bytes = document.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
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
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
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

/// The size of a document once its fragments are expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Field selections, `__typename` included, over every operation and fragment definition
    /// (validation visits each of them with its spreads expanded).
    pub fields: u64,
    pub aliases: u64,
    /// The deepest field nesting outside introspection.
    pub depth: u32,
    /// The deepest field nesting under `__schema` or `__type`, counted from the root.
    pub introspection_depth: u32,
    /// The most list fields nested inside each other under `__schema` or `__type`.
    pub introspection_lists: u32,
}

impl Shape {
    /// Two selections side by side.
    fn beside(self, other: Self) -> Self {
        Self {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
            depth: self.depth.max(other.depth),
            introspection_depth: self.introspection_depth.max(other.introspection_depth),
            introspection_lists: self.introspection_lists.max(other.introspection_lists),
        }
    }
}

/// Why a document could not be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// A fragment spreads itself, directly or through others (validation would refuse it too).
    FragmentCycle(String),
    /// Fragments spread inside fragments more than [`MAX_FRAGMENT_CHAIN`] deep.
    FragmentChain,
}

/// How deep fragments may spread inside each other. Real documents use a handful (the standard
/// introspection query: 3); the bound keeps the measuring recursion (and async-graphql's own,
/// which follows spreads the same way) shallow.
pub const MAX_FRAGMENT_CHAIN: usize = 32;

/// Introspection fields that return lists (of types, fields, arguments, values, directives).
const INTROSPECTION_LISTS: [&str; 8] = [
    "types",
    "fields",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "args",
    "directives",
];

struct Measurer<'a> {
    document: &'a ExecutableDocument,
    /// Each fragment's shape, per context (inside introspection or not).
    known: HashMap<(&'a str, bool), Shape>,
    /// The chain of fragments being measured, to find cycles.
    open: Vec<&'a str>,
}

impl<'a> Measurer<'a> {
    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        introspection: bool,
    ) -> Result<Shape, ShapeError> {
        let mut shape = Shape::default();
        for item in &set.node.items {
            let item = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let inside = introspection || matches!(name, "__schema" | "__type");
                    let child = self.selection_set(&field.selection_set, inside)?;
                    let mut one = Shape {
                        fields: child.fields.saturating_add(1),
                        aliases: child
                            .aliases
                            .saturating_add(u64::from(field.alias.is_some())),
                        ..Shape::default()
                    };
                    if inside {
                        one.introspection_depth = 1 + child.introspection_depth.max(child.depth);
                        one.introspection_lists = child.introspection_lists
                            + u32::from(INTROSPECTION_LISTS.contains(&name));
                    } else {
                        one.depth = 1 + child.depth;
                        one.introspection_depth =
                            child.introspection_depth + u32::from(child.introspection_depth > 0);
                        one.introspection_lists = child.introspection_lists;
                    }
                    one
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment.node.type_condition.as_ref();
                    let inside = introspection
                        || on.is_some_and(|on| on.node.on.node.as_str().starts_with("__"));
                    self.selection_set(&fragment.node.selection_set, inside)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), introspection)?
                }
            };
            shape = shape.beside(item);
        }
        Ok(shape)
    }

    fn fragment(&mut self, name: &'a str, introspection: bool) -> Result<Shape, ShapeError> {
        if let Some(shape) = self.known.get(&(name, introspection)) {
            return Ok(*shape);
        }
        // An unknown fragment is validation's to report; it adds nothing here.
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else {
            return Ok(Shape::default());
        };
        if self.open.contains(&name) {
            return Err(ShapeError::FragmentCycle(name.to_owned()));
        }
        if self.open.len() >= MAX_FRAGMENT_CHAIN {
            return Err(ShapeError::FragmentChain);
        }
        // A fragment on an introspection type (`on __Type`) is introspection wherever it is.
        let on = definition.node.type_condition.node.on.node.as_str();
        let inside = introspection || on.starts_with("__");
        self.open.push(key.as_str());
        let shape = self.selection_set(&definition.node.selection_set, inside);
        self.open.pop();
        let shape = shape?;
        self.known.insert((key.as_str(), introspection), shape);
        Ok(shape)
    }
}

/// Measures every operation and fragment definition of a parsed document, fragments expanded.
pub fn measure(document: &ExecutableDocument) -> Result<Shape, ShapeError> {
    let mut measurer = Measurer {
        document,
        known: HashMap::new(),
        open: Vec::new(),
    };
    let mut total = Shape::default();
    for (_, operation) in document.operations.iter() {
        total = total.beside(measurer.selection_set(&operation.node.selection_set, false)?);
    }
    for name in document.fragments.keys() {
        total = total.beside(measurer.fragment(name.as_str(), false)?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Result<Shape, ShapeError> {
        measure(&async_graphql::parser::parse_query(query).unwrap())
    }

    /// `{ ...F0 } fragment F0 on Query { ...F1 ...F1 } … fragment F<n> on Query { __typename }`.
    fn fan_out(levels: usize) -> String {
        let mut query = String::from("{ ...F0 }");
        for level in 0..levels {
            let next = level + 1;
            query.push_str(&format!(
                " fragment F{level} on Query {{ ...F{next} ...F{next} }}"
            ));
        }
        query.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
        query
    }

    #[test]
    fn nesting_counts_brackets_but_not_those_in_strings_or_comments() {
        assert_eq!(nesting_depth("{ a { b } }"), 2);
        assert_eq!(nesting_depth("{ a(x: \"{{{{\") }"), 2);
        assert_eq!(nesting_depth("# {{{{{\n{ a }"), 1);
        assert_eq!(nesting_depth("{ a(x: \"\"\"{{{ \\\"\"\" {{ \"\"\") }"), 2);
        assert_eq!(nesting_depth(&"{a".repeat(10_000)), 10_000);
    }

    #[test]
    fn a_comment_ends_at_a_carriage_return_too() {
        // Without the carriage return ending the comment, the brackets after it would hide.
        assert_eq!(nesting_depth("# note\r{{{{ a }}}}"), 4);
        assert_eq!(nesting_depth("{ a(x: \"open\r{{{ b }}}"), 5);
    }

    #[test]
    fn fields_are_counted_with_fragments_expanded_once_per_spread() {
        let measured =
            shape("{ a: me { b: id } ...F ...F } fragment F on Query { c: me { id } }").unwrap();
        // Operation: me, id, and twice F's two fields; the definition of F: two more.
        assert_eq!(measured.fields, 2 + 2 * 2 + 2);
        // a and b, then c once per spread, then c in the definition.
        assert_eq!(measured.aliases, 2 + 2 + 1);
        assert_eq!(measured.depth, 2);
    }

    #[test]
    fn a_fragment_fan_out_is_counted_in_full_without_expanding_it() {
        let started = std::time::Instant::now();
        let measured = shape(&fan_out(22)).unwrap();
        assert!(measured.fields >= 1 << 22, "{measured:?}");
        // Thousands of levels would overflow any count; it saturates instead.
        let huge = shape(&fan_out(30)).unwrap();
        assert!(huge.fields >= 1 << 30);
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
    }

    #[test]
    fn depth_follows_fragments_and_inline_fragments() {
        let measured = shape(
            "{ me { ... on Volunteer { area { ...A } } } } fragment A on Area { children { id } }",
        )
        .unwrap();
        assert_eq!(measured.depth, 4);
    }

    #[test]
    fn introspection_is_measured_apart_from_application_fields() {
        let measured = shape(
            "{ me { id } __schema { types { fields { type { ofType { ofType { name } } } } } } }",
        )
        .unwrap();
        assert_eq!(measured.depth, 2);
        assert_eq!(measured.introspection_depth, 7);
        assert_eq!(measured.introspection_lists, 2);
        let through_fragment =
            shape("{ __type(name: \"Query\") { ...T } } fragment T on __Type { fields { args { name } } }")
                .unwrap();
        assert_eq!(through_fragment.introspection_lists, 2);
        assert_eq!(through_fragment.introspection_depth, 4);
    }

    #[test]
    fn cycles_and_long_fragment_chains_are_refused() {
        assert_eq!(
            shape("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Err(ShapeError::FragmentCycle("A".to_owned()))
        );
        let mut chain = String::from("{ ...F0 }");
        for level in 0..40 {
            chain.push_str(&format!(
                " fragment F{level} on Query {{ ...F{} }}",
                level + 1
            ));
        }
        chain.push_str(" fragment F40 on Query { __typename }");
        assert_eq!(shape(&chain), Err(ShapeError::FragmentChain));
    }
}
