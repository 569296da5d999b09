pub mod demo;
pub mod edge;
pub mod keys;
pub mod loadtest;
pub mod origin;
pub mod values;
