//! A small GraphQL-over-HTTP client for tests, with assertions that print the whole response.

use serde_json::{Value, json};

/// A GraphQL response body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl Response {
    /// `data`, after asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "expected success, got {}",
            serde_json::to_string_pretty(&self.body).unwrap_or_default()
        );
        &self.body["data"]
    }

    /// The first error's `extensions.code`.
    pub fn error_code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {}", self.body))
    }

    pub fn error_message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }

    pub fn error_field(&self) -> &str {
        self.body["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or("")
    }

    /// Asserts the request failed with `code` (and, when given, that the error names `field`).
    pub fn expect_error(&self, code: &str, field: Option<&str>) -> &Self {
        assert_eq!(self.error_code(), code, "response: {}", self.body);
        if let Some(field) = field {
            assert_eq!(self.error_field(), field, "response: {}", self.body);
        }
        self
    }
}

/// The tokens and identity of a signed-in test volunteer.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub volunteer_id: String,
    pub phone: String,
}

impl Session {
    pub fn from_payload(payload: &Value, phone: &str) -> Self {
        Self {
            access_token: payload["accessToken"]
                .as_str()
                .expect("accessToken")
                .to_owned(),
            refresh_token: payload["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_owned(),
            volunteer_id: payload["volunteer"]["id"]
                .as_str()
                .expect("volunteer.id")
                .to_owned(),
            phone: phone.to_owned(),
        }
    }
}

pub const REGISTER: &str = "mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken refreshToken accessTokenExpiresAt
    volunteer { id phone displayName area { code } }
  }
}";

pub fn register_variables(phone: &str, password: &str, name: &str, area_id: &str) -> Value {
    json!({ "input": { "phone": phone, "password": password, "displayName": name, "areaId": area_id } })
}
