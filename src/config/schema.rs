//! The config file's shape, as serde reads it: every table refuses keys it does not know, and
//! every value that is checked afterwards keeps its span, so a mistake can be pointed at.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub lang: Option<Spanned<String>>,
    pub theme: Option<Spanned<String>>,
    pub refresh: Option<Spanned<i64>>,
    pub mouse: Option<bool>,
    pub net: Option<Spanned<String>>,
    pub bind: Option<Spanned<String>>,
    /// `[colors.THEME] ITEM = { fg = "...", bg = "..." }`.
    #[serde(default)]
    pub colors: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, ColorOverride>>,
    #[serde(default)]
    pub keys: KeysFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColorOverride {
    pub fg: Option<Spanned<String>>,
    pub bg: Option<Spanned<String>>,
}

/// `[keys.lab]` and `[keys.watch]`: `ACTION = "KEY"`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    #[serde(default)]
    pub lab: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub watch: BTreeMap<Spanned<String>, Spanned<String>>,
}
