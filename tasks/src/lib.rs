//! What the `tasks` binary and the tests share: the edge (nginx in front of the trio).

pub mod edge;
