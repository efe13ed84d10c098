//! Flow files as `ovs-ofctl add-flows` and `parse-flows` read them: one flow
//! per line, `#` starts a comment (anywhere on the line), blank lines are
//! skipped, and each line narrows the set of usable dialects.

use core::fmt;

use super::flow_mod::{Command, FlowTextError, ParsedFlow, parse_flow_line_with};
use super::names::Names;
use super::protocols::Protocols;

/// A flows file, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFlows {
    pub flows: Vec<ParsedFlow>,
    /// Intersection of every flow's usable dialects (`any` for no flows).
    pub usable: Protocols,
}

/// A refused line: its 1-based number and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowsFileError {
    pub line: usize,
    pub error: FlowTextError,
}

impl fmt::Display for FlowsFileError {
    /// `LINE: ERROR`; callers prefix the file name as OVS does (`f.flows:3: …`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.error)
    }
}

impl std::error::Error for FlowsFileError {}

/// The lines of `text` that hold a flow, with their 1-based line numbers and
/// comments removed.
pub fn flow_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').enumerate().filter_map(|(i, line)| {
        let line = line.split('#').next().unwrap_or("");
        (!line.trim_matches([' ', '\t', '\n']).is_empty()).then_some((i + 1, line))
    })
}

/// Parses every flow of `text`. `command`: `Some(c)` parses every line as
/// `c` (what `parse-flows` does, with `Add`); `None` lets each line start
/// with a command keyword (what `add-flows` does).
pub fn parse_flows(text: &str, command: Option<Command>) -> Result<ParsedFlows, FlowsFileError> {
    parse_flows_with(text, command, Names::NONE)
}

/// [`parse_flows`] accepting the port and table names of `names`.
pub fn parse_flows_with(
    text: &str,
    command: Option<Command>,
    names: Names<'_>,
) -> Result<ParsedFlows, FlowsFileError> {
    let mut out = ParsedFlows {
        flows: Vec::new(),
        usable: Protocols::ANY,
    };
    for (line, flow) in flow_lines(text) {
        let parsed = parse_flow_line_with(flow, command, names)
            .map_err(|error| FlowsFileError { line, error })?;
        out.usable.restrict(parsed.usable);
        out.flows.push(parsed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_lines_are_skipped_and_numbered() {
        let text = "# head\n\n  \t\nx # tail\ny\n";
        let lines: Vec<_> = flow_lines(text).collect();
        assert_eq!(lines, vec![(4, "x "), (5, "y")]);
    }
}
