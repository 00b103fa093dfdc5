//! A cluster stack against what its cloud says: the drift between its config and
//! the live inventory.
pub mod drift;
