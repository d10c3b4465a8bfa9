//! Choices a user makes about how things look, shared by every screen and the exports.

/// Colour themes (`--theme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeName {
    #[default]
    Default,
    Light,
    HighContrast,
}

impl ThemeName {
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "default" | "dark" => Some(Self::Default),
            "light" => Some(Self::Light),
            "high-contrast" | "highcontrast" | "contrast" => Some(Self::HighContrast),
            _ => None,
        }
    }
}
