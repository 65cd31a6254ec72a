//! The language a request is answered in: Simplified Chinese unless the client prefers English,
//! by `Accept-Language` on HTTP (quality order respected) or by `locale` in the WebSocket's
//! `connection_init` payload. [`scope`] makes it the [`LOCALE`] of the handler's task (like the
//! request id), so every error message and notification text rendered while serving the
//! request, wherever that happens, is in it.

use std::cell::Cell;

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use feihong_domain::text::Locale;

tokio::task_local! {
    /// The language of the request or connection being served. A cell, because a WebSocket
    /// learns its language from `connection_init`, after the connection's task began.
    pub static LOCALE: Cell<Locale>;
}

/// The language of the request being served; the default outside one.
pub fn current_locale() -> Locale {
    LOCALE.try_with(Cell::get).unwrap_or_default()
}

/// Sets the language of the connection being served (a WebSocket's `connection_init`).
pub fn set_current_locale(locale: Locale) {
    // Outside a scope there is nothing to set.
    let _ = LOCALE.try_with(|cell| cell.set(locale));
}

/// The language an `Accept-Language` header prefers among those texts are written in: the
/// languages in quality order (`q=0` means "not this one"), the first one we write in.
pub fn from_accept_language(headers: &HeaderMap) -> Locale {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let mut languages = accept_language::parse_with_quality(&values.join(","));
    languages.retain(|(_, quality)| *quality > 0.0);
    Locale::first_of(languages.iter().map(|(tag, _)| tag.as_str()))
}

/// The language a WebSocket's `connection_init` payload asks for (`{"locale": "en"}`), if it
/// names one.
pub fn from_init_payload(payload: &serde_json::Value) -> Option<Locale> {
    payload
        .get("locale")
        .and_then(serde_json::Value::as_str)
        .map(|tag| Locale::first_of([tag]))
}

/// Middleware (`from_fn`): runs the rest of the request in the language it asked for.
pub async fn scope(request: Request, next: Next) -> Response {
    let locale = from_accept_language(request.headers());
    LOCALE.scope(Cell::new(locale), next.run(request)).await
}

/// Runs `f` as if serving a request in `locale` (for tests and for work done outside a request).
pub fn in_locale<T>(locale: Locale, f: impl FnOnce() -> T) -> T {
    LOCALE.sync_scope(Cell::new(locale), f)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn asking(value: &'static str) -> Locale {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(value));
        from_accept_language(&headers)
    }

    #[test]
    fn english_only_for_those_who_prefer_it() {
        assert_eq!(asking("en-US,en;q=0.9"), Locale::En);
        assert_eq!(asking("zh-CN,zh;q=0.9,en;q=0.8"), Locale::ZhCn);
        assert_eq!(asking("zh;q=0.5, en;q=0.9"), Locale::En);
        assert_eq!(asking("fr-FR, en;q=0.5"), Locale::En);
        assert_eq!(asking("en;q=0, fr"), Locale::ZhCn);
        assert_eq!(asking("fr"), Locale::ZhCn);
        assert_eq!(from_accept_language(&HeaderMap::new()), Locale::ZhCn);
    }

    #[test]
    fn a_connection_names_its_language_in_its_init_payload() {
        let en = serde_json::json!({ "locale": "en-GB", "accessToken": "x" });
        assert_eq!(from_init_payload(&en), Some(Locale::En));
        let other = serde_json::json!({ "locale": "fr" });
        assert_eq!(from_init_payload(&other), Some(Locale::ZhCn));
        assert_eq!(from_init_payload(&serde_json::json!({})), None);
        assert_eq!(from_init_payload(&serde_json::json!({ "locale": 7 })), None);
    }

    #[test]
    fn the_language_is_the_scopes() {
        assert_eq!(current_locale(), Locale::ZhCn);
        assert_eq!(in_locale(Locale::En, current_locale), Locale::En);
        in_locale(Locale::ZhCn, || {
            set_current_locale(Locale::En);
            assert_eq!(current_locale(), Locale::En);
        });
    }
}
