/* ud: executes ud2, the instruction Intel defines as undefined; dies of
 * SIGILL. One of the misbehaving programs hostile.c runs. */
#include <stdio.h>

int main(void)
{
    printf("ud: executing ud2\n");
    fflush(stdout);
    __asm__ volatile("ud2");
    printf("ud: still alive\n");
    return 1;
}
