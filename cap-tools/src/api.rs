//! PLACEHOLDER: Java Card API tables.
