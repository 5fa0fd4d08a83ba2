//! The small vocabulary every protocol dissector shares with the flow engine.

/// Which way a payload travelled, relative to the flow's client (the side
/// that sent the SYN, else the first packet's sender).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Direction {
    /// The opposite direction; used when pairing a request with its reply.
    pub fn reverse(self) -> Self {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// A dissector's answer after each payload, so the engine knows whether to
/// keep feeding it: this is what lets a flow stop being inspected once decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Looks like this protocol (or could still become it): keep feeding.
    NeedMore,
    /// Everything this dissector wants from the flow has been extracted.
    Done,
    /// The payload is certainly not this protocol: stop feeding this dissector.
    NotMine,
}
