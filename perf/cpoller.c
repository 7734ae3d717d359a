/*
 * The physical floor for TunTelemetry's poll: a minimal RTM_GETSTATS poller in C, one NETLINK_ROUTE socket per
 * device, IFLA_STATS_LINK_64 only, nothing exported. Built and run by perf/run.sh.
 *
 *   cpoller bench IFINDEX N           N round trips on one device; prints ns per poll
 *   cpoller run PREFIX SECONDS        polls every device whose name starts with PREFIX once a second, in the
 *                                     agent's order (below); prints CPU microseconds per device per round
 *   cpoller spread PREFIX SECONDS INTERVAL_MS SLOTS [bucket|ifindex]
 *                                     polls every such device once per INTERVAL_MS, spread as the agent spreads them:
 *                                     the devices sorted (by default as the agent sorts them: by the kernel's ifindex
 *                                     hash bucket, ifindex & 255, then ifindex; or by ifindex), cut into SLOTS groups
 *                                     of consecutive devices, one group polled every INTERVAL_MS/SLOTS; prints CPU %
 *                                     of one core and CPU microseconds per poll
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

/* The devices whose names start with prefix, with room for a socket each (opened by the caller). */
static int list_devices(const char *prefix, int **indexes, int **fds) {
    int count = 0;
    DIR *dir = opendir("/sys/class/net");
    struct dirent *entry;
    *indexes = NULL;
    *fds = NULL;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, prefix, strlen(prefix)) != 0) continue;
        *indexes = realloc(*indexes, sizeof(int) * (count + 1));
        *fds = realloc(*fds, sizeof(int) * (count + 1));
        (*indexes)[count] = (int)if_nametoindex(entry->d_name);
        (*fds)[count] = -1;
        count++;
    }
    closedir(dir);
    return count;
}

/* qsort has no context argument: the ifindexes being sorted by position. */
static const int *sort_indexes;
static int by_ifindex(const void *a, const void *b) { return sort_indexes[*(const int *)a] - sort_indexes[*(const int *)b]; }
static int by_bucket(const void *a, const void *b) {
    int x = sort_indexes[*(const int *)a], y = sort_indexes[*(const int *)b];
    return (x & 255) != (y & 255) ? (x & 255) - (y & 255) : x - y;
}

/* Positions 0..count-1 in poll order: by hash bucket then ifindex (the agent's order), or by ifindex. */
static int *sorted_order(const int *indexes, int count, int bucket_order) {
    int *order = malloc(sizeof(int) * count);
    for (int i = 0; i < count; i++) order[i] = i;
    sort_indexes = indexes;
    qsort(order, count, sizeof(int), bucket_order ? by_bucket : by_ifindex);
    return order;
}

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
        int seconds = atoi(argv[3]);
        int *indexes, *fds;
        int count = list_devices(argv[2], &indexes, &fds);
        int *order = sorted_order(indexes, count, 1);
        for (int i = 0; i < count; i++) fds[i] = open_socket();
        unsigned seq = 1;
        unsigned long long sink = 0;
        double cpu0 = cpu_us();
        for (int round = 0; round < seconds; round++) {
            double start = now_ns();
            for (int k = 0; k < count; k++) sink += poll_once(fds[order[k]], indexes[order[k]], seq++);
            double left = 1e9 - (now_ns() - start);
            if (left > 0) { struct timespec t = {0, (long)left}; nanosleep(&t, NULL); }
        }
        double cpu = cpu_us() - cpu0;
        printf("c_devices=%d c_rounds=%d c_cpu_us_per_device_round=%.2f (sink %llu)\n", count, seconds, cpu / count / seconds, sink % 7);
        return 0;
    }
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "spread") == 0) {
        int seconds = atoi(argv[3]), interval_ms = atoi(argv[4]), slots = atoi(argv[5]);
        int bucket_order = argc == 6 || strcmp(argv[6], "ifindex") != 0;
        int *indexes, *fds;
        int count = list_devices(argv[2], &indexes, &fds);
        int *order = sorted_order(indexes, count, bucket_order);
        for (int i = 0; i < count; i++) fds[i] = open_socket();
        double slot_ns = interval_ms * 1e6 / slots;
        unsigned seq = 1;
        unsigned long long sink = 0, polls = 0;
        double start = now_ns(), cpu0 = cpu_us();
        for (long tick = 0; now_ns() - start < seconds * 1e9; tick++) {
            int slot = (int)(tick % slots);
            for (int k = (int)((long)count * slot / slots); k < (int)((long)count * (slot + 1) / slots); k++, polls++)
                sink += poll_once(fds[order[k]], indexes[order[k]], seq++);
            double left = start + (tick + 1) * slot_ns - now_ns();
            if (left > 0) { struct timespec t = {(time_t)(left / 1e9), (long)left % 1000000000L}; nanosleep(&t, NULL); }
        }
        double cpu = cpu_us() - cpu0, wall = (now_ns() - start) / 1e3;
        printf("c_spread_devices=%d c_spread_order=%s c_spread_cpu_pct=%.3f c_spread_cpu_us_per_poll=%.2f (sink %llu)\n",
               count, bucket_order ? "bucket" : "ifindex", 100 * cpu / wall, cpu / polls, sink % 7);
        return 0;
    }
    fprintf(stderr, "usage: cpoller bench IFINDEX N | cpoller run PREFIX SECONDS | cpoller spread PREFIX SECONDS INTERVAL_MS SLOTS [bucket|ifindex]\n");
    return 2;
}
