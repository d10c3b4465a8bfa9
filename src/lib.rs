//! sockscope: real sockets on one `mio` loop, and what the kernel says about them.

pub mod app;
pub mod cli;
pub mod command;
pub mod config;
pub mod escape;
pub mod export;
pub mod kernel;
pub mod lab;
pub mod model;
pub mod net;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod screens;
pub mod script;
pub mod settings;
pub mod system;
pub mod term;
pub mod text;
pub mod trace;
pub mod ui;
pub mod watch;
