//! ofproto: see DESIGN.md.
#![forbid(unsafe_code)]
