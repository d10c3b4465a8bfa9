//! English and Korean strings for everything a user reads, from `assets/locales/{en,ko}.toml`.
//!
//! Keys are dotted paths (`parse.unknown_verb`); `{name}` placeholders are filled by [`format`].

use std::collections::HashMap;
use std::sync::OnceLock;

const EN_SOURCE: &str = include_str!("../assets/locales/en.toml");
const KO_SOURCE: &str = include_str!("../assets/locales/ko.toml");

/// The language of every label, help text and explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    /// Parses `en` or `ko` (also `ko_KR.UTF-8` and the like).
    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        let lower = code.trim().to_ascii_lowercase();
        if lower.starts_with("ko") {
            Some(Self::Ko)
        } else if lower.starts_with("en") || lower == "c" || lower == "posix" {
            Some(Self::En)
        } else {
            None
        }
    }

    /// The language the environment asks for (`LC_ALL`, `LC_MESSAGES`, `LANG`), English otherwise.
    #[must_use]
    pub fn from_env() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|value| !value.is_empty())
            .and_then(|value| Self::parse(&value))
            .unwrap_or_default()
    }

    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
        }
    }
}

type Table = HashMap<String, String>;

fn flatten(prefix: &str, value: &toml::Value, out: &mut Table) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        toml::Value::String(text) => {
            out.insert(prefix.to_owned(), text.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// Parses one locale file into dotted keys. Public so tests can compare the two tables.
pub fn parse_table(source: &str) -> Result<Table, toml::de::Error> {
    let value: toml::Value = toml::from_str(source)?;
    let mut table = Table::new();
    flatten("", &value, &mut table);
    Ok(table)
}

fn table(lang: Lang) -> &'static Table {
    static EN: OnceLock<Table> = OnceLock::new();
    static KO: OnceLock<Table> = OnceLock::new();
    let (cell, source) = match lang {
        Lang::En => (&EN, EN_SOURCE),
        Lang::Ko => (&KO, KO_SOURCE),
    };
    cell.get_or_init(|| parse_table(source).expect("bundled locale file is valid TOML"))
}

/// All keys of a language, for completeness tests.
#[must_use]
pub fn keys(lang: Lang) -> Vec<&'static str> {
    let mut keys: Vec<&str> = table(lang).keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// The string for `key`, falling back to English, then to the key itself (so a missing
/// string is visible, never a crash).
#[must_use]
pub fn get(lang: Lang, key: &str) -> &'static str {
    table(lang)
        .get(key)
        .or_else(|| table(Lang::En).get(key))
        .map_or_else(|| leak_key(key), String::as_str)
}

/// Whether a key exists in the given language (no fallback).
#[must_use]
pub fn has(lang: Lang, key: &str) -> bool {
    table(lang).contains_key(key)
}

fn leak_key(key: &str) -> &'static str {
    static MISSING: OnceLock<std::sync::Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut missing = MISSING
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    missing
        .entry(key.to_owned())
        .or_insert_with(|| Box::leak(key.to_owned().into_boxed_str()))
}

/// The string for `key` with `{name}` placeholders replaced.
#[must_use]
pub fn format(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    fill(get(lang, key), args)
}

/// Like [`format`], for a message about `count` things: when `count` is 1 and the language has a
/// singular form under `one.KEY` (English: "1 socket's owner", not "1 sockets' owners"), that one.
/// `count` fills the `{count}` placeholder (before `args`, which may hold user text).
#[must_use]
pub fn format_count(lang: Lang, key: &str, count: u64, args: &[(&str, &str)]) -> String {
    let singular = format!("one.{key}");
    let template = if count == 1 && has(lang, &singular) {
        get(lang, &singular)
    } else {
        get(lang, key)
    };
    let count = count.to_string();
    let mut all = vec![("count", count.as_str())];
    all.extend_from_slice(args);
    fill(template, &all)
}

/// Replaces `{name}` placeholders in `template`.
#[must_use]
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}
