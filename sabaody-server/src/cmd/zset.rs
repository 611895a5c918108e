//! Sorted-set commands.

use super::CommandSpec;

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[];
