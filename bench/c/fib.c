/* Recursive calls: naive Fibonacci. */
#include "bench.h"
__attribute__((noinline)) static u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
volatile u32 arg = 39;
EXPORT u32 run(void) { return fib(arg); }
