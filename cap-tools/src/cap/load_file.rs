//! PLACEHOLDER: the Load File Data Block.
