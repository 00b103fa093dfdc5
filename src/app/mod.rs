//! The application: state, messages, `update`, keymap and the terminal runtime.
pub mod commands;
pub mod diffview;
pub mod editor;
pub mod effects;
pub mod files;
pub mod keymap;
pub mod live;
pub mod run;
pub mod state;
pub mod update;
pub mod update_edit;
pub mod update_live;
pub mod walk;
