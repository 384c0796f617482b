//! emulator: a Java Card in software with a GlobalPlatform card manager.
