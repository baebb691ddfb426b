//! What the `tasks` binary and the tests share: the throwaway PostgreSQL cluster and the edge
//! (nginx in front of the trio).

pub mod edge;
pub mod pg;
