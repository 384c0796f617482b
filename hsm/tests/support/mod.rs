#![allow(dead_code)]
pub mod softhsm;
