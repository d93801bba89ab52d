//! The W3C WebAssembly JavaScript Interface for Boa, backed by `sidewinder-engine`.
//!
//! `install(context)` defines the `WebAssembly` namespace on the context's global object.

use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsResult, JsSymbol};

/// Installs the `WebAssembly` namespace object on the global object of `context`.
pub fn install(context: &mut Context) -> JsResult<()> {
    let namespace = ObjectInitializer::new(context)
        .property(JsSymbol::to_string_tag(), js_string!("WebAssembly"), Attribute::CONFIGURABLE)
        .build();
    context.register_global_property(
        js_string!("WebAssembly"),
        namespace,
        Attribute::WRITABLE | Attribute::CONFIGURABLE,
    )?;
    Ok(())
}
