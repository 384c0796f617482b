//! perso: remote personalization. A key server (`jct keyserver`) holds the
//! keys and the jobs; card stations (`jct station`) hold the cards and give
//! the key server a transparent channel to each. Every connection between
//! them is TLS 1.3 with certificates on both sides.
//!
//! The protocol cores are pure data: [`frame`] (length-prefixed frames,
//! bounded, sans-I/O), [`control`] (the control socket's JSON messages) and
//! [`wire`] (the personalization socket's binary messages). Around them:
//! [`station`] and [`keyserver`] (threads and sockets), [`tls`], the key
//! file ([`keyfile`]) and the audit log ([`audit`]).

pub mod audit;
pub mod control;
pub mod frame;
pub mod keyfile;
pub mod keyserver;
pub mod net;
pub mod station;
pub mod tls;
pub mod wire;
