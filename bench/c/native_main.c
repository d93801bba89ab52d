/* Native driver for computing expected checksums: gcc -O2 -DNATIVE prog.c native_main.c */
#include <stdio.h>
unsigned int run(void);
int main(void) { printf("%u\n", run()); return 0; }
