/* lib.c - the few memory/string routines gcc may emit calls to even in
 * freestanding mode (struct copies and zeroing). Kernel side only: user.c
 * must not depend on them, since it runs from the user page. */
#include "lib/string.h"

#include <stdint.h>

/* rep stosq / rep movsq for the bulk, then bytes: one instruction per
 * block. Ring-0 code runs under KVM's instruction emulator here, where
 * each iteration of a string instruction costs about a microsecond (a
 * byte loop about four per byte), so eight bytes an iteration matter. */
void *memset(void *d, int c, size_t n)
{
    void *p = d;
    size_t words = n / 8, bytes = n % 8;
    uint64_t fill = (uint8_t)c * 0x0101010101010101ULL;
    __asm__ volatile("rep stosq" : "+D"(p), "+c"(words) : "a"(fill) : "memory");
    __asm__ volatile("rep stosb" : "+D"(p), "+c"(bytes) : "a"(fill) : "memory");
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    void *dp = d;
    size_t words = n / 8, bytes = n % 8;
    __asm__ volatile("rep movsq" : "+D"(dp), "+S"(s), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dp), "+S"(s), "+c"(bytes) : : "memory");
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;
    if (dp < sp) {
        while (n--)
            *dp++ = *sp++;
    } else {
        while (n--)
            dp[n] = sp[n];
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}
