// The README is the crate's front page, and its example is compiled and run as a doctest so
// it cannot rot.
#![doc = include_str!("../README.md")]

pub use sabaody_core::*;
