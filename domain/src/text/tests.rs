use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::*;

const EN: &str = include_str!("../../locales/en/main.ftl");
const ZH: &str = include_str!("../../locales/zh-CN/main.ftl");

/// The catalogue's entries: key → the `$variables` its text uses.
fn entries(catalogue: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut entries = BTreeMap::new();
    for line in catalogue.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line.split_once(" = ").expect("one `key = text` per line");
        let variables = value
            .split('$')
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>()
            })
            .collect();
        assert!(
            entries.insert(key.trim().to_owned(), variables).is_none(),
            "{key} twice"
        );
    }
    entries
}

#[test]
fn both_languages_have_the_same_keys_and_the_same_arguments() {
    let (en, zh) = (entries(EN), entries(ZH));
    let only_en: Vec<_> = en.keys().filter(|key| !zh.contains_key(*key)).collect();
    let only_zh: Vec<_> = zh.keys().filter(|key| !en.contains_key(*key)).collect();
    assert!(only_en.is_empty(), "missing in zh-CN: {only_en:?}");
    assert!(only_zh.is_empty(), "missing in en: {only_zh:?}");
    for (key, variables) in &en {
        assert_eq!(variables, &zh[key], "{key} takes other arguments in zh-CN");
    }
}

#[test]
fn every_text_renders_in_both_languages_with_its_arguments() {
    for (key, variables) in entries(EN) {
        let mut text = Text::new(&key);
        for variable in &variables {
            text = text.arg(variable, "«x»");
        }
        for locale in Locale::ALL {
            let rendered = text.render(locale);
            assert_ne!(rendered, key, "{key} in {locale:?}");
            assert!(!rendered.contains('{'), "{key} in {locale:?}: {rendered}");
            assert!(
                rendered.contains("«x»") || variables.is_empty(),
                "{key}: {rendered}"
            );
        }
    }
}

#[test]
fn chinese_is_the_default_and_english_is_offered() {
    let text = Text::new("already-checked-in");
    assert_eq!(text.render(Locale::default()), text.render(Locale::ZhCn));
    assert_eq!(text.render(Locale::En), "already checked in");
    assert_ne!(text.render(Locale::ZhCn), "already checked in");
    assert_eq!(Locale::first_of(["fr", "en-US", "zh"]), Locale::En);
    assert_eq!(Locale::first_of(["zh-Hant-TW", "en"]), Locale::ZhCn);
    assert_eq!(Locale::first_of(["fr", "de"]), Locale::ZhCn);
    assert_eq!(Locale::first_of([]), Locale::ZhCn);
}

#[test]
fn a_stored_text_reads_back_the_same() {
    let text = Text::new("event-cancelled-notice")
        .arg("title", "巡逻 \"夜\"")
        .arg("reason", "台风");
    let stored = Text::from_stored(&text.key, Some(&text.args_json()));
    for locale in Locale::ALL {
        assert_eq!(stored.render(locale), text.render(locale));
    }
    assert!(
        text.render(Locale::En)
            .contains("巡逻 \"夜\" was cancelled: 台风")
    );
    assert_eq!(Text::from_stored("k", Some("not json")), Text::new("k"));
}

/// Every key the code names where a text is made (an error, a `Text::new`) is in the catalogue.
#[test]
fn every_key_named_in_the_code_is_in_the_catalogue() {
    let known = entries(EN);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missing = Vec::new();
    for dir in ["domain/src", "api/src"] {
        for (path, source) in sources(&root.join(dir)) {
            for key in named_keys(&source) {
                if !known.contains_key(&key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "not in the catalogue: {missing:#?}");
}

fn sources(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push((
                path.clone(),
                std::fs::read_to_string(&path).expect("source"),
            ));
        }
    }
    found
}

/// The literal keys after the places texts are made: the last string literal inside the call's
/// parentheses, when it looks like a key (`lower-case-words`).
fn named_keys(source: &str) -> Vec<String> {
    const MAKERS: [&str; 5] = [
        "Error::invalid(",
        "Error::conflict(",
        "Error::forbidden(",
        "GqlError::bad_input(",
        "Text::new(",
    ];
    let mut keys = Vec::new();
    for maker in MAKERS {
        for (at, _) in source.match_indices(maker) {
            let call = inside_parentheses(&source[at + maker.len()..]);
            let literal = call.rsplit('"').nth(1);
            if let Some(key) = literal
                && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && key.contains('-')
            {
                keys.push(key.to_owned());
            }
        }
    }
    keys
}

/// The text up to the parenthesis that closes the one just opened.
fn inside_parentheses(rest: &str) -> &str {
    let mut depth = 1;
    for (at, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..at];
                }
            }
            _ => {}
        }
    }
    rest
}
