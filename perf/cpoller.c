/*
 * The physical floor for TunTelemetry's poll: a minimal RTM_GETSTATS poller in C, one NETLINK_ROUTE socket per
 * device, IFLA_STATS_LINK_64 only, nothing exported. Built and run by perf/run.sh.
 *
 *   cpoller bench IFINDEX N           N round trips on one device; prints ns per poll
 *   cpoller run PREFIX SECONDS        polls every device whose name starts with PREFIX once a second;
 *                                     prints CPU microseconds per device per round
 */
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct request {
    struct nlmsghdr header;
    struct if_stats_msg body;
};

static int open_socket(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl address = {.nl_family = AF_NETLINK};
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        perror("netlink socket");
        exit(1);
    }
    return fd;
}

/* One request and its reply; returns tx_dropped so the compiler cannot drop the work. */
static unsigned long long poll_once(int fd, int ifindex, unsigned seq) {
    struct request req = {
        .header = {.nlmsg_len = sizeof req, .nlmsg_type = RTM_GETSTATS, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = seq},
        .body = {.ifindex = ifindex, .filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64)},
    };
    char reply[1024];
    if (send(fd, &req, sizeof req, 0) != sizeof req) { perror("send"); exit(1); }
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(struct if_stats_msg) + NLA_HDRLEN + 192)) { fprintf(stderr, "short reply\n"); exit(1); }
    struct rtnl_link_stats64 *stats = (void *)(reply + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct if_stats_msg)) + NLA_HDRLEN);
    return stats->tx_dropped;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static double cpu_us(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "bench") == 0) {
        int ifindex = atoi(argv[2]);
        long n = atol(argv[3]);
        int fd = open_socket();
        unsigned long long sink = 0;
        for (long i = 0; i < 10000; i++) sink += poll_once(fd, ifindex, (unsigned)i + 1);
        double start = now_ns(), cpu0 = cpu_us();
        for (long i = 0; i < n; i++) sink += poll_once(fd, ifindex, (unsigned)i + 20000);
        double elapsed = now_ns() - start, cpu = cpu_us() - cpu0;
        printf("c_poll_ns=%.0f c_poll_cpu_ns=%.0f (sink %llu)\n", elapsed / n, cpu * 1000 / n, sink % 7);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "run") == 0) {
        const char *prefix = argv[2];
        int seconds = atoi(argv[3]);
        int *indexes = NULL, *fds = NULL, count = 0;
        DIR *dir = opendir("/sys/class/net");
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strncmp(entry->d_name, prefix, strlen(prefix)) != 0) continue;
            indexes = realloc(indexes, sizeof(int) * (count + 1));
            fds = realloc(fds, sizeof(int) * (count + 1));
            indexes[count] = (int)if_nametoindex(entry->d_name);
            fds[count] = open_socket();
            count++;
        }
        closedir(dir);
        unsigned seq = 1;
        unsigned long long sink = 0;
        double cpu0 = cpu_us();
        for (int round = 0; round < seconds; round++) {
            double start = now_ns();
            for (int i = 0; i < count; i++) sink += poll_once(fds[i], indexes[i], seq++);
            double left = 1e9 - (now_ns() - start);
            if (left > 0) { struct timespec t = {0, (long)left}; nanosleep(&t, NULL); }
        }
        double cpu = cpu_us() - cpu0;
        printf("c_devices=%d c_rounds=%d c_cpu_us_per_device_round=%.2f (sink %llu)\n", count, seconds, cpu / count / seconds, sink % 7);
        return 0;
    }
    fprintf(stderr, "usage: cpoller bench IFINDEX N | cpoller run PREFIX SECONDS\n");
    return 2;
}
