//! meshcdn-edge
