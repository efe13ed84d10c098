//! datapath: see DESIGN.md.

