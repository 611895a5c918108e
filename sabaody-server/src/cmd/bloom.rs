//! Bloom filter (BF.*) and Count-Min sketch (CMS.*) commands.

use super::CommandSpec;

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[];
