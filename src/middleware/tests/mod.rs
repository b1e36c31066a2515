//! Middleware tests.
