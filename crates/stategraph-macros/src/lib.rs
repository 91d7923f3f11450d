//! Derive macros for Stategraph.
