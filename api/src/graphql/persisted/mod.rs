//! Persisted documents: a request may name its document by SHA-256
//! (`extensions.persistedQuery: { version: 1, sha256Hash }`, Apollo's protocol) instead of
//! sending it, so phones send a hash, not a document of kilobytes.
//!
//! - **Automatic** (the default): an unknown hash is answered `PERSISTED_QUERY_NOT_FOUND`; the
//!   client sends hash and document together, which registers the document (after checking that
//!   the hash is its SHA-256 and that it is within the document limits), and from then on the
//!   hash alone runs it, on every node sharing Redis ([`store::DocumentStore`]).
//! - **Trusted** (`FEIHONG_TRUSTED_DOCUMENTS`): only the manifest's documents run, named by
//!   hash or sent in full; an unknown hash is `PERSISTED_QUERY_NOT_FOUND`, any other document
//!   `PERSISTED_QUERY_NOT_ALLOWED`, and nothing is registered.
//!
//! [`PersistedDocuments`] runs before [`super::limits::DocumentLimits`] (it is registered
//! before it), so every limit applies to the document a hash stands for.

mod store;

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::{Request, ServerError, ServerResult, Value};
use feihong_domain::redis_store::RedisStore;
use feihong_domain::text::Text;

use super::error::code;
use super::limits::{checked_document, refusal_coded as refusal};
use crate::config::{PersistedConfig, TrustedDocuments, document_hash, is_sha256_hex};
pub use store::DocumentStore;

/// Where the documents that hashes stand for come from.
enum Documents {
    Automatic(DocumentStore),
    Trusted(Arc<TrustedDocuments>),
}

/// The extension resolving `extensions.persistedQuery`, and in trusted mode refusing any
/// document not in the manifest. Register it before `DocumentLimits`.
#[derive(Clone)]
pub struct PersistedDocuments(Arc<Documents>);

impl PersistedDocuments {
    pub fn new(config: &PersistedConfig, redis: Option<Arc<RedisStore>>) -> Self {
        Self(Arc::new(match &config.trusted {
            Some(trusted) => Documents::Trusted(trusted.clone()),
            None => Documents::Automatic(DocumentStore::new(redis, config.ttl)),
        }))
    }
}

impl ExtensionFactory for PersistedDocuments {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PersistedDocuments {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let hash = requested_hash(&request)?;
        let sent = !request.query.trim().is_empty();
        if let Some(hash) = &hash
            && sent
            && document_hash(&request.query) != *hash
        {
            return Err(refusal(
                code::BAD_USER_INPUT,
                Text::new("persisted-query-hash-mismatch"),
            ));
        }
        match &*self.0 {
            Documents::Automatic(store) => automatic(store, hash, &mut request).await?,
            Documents::Trusted(trusted) => only_trusted(trusted, hash, &mut request)?,
        }
        next.run(ctx, request).await
    }
}

/// A hash alone is looked up; a hash with its document registers the document.
async fn automatic(
    store: &DocumentStore,
    hash: Option<String>,
    request: &mut Request,
) -> ServerResult<()> {
    let Some(hash) = hash else {
        return Ok(());
    };
    if request.query.trim().is_empty() {
        request.query = store.get(&hash).await.ok_or_else(not_found)?.to_string();
    } else if checked_document(&request.query).is_ok() {
        // A document outside the limits is never kept: `DocumentLimits` refuses it next.
        store.put(&hash, &request.query).await;
    }
    Ok(())
}

/// Only the manifest's documents, by hash or in full.
fn only_trusted(
    trusted: &TrustedDocuments,
    hash: Option<String>,
    request: &mut Request,
) -> ServerResult<()> {
    if request.query.trim().is_empty() {
        let Some(hash) = hash else {
            // No document at all: the parser says so.
            return Ok(());
        };
        request.query = trusted.get(&hash).ok_or_else(not_found)?.to_string();
        return Ok(());
    }
    let hash = hash.unwrap_or_else(|| document_hash(&request.query));
    if trusted.get(&hash).is_none() {
        return Err(refusal(
            code::PERSISTED_QUERY_NOT_ALLOWED,
            Text::new("persisted-query-not-allowed"),
        ));
    }
    Ok(())
}

/// `extensions.persistedQuery.sha256Hash` in lowercase, when the request names one.
fn requested_hash(request: &Request) -> ServerResult<Option<String>> {
    let Some(persisted) = request.extensions.0.get("persistedQuery") else {
        return Ok(None);
    };
    let malformed = || refusal(code::BAD_USER_INPUT, Text::new("persisted-query-malformed"));
    let Value::Object(fields) = persisted else {
        return Err(malformed());
    };
    let version_one =
        matches!(fields.get("version"), Some(Value::Number(n)) if n.as_u64() == Some(1));
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) if version_one && is_sha256_hex(hash) => {
            Ok(Some(hash.to_ascii_lowercase()))
        }
        _ => Err(malformed()),
    }
}

/// What Apollo clients answer by sending the document with its hash.
fn not_found() -> ServerError {
    refusal(
        code::PERSISTED_QUERY_NOT_FOUND,
        Text::new("persisted-query-not-found"),
    )
}
