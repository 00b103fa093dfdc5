//! The application: state, messages, `update`, the effects they start, the
//! keymap, theme and screen geometry (what a mouse click hits).
pub mod commands;
pub mod compare;
pub mod diff;
pub mod editor;
pub mod effects;
pub mod files;
pub mod helm;
pub mod keymap;
pub mod layout;
pub mod live;
pub mod logging;
pub mod logs;
pub mod monitor;
pub mod pod_table;
pub mod releases;
pub mod state;
pub mod theme;
pub mod update;
pub mod update_edit;
pub mod update_live;
pub mod update_logs;
pub mod update_rollback;
pub mod walkthrough;
