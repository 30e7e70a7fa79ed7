//! Inventory service: seat maps and stock, atomic holds that never oversell.
