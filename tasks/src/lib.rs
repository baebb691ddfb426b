//! What the `tasks` binary and the tests share: the throwaway PostgreSQL cluster.

pub mod pg;
