//! meshcdn-origin
