//! Drawing the dashboard from `&App`. Rendering is pure: it reads the app and changes nothing.

pub mod layout;
