//! One module per CAP component, each decoding its body into typed structures
//! and encoding it back byte for byte.

pub mod applet;
pub mod class;
pub mod constant_pool;
pub mod debug;
pub mod descriptor;
pub mod directory;
pub mod export;
pub mod header;
pub mod import;
pub mod method;
pub mod ref_location;
pub mod static_field;
pub mod static_resources;

pub use applet::AppletComponent;
pub use class::ClassComponent;
pub use constant_pool::ConstantPool;
pub use debug::Debug;
pub use descriptor::Descriptor;
pub use directory::Directory;
pub use export::ExportComponent;
pub use header::Header;
pub use import::ImportComponent;
pub use method::{MethodBoundaries, MethodComponent};
pub use ref_location::RefLocation;
pub use static_field::StaticFieldComponent;
pub use static_resources::StaticResources;
