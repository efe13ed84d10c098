//! OpenFlow 1.3 messages, one family per file.
//!
//! OWNER: messages helper. (Stub: filled in by that work.)
