;; No imports, so the shell can run it directly:
;;   sidewinder examples/math.wat --invoke fib 30
(module
  (func $fib (export "fib") (param i64) (result i64)
    local.get 0 i64.const 2 i64.lt_u
    if (result i64) local.get 0
    else
      local.get 0 i64.const 1 i64.sub call $fib
      local.get 0 i64.const 2 i64.sub call $fib
      i64.add
    end)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func (export "hypot") (param f64 f64) (result f64)
    local.get 0 local.get 0 f64.mul local.get 1 local.get 1 f64.mul f64.add f64.sqrt))
