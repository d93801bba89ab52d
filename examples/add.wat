(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "fib") (param i64) (result i64)
    local.get 0 i64.const 2 i64.lt_u
    if (result i64) local.get 0
    else
      local.get 0 i64.const 1 i64.sub call 2
      local.get 0 i64.const 2 i64.sub call 2
      i64.add
    end)
  (func (export "count") (param i32)
    (local $i i32)
    loop
      local.get $i call $log
      local.get $i i32.const 1 i32.add local.tee $i
      local.get 0 i32.lt_u
      br_if 0
    end))
