//! The terminal runtime: takes over the terminal (and gives it back on quit,
//! signals and panics), reads keys, mouse and messages, runs `app::update` and
//! draws with `ui::draw`. It sits above both: the application never draws and
//! the drawing never updates.
pub mod run;
pub mod terminal;
