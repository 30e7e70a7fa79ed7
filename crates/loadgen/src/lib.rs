//! Load generator and benchmark programs.
