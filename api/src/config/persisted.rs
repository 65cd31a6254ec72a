//! Persisted documents (`docs/security.md`, "Persisted and trusted documents"): how long an
//! automatically persisted document is kept, and the manifest of trusted documents, loaded and
//! checked once at start.
//!
//! A manifest is JSON in either shape the client tool chains produce:
//! - Relay's persisted queries: `{ "<sha256 hex>": "<document>", … }`;
//! - Apollo's persisted-query manifest: `{ "format": "apollo-persisted-query-manifest",
//!   "version": 1, "operations": [{ "id": "<sha256 hex>", "body": "<document>", … }] }`.
//!
//! Every hash must be the SHA-256 of its document: a manifest that says otherwise stops the
//! server, so a typo never silently refuses (or admits) a document.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::values::count;
use super::{ConfigError, problem};

pub const TRUSTED_DOCUMENTS_ENV: &str = "FEIHONG_TRUSTED_DOCUMENTS";
/// Days an automatically persisted document stays in Redis after it was registered.
pub const DEFAULT_PERSISTED_QUERY_DAYS: u32 = 7;

#[derive(Debug, Clone, Args)]
pub struct PersistedArgs {
    /// A JSON manifest of the only documents this server runs (Relay's `{hash: document}` or
    /// Apollo's persisted-query manifest); unset: any document, with automatic persisted queries.
    #[arg(long, env = TRUSTED_DOCUMENTS_ENV, global = true)]
    pub trusted_documents: Option<PathBuf>,
    /// Days an automatically persisted document stays in Redis after it was registered.
    #[arg(long, env = "FEIHONG_PERSISTED_QUERY_DAYS", global = true,
        default_value_t = DEFAULT_PERSISTED_QUERY_DAYS, value_parser = count::<u32>(1, 365))]
    pub persisted_query_days: u32,
}

impl PersistedArgs {
    pub fn into_config(self) -> Result<PersistedConfig, ConfigError> {
        let trusted = match self.trusted_documents {
            Some(path) if !path.as_os_str().is_empty() => Some(Arc::new(
                TrustedDocuments::load(&path)
                    .map_err(|message| problem(TRUSTED_DOCUMENTS_ENV, message))?,
            )),
            _ => None,
        };
        Ok(PersistedConfig {
            trusted,
            ttl: Duration::from_secs(u64::from(self.persisted_query_days) * 86_400),
        })
    }
}

#[derive(Debug, Clone)]
pub struct PersistedConfig {
    /// When set, only these documents run, and automatic registration is off.
    pub trusted: Option<Arc<TrustedDocuments>>,
    /// How long Redis keeps an automatically persisted document.
    pub ttl: Duration,
}

impl Default for PersistedConfig {
    fn default() -> Self {
        Self {
            trusted: None,
            ttl: Duration::from_secs(u64::from(DEFAULT_PERSISTED_QUERY_DAYS) * 86_400),
        }
    }
}

/// The SHA-256 of a document as lowercase hex: its name in both protocols.
pub fn document_hash(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

/// Whether `hash` looks like a SHA-256 in hex (64 hex digits, any case).
pub fn is_sha256_hex(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The documents of a manifest, by their lowercase SHA-256.
pub struct TrustedDocuments {
    documents: HashMap<String, Arc<str>>,
}

impl std::fmt::Debug for TrustedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedDocuments({} documents)", self.documents.len())
    }
}

impl TrustedDocuments {
    /// Reads and checks a manifest; the error is the one line start-up prints after the name of
    /// the setting.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Self::parse(&text).map_err(|message| format!("{}: {message}", path.display()))
    }

    /// Checks a manifest's text: either shape, every hash the SHA-256 of its document.
    pub fn parse(text: &str) -> Result<Self, String> {
        let json: Value =
            serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
        let Value::Object(object) = json else {
            return Err("expected a JSON object".to_owned());
        };
        let pairs = if object.contains_key("format") || object.contains_key("operations") {
            apollo_operations(&object)?
        } else {
            object
                .into_iter()
                .map(|(hash, document)| match document {
                    Value::String(document) => Ok((hash, document)),
                    _ => Err(format!("the entry {hash} is not a document (a string)")),
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        if pairs.is_empty() {
            return Err("the manifest lists no documents".to_owned());
        }
        let mut documents = HashMap::with_capacity(pairs.len());
        for (hash, document) in pairs {
            let hash = hash.to_ascii_lowercase();
            if !is_sha256_hex(&hash) {
                return Err(format!("{hash} is not a SHA-256 in hex"));
            }
            let actual = document_hash(&document);
            if actual != hash {
                return Err(format!(
                    "the document listed as {hash} hashes to {actual}: the manifest is wrong"
                ));
            }
            documents.insert(hash, Arc::from(document));
        }
        Ok(Self { documents })
    }

    /// The document of `hash` (lowercase hex), when listed.
    pub fn get(&self, hash: &str) -> Option<&Arc<str>> {
        self.documents.get(hash)
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

/// The `(id, body)` pairs of an Apollo persisted-query manifest.
fn apollo_operations(
    object: &serde_json::Map<String, Value>,
) -> Result<Vec<(String, String)>, String> {
    if object.get("format").and_then(Value::as_str) != Some("apollo-persisted-query-manifest") {
        return Err("format must be \"apollo-persisted-query-manifest\"".to_owned());
    }
    if object.get("version").and_then(Value::as_u64) != Some(1) {
        return Err("only version 1 of the Apollo manifest is understood".to_owned());
    }
    let Some(operations) = object.get("operations").and_then(Value::as_array) else {
        return Err("operations must be a list".to_owned());
    };
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            let field = |name: &str| operation.get(name).and_then(Value::as_str);
            match (field("id"), field("body")) {
                (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                _ => Err(format!("operation {index} needs an \"id\" and a \"body\"")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DOCUMENT: &str = "{ __typename }";

    #[test]
    fn both_manifest_shapes_are_read() {
        let hash = document_hash(DOCUMENT);
        let relay = TrustedDocuments::parse(&json!({ hash.clone(): DOCUMENT }).to_string())
            .expect("a Relay manifest");
        assert_eq!(relay.get(&hash).map(|d| &**d), Some(DOCUMENT));
        let apollo = json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash.to_uppercase(), "body": DOCUMENT, "name": "T", "type": "query" }]
        });
        let apollo = TrustedDocuments::parse(&apollo.to_string()).expect("an Apollo manifest");
        assert_eq!(apollo.len(), 1);
        assert_eq!(apollo.get(&hash).map(|d| &**d), Some(DOCUMENT));
    }

    #[test]
    fn a_hash_that_is_not_its_documents_stops_start_up() {
        let wrong = document_hash("{ me { id } }");
        let error =
            TrustedDocuments::parse(&json!({ wrong.clone(): DOCUMENT }).to_string()).unwrap_err();
        assert!(
            error.contains(&wrong) && error.contains("hashes to"),
            "{error}"
        );
    }

    #[test]
    fn malformed_manifests_are_refused_each_with_its_reason() {
        for (text, reason) in [
            ("{", "not JSON"),
            ("[]", "JSON object"),
            ("{}", "no documents"),
            (r#"{"abc": "{ a }"}"#, "not a SHA-256"),
            (r#"{"abc": 1}"#, "not a document"),
            (
                r#"{"format": "other", "version": 1, "operations": []}"#,
                "format",
            ),
            (
                r#"{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}"#,
                "version",
            ),
            (
                r#"{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x"}]}"#,
                "operation 0",
            ),
        ] {
            let error = TrustedDocuments::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn an_unreadable_manifest_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.json");
        let error = TrustedDocuments::load(&path).unwrap_err();
        assert!(error.contains("cannot read") && error.contains("missing.json"));
    }

    #[test]
    fn a_bad_manifest_is_one_line_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("documents.json");
        let wrong = document_hash("{ me { id } }");
        std::fs::write(&path, json!({ wrong: DOCUMENT }).to_string()).unwrap();
        let args = PersistedArgs {
            trusted_documents: Some(path),
            persisted_query_days: DEFAULT_PERSISTED_QUERY_DAYS,
        };
        let error = args.into_config().unwrap_err();
        assert_eq!(error.name, TRUSTED_DOCUMENTS_ENV);
        let line = error.to_string();
        assert!(line.starts_with("FEIHONG_TRUSTED_DOCUMENTS: ") && !line.contains('\n'));
        let unset = PersistedArgs {
            trusted_documents: Some(PathBuf::new()),
            persisted_query_days: 1,
        };
        let config = unset.into_config().unwrap();
        assert!(config.trusted.is_none());
        assert_eq!(config.ttl, Duration::from_secs(86_400));
    }
}
