/* Starts N processes that each hold F open files, every 100th of them a TUN device (ttscanN), or D of them spread
 * evenly with a third argument, then waits for its standard input to close and ends them all. The load for perf/reader-scan.sh: the /proc scan looks at every
 * process's open files. Build: cc -O2 -o fdholders perf/fdholders.c. Needs CAP_NET_ADMIN for the TUN devices. */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: fdholders PROCESSES FILES_EACH [DEVICES]\n");
        return 2;
    }
    int processes = atoi(argv[1]), files = atoi(argv[2]);
    int devices = argc == 4 ? atoi(argv[3]) : (processes + 99) / 100;
    int every = devices > 0 ? processes / devices : processes + 1;
    if (every < 1) every = 1;
    pid_t *children = calloc(processes, sizeof(pid_t));
    int ready[2];
    if (pipe(ready) < 0) { perror("pipe"); return 1; }
    for (int i = 0; i < processes; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int opened = 0;
            if (i % every == 0 && i / every < devices) {
                int fd = open("/dev/net/tun", O_RDWR);
                struct ifreq ifr;
                memset(&ifr, 0, sizeof ifr);
                ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
                snprintf(ifr.ifr_name, IFNAMSIZ, "ttscan%d", i);
                if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); _exit(1); }
                opened++;
            }
            for (; opened < files; opened++) {
                if (open("/dev/null", O_RDONLY) < 0) { perror("open"); _exit(1); }
            }
            char one = 1;
            if (write(ready[1], &one, 1) != 1) _exit(1);
            pause();
            _exit(0);
        }
        children[i] = pid;
    }
    for (int i = 0; i < processes; i++) {
        char one;
        if (read(ready[0], &one, 1) != 1) { fprintf(stderr, "a child failed\n"); return 1; }
    }
    printf("ready\n");
    fflush(stdout);
    char buffer[64];
    while (read(0, buffer, sizeof buffer) > 0) {}
    for (int i = 0; i < processes; i++) kill(children[i], SIGKILL);
    while (wait(NULL) > 0) {}
    return 0;
}
