//! PLACEHOLDER: consistency checks on a CAP.
