//! Unit tests of the rule language: parsing, matching, Traefik's documented examples.

mod examples;
mod matching;
mod parse;
mod v2;
