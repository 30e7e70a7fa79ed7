//! Load generator and benchmark programs.

pub mod cli;
