/* kernel/errno.h - Linux's error numbers (asm-generic/errno-base.h), which
 * the program system calls return negated. */
#pragma once

#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define E2BIG 7
#define ENOEXEC 8
#define EBADF 9
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define ENOTTY 25
#define ESPIPE 29
#define EROFS 30
#define ENAMETOOLONG 36
#define ENOSYS 38

/* "ENOENT" for 2, and so on; "E?" for a number not listed above. */
static inline const char *errno_name(long e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case ENOEXEC: return "ENOEXEC";
    case E2BIG: return "E2BIG";
    case EACCES: return "EACCES";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    default: return "E?";
    }
}
