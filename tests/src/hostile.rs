//! Hostile GraphQL documents: small texts that would cost a server dearly if it expanded,
//! validated or ran them. Each comes with the words its refusal must contain.

/// A document and what its refusal says.
pub struct Hostile {
    pub name: &'static str,
    pub query: String,
    pub refusal: &'static str,
}

/// `{ ...F0 } fragment F0 on Query { ...F1 ...F1 } … fragment F<levels> on Query { … }`: 2^levels
/// copies of the leaf in under a kilobyte.
pub fn fragment_fan_out(levels: usize, on: &str, leaf: &str) -> String {
    let mut query = String::from("{ ...F0 }");
    for level in 0..levels {
        let next = level + 1;
        query.push_str(&format!(
            " fragment F{level} on {on} {{ ...F{next} ...F{next} }}"
        ));
    }
    query.push_str(&format!(" fragment F{levels} on {on} {{ {leaf} }}"));
    query
}

/// The fan-out as a subscription, for `/graphql/ws`.
pub fn subscription_fan_out(levels: usize) -> String {
    let mut query = String::from("subscription { ...F0 }");
    for level in 0..levels {
        let next = level + 1;
        query.push_str(&format!(
            " fragment F{level} on Subscription {{ ...F{next} ...F{next} }}"
        ));
    }
    query.push_str(&format!(
        " fragment F{levels} on Subscription {{ __typename }}"
    ));
    query
}

/// The documents every node must refuse at once, anonymous.
pub fn documents() -> Vec<Hostile> {
    let aliases: String = (0..40).map(|n| format!(" a{n}: __typename")).collect();
    let mut chain = String::from("{ ...C0 }");
    for level in 0..40 {
        chain.push_str(&format!(
            " fragment C{level} on Query {{ ...C{} }}",
            level + 1
        ));
    }
    chain.push_str(" fragment C40 on Query { __typename }");
    let mut introspection_lists = String::from(
        "{ __schema { types { ...T } } } fragment T on __Type { fields { type { fields { type { fields { name } } } } } }",
    );
    introspection_lists.push(' ');
    let operations: String = (0..2_100)
        .map(|n| format!("query Q{n} {{ __typename }} "))
        .collect();
    vec![
        Hostile {
            name: "fragment fan-out, 23 levels of __typename",
            query: fragment_fan_out(22, "Query", "__typename"),
            refusal: "fields",
        },
        Hostile {
            name: "fragment fan-out, 30 levels",
            query: fragment_fan_out(30, "Query", "__typename"),
            refusal: "fields",
        },
        Hostile {
            name: "fragment fan-out through a list field",
            query: fragment_fan_out(22, "Query", "areas { children { code } }"),
            refusal: "fields",
        },
        Hostile {
            name: "fragment fan-out of introspection",
            query: fragment_fan_out(22, "Query", "__schema { queryType { name } }"),
            refusal: "fields",
        },
        Hostile {
            name: "aliases multiplied by fragment spreads",
            query: format!("{{ ...A ...A ...A ...A ...A }} fragment A on Query {{{aliases} }}"),
            refusal: "aliases",
        },
        Hostile {
            name: "five thousand fields side by side",
            query: format!("{{ {} }}", "__typename ".repeat(5_000)),
            refusal: "fields",
        },
        Hostile {
            name: "two thousand one hundred operations",
            query: operations,
            refusal: "fields",
        },
        Hostile {
            name: "a forty-deep chain of fragments",
            query: chain,
            refusal: "fragments",
        },
        Hostile {
            name: "a fragment that spreads itself",
            query: "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }".to_owned(),
            refusal: "spreads itself",
        },
        Hostile {
            name: "introspection nesting four lists",
            query: introspection_lists,
            refusal: "lists",
        },
        Hostile {
            name: "ten thousand brackets hidden after a comment ended by a carriage return",
            query: format!("#\r{}{}", "{a".repeat(10_000), "}".repeat(10_000)),
            refusal: "nests",
        },
        Hostile {
            name: "fields nested thirteen deep",
            query: format!(
                "{{ areas {{ {}code {}}}",
                "parent { ".repeat(11),
                "} ".repeat(12)
            ),
            refusal: "deep",
        },
    ]
}

/// The query graphql-js's `getIntrospectionQuery({ descriptions: true, specifiedByUrl: true,
/// directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true })` sends
/// (GraphiQL's docs pane, Apollo codegen), exactly.
pub const STANDARD_INTROSPECTION: &str = r"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types {
          ...FullType
        }
        directives {
          name
          description
          isRepeatable
          locations
          args(includeDeprecated: true) {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      specifiedByURL
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields(includeDeprecated: true) {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      isDeprecated
      deprecationReason
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                    ofType {
                      kind
                      name
                      ofType {
                        kind
                        name
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  ";

/// Resident memory of this process, in bytes (Linux).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
