/* An init of one's own for Debian's kernel on vmm: what a user brings instead
 * of busybox. A static musl program, packed alone into a newc cpio
 * (`echo init | cpio -o -H newc`), so there is no /dev/console in the archive:
 * it mounts devtmpfs itself for a console, says who it is, and reboots, which
 * with reboot=k ends the run through the i8042 with status 0. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    (void)argc;
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int console = open("/dev/console", O_RDWR);
    if (console >= 0) {
        dup2(console, 1);
        dup2(console, 2);
    }
    struct utsname name;
    uname(&name);
    printf("vmm-own-init: %s is pid %d on Linux %s; rebooting\n", argv[0], (int)getpid(), name.release);
    fflush(stdout);
    /* Until the UART has sent it: the kernel's own lines on the way down
     * (printk, straight to the console) would otherwise cut into it. */
    tcdrain(1);
    sync();
    reboot(RB_AUTOBOOT);
    perror("reboot");
    return 1;
}
