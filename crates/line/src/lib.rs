//! The waiting line's domain: queue numbers, ordering, positions, admission pacing, lottery. No I/O.
