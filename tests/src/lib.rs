//! End-to-end test helpers (namespaces, processes). The tests live in `tests/tests/`.
#![forbid(unsafe_code)]
