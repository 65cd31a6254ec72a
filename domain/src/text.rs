//! What people read: every error message and notification text, by key, from the one catalogue
//! (`domain/locales/<language>/main.ftl`, Fluent syntax, compiled into the binary). Simplified
//! Chinese is the default; English is offered to those who ask for it. Code names a [`Text`]
//! (a key and its arguments) and never the words; the API renders it in the reader's
//! [`Locale`] (errors when answered, notifications when read or pushed), so the same
//! notification reads in Chinese on one phone and in English on another.

use std::collections::HashMap;
use std::fmt;

use fluent_templates::LanguageIdentifier;
use fluent_templates::fluent_bundle::FluentValue;
use serde::{Deserialize, Serialize};

fluent_templates::static_loader! {
    static CATALOGUE = {
        locales: "./locales",
        fallback_language: "zh-CN",
        // No Unicode isolation marks around arguments: the texts go to apps and SMS-like
        // pushes, where the invisible marks would only be noise.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages texts are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Locale {
    /// Simplified Chinese: the default.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// The stored and spoken tag (`zh-CN`, `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// The locale a language tag names (`en`, `en-US`, `zh`, `zh-Hans-CN`…; any case), if any.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Locale::ZhCn),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The first locale of `tags` (most preferred first) that texts are written in; the default
    /// when none is.
    pub fn first_of<'a>(tags: impl IntoIterator<Item = &'a str>) -> Locale {
        tags.into_iter()
            .find_map(Locale::from_tag)
            .unwrap_or_default()
    }

    fn language(self) -> LanguageIdentifier {
        match self.tag().parse() {
            Ok(language) => language,
            Err(_) => unreachable!("the tags above are valid language identifiers"),
        }
    }
}

/// A text by key, with its arguments: what an error or a notification says, in no language yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(String, String)>,
}

impl Text {
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            args: Vec::new(),
        }
    }

    /// The text with one more argument (`{ $name }` in the catalogue).
    pub fn arg(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.args.push((name.to_owned(), value.to_string()));
        self
    }

    /// The text in `locale`. A key missing from the catalogue (a test guards against it) reads
    /// as the key itself rather than failing.
    pub fn render(&self, locale: Locale) -> String {
        let args: HashMap<String, FluentValue<'_>> = self
            .args
            .iter()
            .map(|(name, value)| (name.clone(), FluentValue::from(value.as_str())))
            .collect();
        CATALOGUE
            .lookup_single_language(&locale.language(), &self.key, Some(&args))
            .unwrap_or_else(|_| self.key.clone())
    }

    /// The arguments as a JSON object (stored beside the key of a notification).
    pub fn args_json(&self) -> String {
        let object: serde_json::Map<String, serde_json::Value> = self
            .args
            .iter()
            .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
            .collect();
        serde_json::Value::Object(object).to_string()
    }

    /// A text stored as its key and [`Self::args_json`].
    pub fn from_stored(key: &str, args: Option<&str>) -> Self {
        let mut text = Self::new(key);
        if let Some(serde_json::Value::Object(object)) =
            args.and_then(|args| serde_json::from_str(args).ok())
        {
            for (name, value) in object {
                if let serde_json::Value::String(value) = value {
                    text.args.push((name, value));
                }
            }
        }
        text
    }
}

impl From<&str> for Text {
    fn from(key: &str) -> Self {
        Self::new(key)
    }
}

/// For logs: the key and its arguments, in no language.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)?;
        for (name, value) in &self.args {
            write!(f, " {name}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
