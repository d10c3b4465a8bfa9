//! Reading and checking a config file: TOML through serde (unknown keys refused), then every
//! value checked, each mistake pointed at by its span.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ratatui::style::Color;
use toml::Spanned;

use super::error::ConfigError;
use super::keys::{BindableScreen, KeyBindings, parse_chord};
use super::location::default_path;
use super::schema::{ColorOverride, ConfigFile};
use crate::cli::NetArg;
use crate::settings::ThemeName;
use crate::text::{self, Lang};
use crate::ui::theme::{ITEMS, ItemColor};

/// What a config file asks for; `None` leaves the built-in default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file read, if one was there.
    pub file: Option<PathBuf>,
    pub lang: Option<Lang>,
    pub theme: Option<ThemeName>,
    /// The lab's kernel probes per second (1-60).
    pub refresh: Option<u32>,
    pub mouse: Option<bool>,
    pub net: Option<NetArg>,
    pub bind: Option<SocketAddr>,
    pub colors: Vec<ItemColor>,
    pub keys: KeyBindings,
}

/// Reads `explicit` (`--config FILE`: it must exist), or the default file (which may not).
/// `lang` is the language of the messages.
pub fn load(explicit: Option<&Path>, lang: Lang) -> Result<Config, ConfigError> {
    let (path, required) = match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => match default_path() {
            Some(path) => (path, false),
            None => return Ok(Config::default()),
        },
    };
    let shown = path.display().to_string();
    // The default file is read only if it is there to be seen: a directory this user may not
    // search (a process started as `nobody` with root's HOME) is no config, not an error.
    if !required && !path.try_exists().unwrap_or(false) {
        return Ok(Config::default());
    }
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound && !required => {
            return Ok(Config::default());
        }
        Err(error) => {
            return Err(ConfigError::unreadable(
                &shown,
                text::format(lang, "config.unreadable", &[("error", &error.to_string())]),
            ));
        }
    };
    let source = String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&error.into_bytes()[..offset]).into_owned();
        ConfigError::at(
            &shown,
            &valid,
            offset,
            text::get(lang, "config.not_utf8").to_owned(),
        )
    })?;
    let mut config = parse(&shown, &source, lang)?;
    config.file = Some(path);
    Ok(config)
}

/// Checks the text of a config file; `file` names it in messages.
pub fn parse(file: &str, source: &str, lang: Lang) -> Result<Config, ConfigError> {
    let raw: ConfigFile = toml::from_str(source).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        ConfigError::at(file, source, offset, error.message().trim().to_owned())
    })?;
    let place = Place { file, source, lang };
    let mut config = Config::default();
    scalars(&raw, &place, &mut config)?;
    colors(&raw, &place, &mut config)?;
    keys(&raw, &place, &mut config)?;
    Ok(config)
}

/// The file being checked, for positioned messages.
struct Place<'a> {
    file: &'a str,
    source: &'a str,
    lang: Lang,
}

impl Place<'_> {
    /// `key = value` at byte `offset` is not one of `expected`.
    fn bad(&self, offset: usize, key: &str, value: &str, expected: &str) -> ConfigError {
        ConfigError::at(
            self.file,
            self.source,
            offset,
            text::format(
                self.lang,
                "config.bad_value",
                &[("key", key), ("value", value), ("expected", expected)],
            ),
        )
    }
}

/// `lang`, `theme`, `refresh`, `mouse`, `net`, `bind`.
fn scalars(raw: &ConfigFile, place: &Place<'_>, config: &mut Config) -> Result<(), ConfigError> {
    if let Some(value) = &raw.lang {
        config.lang = Some(match value.get_ref().as_str() {
            "en" => Lang::En,
            "ko" => Lang::Ko,
            other => return Err(place.bad(value.span().start, "lang", other, "en, ko")),
        });
    }
    if let Some(value) = &raw.theme {
        config.theme = Some(
            theme_named(value)
                .ok_or_else(|| place.bad(value.span().start, "theme", value.get_ref(), THEMES))?,
        );
    }
    if let Some(value) = &raw.refresh {
        let hz = *value.get_ref();
        if !(1..=60).contains(&hz) {
            return Err(place.bad(value.span().start, "refresh", &hz.to_string(), "1 to 60"));
        }
        config.refresh = Some(hz as u32);
    }
    config.mouse = raw.mouse;
    if let Some(value) = &raw.net {
        config.net = Some(match value.get_ref().as_str() {
            "host" => NetArg::Host,
            "private" => NetArg::Private,
            "wire" => NetArg::Wire,
            other => {
                return Err(place.bad(value.span().start, "net", other, "host, private, wire"));
            }
        });
    }
    if let Some(value) = &raw.bind {
        config.bind = Some(
            crate::command::parse_address(value.get_ref()).ok_or_else(|| {
                place.bad(
                    value.span().start,
                    "bind",
                    value.get_ref(),
                    "127.0.0.1:0, [::1]:0, localhost:0",
                )
            })?,
        );
    }
    Ok(())
}

const THEMES: &str = "default, light, high-contrast";

/// `[colors.THEME] ITEM = { fg, bg }`.
fn colors(raw: &ConfigFile, place: &Place<'_>, config: &mut Config) -> Result<(), ConfigError> {
    for (theme_key, items) in &raw.colors {
        let theme = theme_named(theme_key).ok_or_else(|| {
            place.bad(
                theme_key.span().start,
                "colors",
                theme_key.get_ref(),
                THEMES,
            )
        })?;
        for (item_key, choice) in items {
            let item = ITEMS
                .iter()
                .find(|item| **item == item_key.get_ref().as_str())
                .ok_or_else(|| {
                    place.bad(
                        item_key.span().start,
                        &format!("colors.{}", theme_key.get_ref()),
                        item_key.get_ref(),
                        &ITEMS.join(", "),
                    )
                })?;
            let colour = |value: &Option<Spanned<String>>, part: &str| {
                value
                    .as_ref()
                    .map(|value| {
                        value.get_ref().parse::<Color>().map_err(|_| {
                            place.bad(
                                value.span().start,
                                &format!("colors.{}.{item}.{part}", theme_key.get_ref()),
                                value.get_ref(),
                                "a colour name (red, lightblue), an index (0-255) or #rrggbb",
                            )
                        })
                    })
                    .transpose()
            };
            let ColorOverride { fg, bg } = choice;
            config.colors.push(ItemColor {
                theme,
                item,
                fg: colour(fg, "fg")?,
                bg: colour(bg, "bg")?,
            });
        }
    }
    Ok(())
}

/// `[keys.SCREEN] ACTION = "KEY"`.
fn keys(raw: &ConfigFile, place: &Place<'_>, config: &mut Config) -> Result<(), ConfigError> {
    for screen in BindableScreen::ALL {
        let table = match screen {
            BindableScreen::Lab => &raw.keys.lab,
            BindableScreen::Watch => &raw.keys.watch,
        };
        // In the file's order, so a clash is reported at the later of the two lines.
        let mut bindings: Vec<_> = table.iter().collect();
        bindings.sort_by_key(|(action, _)| action.span().start);
        for (action, key) in bindings {
            let chord = parse_chord(key.get_ref()).ok_or_else(|| {
                place.bad(
                    key.span().start,
                    &format!("keys.{}.{}", screen.name(), action.get_ref()),
                    key.get_ref(),
                    "a key: y, Y, ctrl-x, alt-Left, Space, Tab, Enter, Esc, PageDown, F5",
                )
            })?;
            config
                .keys
                .screen_mut(screen)
                .bind(screen, action.get_ref(), chord, place.lang)
                .map_err(|message| {
                    ConfigError::at(place.file, place.source, action.span().start, message)
                })?;
        }
    }
    Ok(())
}

/// A theme by its name in the file (the spellings `--theme` takes).
fn theme_named(value: &Spanned<String>) -> Option<ThemeName> {
    ThemeName::parse(value.get_ref())
}
