//! PLACEHOLDER: export files (JCVM chapter 5).
