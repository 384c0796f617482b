//! PLACEHOLDER: the Java Card instruction set (JCVM chapter 7).
