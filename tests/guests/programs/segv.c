/* segv: writes to address 0x10, in the page at 0 that nothing maps; dies of
 * SIGSEGV. One of the misbehaving programs hostile.c runs. */
#include <stdio.h>

int main(void)
{
    printf("segv: writing to 0x10\n");
    fflush(stdout);
    int *volatile address = (int *)0x10; /* volatile: gcc would warn of the constant */
    *address = 1;
    printf("segv: still alive\n");
    return 1;
}
