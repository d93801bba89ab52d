// Temporary scratch harness (to be deleted).
use sidewinder_engine::*;
#[test]
fn scratch() {
    let wat = std::fs::read_to_string("/tmp/repro.wat").unwrap();
    let bytes = wat::parse_str(&wat).unwrap();
    let store = Store::new(&Engine::default());
    let module = Module::new(store.engine(), &bytes).unwrap();
    let inst = Instance::new(&store, &module, &[]).unwrap();
    let args: Vec<Val> = std::env::var("ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(|a| Val::I32(a.parse().unwrap()))
        .collect();
    println!("{:?}", inst.call("f", &args));
}
