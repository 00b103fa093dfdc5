//! The patch formats the API server accepts: JSON merge patch (RFC 7386), JSON
//! patch (RFC 6902), strategic merge patch and server-side apply.

pub mod apply;
pub mod json;
pub mod keys;
pub mod strategic;

pub use keys::{ListKind, list_kind};
