/*
 * Two ways to read the counters of TUN devices that live in another network namespace, measured side by side
 * (built and run by perf/netns.sh, which makes the namespace and its devices):
 *
 *   (a) "target": a NETLINK_ROUTE socket in our own namespace. RTM_NEWNSID with NETNSA_FD gives the namespace an id in
 *       ours; then, per device per poll, RTM_GETLINK for its ifindex with IFLA_TARGET_NETNSID, and IFLA_STATS64 is
 *       read from the reply. Needs CAP_NET_ADMIN only.
 *   (b) "setns": today's RTM_GETSTATS (IFLA_STATS_LINK_64 only), one socket per device as the agent keeps them, the
 *       sockets opened inside the namespace (setns in, socket(), setns back). setns needs CAP_SYS_ADMIN.
 *
 *   netnspoll nsid NSPATH                              assigns the namespace an id in ours, prints it
 *   netnspoll target NSPATH PREFIX ROUNDS [EXTMASK]    (a); EXTMASK is IFLA_EXT_MASK's value, omitted when -1
 *   netnspoll targetdump NSPATH PREFIX ROUNDS          one RTM_GETLINK dump of the namespace per round
 *   netnspoll targetdumptun NSPATH PREFIX ROUNDS       the same dump, filtered by the kernel to link kind "tun"
 *   netnspoll setns NSPATH PREFIX ROUNDS               (b)
 *   netnspoll statsprobe NSPATH IFINDEX                does RTM_GETSTATS honour an IFLA_TARGET_NETNSID-typed attribute?
 *
 * NSPATH may list several namespaces separated by ':'.
 * The poll modes print one line: mode, devices, CPU ns per device per poll (CLOCK_PROCESS_CPUTIME_ID over all
 * rounds), reply bytes per poll, the sum of tx_dropped and of rx_packets over the devices (so two modes can be
 * checked to read the same counters), and the descriptors the mode holds while polling.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ (64 * 1024)
#define MAXDEV 20000

static unsigned char buf[BUFSZ];
static unsigned seq = 1;

static void die(const char *what) { fprintf(stderr, "netnspoll: %s: %s\n", what, strerror(errno)); exit(1); }

static int nl_open(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) die("socket");
    struct sockaddr_nl a = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    return fd;
}

static void add_attr(struct nlmsghdr *h, unsigned short type, const void *data, int len) {
    struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends h, returns the first reply datagram's length (in buf). Errors (NLMSG_ERROR < 0) are returned as -errno. */
static int roundtrip(int fd, struct nlmsghdr *h) {
    if (send(fd, h, h->nlmsg_len, 0) < 0) die("send");
    int n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) die("recv");
    struct nlmsghdr *r = (struct nlmsghdr *)buf;
    if (r->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(r);
        if (e->error < 0) return e->error;
    }
    return n;
}

/* RTM_NEWNSID (NETNSA_FD, NETNSA_NSID = -1: the kernel picks), then RTM_GETNSID to learn the id. */
static int assign_nsid(int sock, const char *path) {
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) die(path);
    struct { struct nlmsghdr h; struct rtgenmsg g; char attrs[64]; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg));
    req.h.nlmsg_type = RTM_NEWNSID;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.h.nlmsg_seq = seq++;
    int32_t any = -1;
    uint32_t fd32 = nsfd;
    add_attr(&req.h, NETNSA_FD, &fd32, 4);
    add_attr(&req.h, NETNSA_NSID, &any, 4);
    int rc = roundtrip(sock, &req.h);
    if (rc < 0 && rc != -EEXIST) { errno = -rc; die("RTM_NEWNSID"); } /* EEXIST: it already has one */

    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg));
    req.h.nlmsg_type = RTM_GETNSID;
    req.h.nlmsg_flags = NLM_F_REQUEST;
    req.h.nlmsg_seq = seq++;
    add_attr(&req.h, NETNSA_FD, &fd32, 4);
    rc = roundtrip(sock, &req.h);
    if (rc < 0) { errno = -rc; die("RTM_GETNSID"); }
    close(nsfd);
    struct nlmsghdr *r = (struct nlmsghdr *)buf;
    int len = r->nlmsg_len - NLMSG_LENGTH(sizeof(struct rtgenmsg));
    for (struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(r) + NLMSG_ALIGN(sizeof(struct rtgenmsg)));
         RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == NETNSA_NSID) return *(int32_t *)RTA_DATA(a);
    fprintf(stderr, "netnspoll: RTM_GETNSID reply has no NETNSA_NSID\n");
    exit(1);
}

struct dev { int index; int fd; int nsid; };
static struct dev devs[MAXDEV];
static int ndev;

/* Reads IFLA_IFNAME and IFLA_STATS64 of one RTM_NEWLINK message. */
static void parse_link(struct nlmsghdr *m, const char **name, struct rtnl_link_stats64 **stats) {
    struct ifinfomsg *ifi = NLMSG_DATA(m);
    int len = m->nlmsg_len - NLMSG_LENGTH(sizeof *ifi);
    *name = NULL;
    *stats = NULL;
    for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME) *name = RTA_DATA(a);
        else if (a->rta_type == IFLA_STATS64) *stats = RTA_DATA(a);
    }
}

/* RTM_GETLINK dump, optionally of another namespace; calls each(msg) per link. Returns the bytes received. */
static int kind_filter; /* dumps ask the kernel for TUN links only (IFLA_LINKINFO/IFLA_INFO_KIND "tun", strict mode) */

static long dump_links(int sock, int nsid, void (*each)(struct nlmsghdr *, void *), void *ctx) {
    struct { struct nlmsghdr h; struct ifinfomsg i; char attrs[64]; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.h.nlmsg_type = RTM_GETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = seq++;
    if (nsid >= 0) add_attr(&req.h, IFLA_TARGET_NETNSID, &nsid, 4);
    if (kind_filter) {
        struct { struct rtattr nest; struct rtattr kind; char name[4]; } info = {
            { sizeof info, IFLA_LINKINFO }, { RTA_LENGTH(4), IFLA_INFO_KIND }, "tun" };
        int one = 1;
        setsockopt(sock, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
        memcpy((char *)&req.h + NLMSG_ALIGN(req.h.nlmsg_len), &info, sizeof info);
        req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + sizeof info;
    }
    if (send(sock, &req, req.h.nlmsg_len, 0) < 0) die("send dump");
    long total = 0;
    for (;;) {
        int n = recv(sock, buf, sizeof buf, 0);
        if (n < 0) die("recv dump");
        total += n;
        for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, n); m = NLMSG_NEXT(m, n)) {
            if (m->nlmsg_type == NLMSG_DONE) return total;
            if (m->nlmsg_type == NLMSG_ERROR) { errno = -((struct nlmsgerr *)NLMSG_DATA(m))->error; die("dump"); }
            if (m->nlmsg_type == RTM_NEWLINK) each(m, ctx);
        }
    }
}

static const char *want_prefix;
static int collecting_nsid = -1;
static void collect(struct nlmsghdr *m, void *ctx) {
    (void)ctx;
    devs[ndev].nsid = collecting_nsid;
    const char *name;
    struct rtnl_link_stats64 *st;
    parse_link(m, &name, &st);
    if (name && strncmp(name, want_prefix, strlen(want_prefix)) == 0 && ndev < MAXDEV)
        devs[ndev++].index = ((struct ifinfomsg *)NLMSG_DATA(m))->ifi_index;
}

struct sums { unsigned long long tx_dropped, rx_packets; int found; };
static void add_sums(struct nlmsghdr *m, void *ctx) {
    struct sums *s = ctx;
    const char *name;
    struct rtnl_link_stats64 *st;
    parse_link(m, &name, &st);
    if (name && st && strncmp(name, want_prefix, strlen(want_prefix)) == 0) {
        s->tx_dropped += st->tx_dropped;
        s->rx_packets += st->rx_packets;
        s->found++;
    }
}

static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int open_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 65536; fd++) if (fcntl(fd, F_GETFD) >= 0) n++;
    return n;
}

static int fds_at_start;

static void report(const char *mode, long rounds, double ns, long bytes, struct sums s) {
    printf("%s devices=%d ns_per_device_poll=%.0f reply_bytes=%ld tx_dropped_sum=%llu rx_packets_sum=%llu fds_held=%d\n",
           mode, ndev, ns / ((double)rounds * ndev), bytes, s.tx_dropped, s.rx_packets, open_fds() - fds_at_start);
}

static void poll_target(int sock, long rounds, int extmask) {
    struct { struct nlmsghdr h; struct ifinfomsg i; char attrs[32]; } req;
    struct sums s = { 0 };
    long bytes = 0;
    double start = cpu_ns();
    for (long r = 0; r < rounds; r++) {
        for (int d = 0; d < ndev; d++) {
            memset(&req, 0, sizeof req);
            req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
            req.h.nlmsg_type = RTM_GETLINK;
            req.h.nlmsg_flags = NLM_F_REQUEST;
            req.h.nlmsg_seq = seq++;
            req.i.ifi_index = devs[d].index;
            add_attr(&req.h, IFLA_TARGET_NETNSID, &devs[d].nsid, 4);
            if (extmask >= 0) add_attr(&req.h, IFLA_EXT_MASK, &extmask, 4);
            int n = roundtrip(sock, &req.h);
            if (n < 0) { errno = -n; die("RTM_GETLINK"); }
            bytes = n;
            if (r == rounds - 1) {
                const char *name;
                struct rtnl_link_stats64 *st;
                parse_link((struct nlmsghdr *)buf, &name, &st);
                if (!st) { fprintf(stderr, "netnspoll: reply without IFLA_STATS64\n"); exit(1); }
                s.tx_dropped += st->tx_dropped;
                s.rx_packets += st->rx_packets;
            } else {
                const char *name;
                struct rtnl_link_stats64 *st;
                parse_link((struct nlmsghdr *)buf, &name, &st);
            }
        }
    }
    double ns = cpu_ns() - start;
    char mode[64];
    snprintf(mode, sizeof mode, extmask >= 0 ? "target(ext_mask=%d)" : "target", extmask);
    report(mode, rounds, ns, bytes, s);
}

static int nsids[1024], nns;

static void poll_target_dump(int sock, long rounds) {
    struct sums s = { 0 };
    long bytes = 0;
    double start = cpu_ns();
    for (long r = 0; r < rounds; r++) {
        struct sums each = { 0 };
        bytes = 0;
        for (int n = 0; n < nns; n++) bytes += dump_links(sock, nsids[n], add_sums, &each);
        s = each;
    }
    report(kind_filter ? "targetdump(kind=tun)" : "targetdump", rounds, cpu_ns() - start, bytes / (ndev ? ndev : 1), s);
}

static void poll_setns(char *paths, long rounds) {
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) die("open /proc/self/ns/net");
    for (char *path = strtok(paths, ":"); path; path = strtok(NULL, ":")) {
        int target = open(path, O_RDONLY | O_CLOEXEC);
        if (target < 0) die(path);
        if (setns(target, CLONE_NEWNET) < 0) die("setns into the namespace");
        int first = ndev;
        int lister = nl_open();
        dump_links(lister, -1, collect, NULL);
        close(lister);
        for (int d = first; d < ndev; d++) devs[d].fd = nl_open();
        if (setns(self, CLONE_NEWNET) < 0) die("setns back");
        close(target);
    }
    close(self);

    struct { struct nlmsghdr h; struct if_stats_msg b; } req;
    struct sums s = { 0 };
    long bytes = 0;
    double start = cpu_ns();
    for (long r = 0; r < rounds; r++) {
        for (int d = 0; d < ndev; d++) {
            memset(&req, 0, sizeof req);
            req.h.nlmsg_len = sizeof req;
            req.h.nlmsg_type = RTM_GETSTATS;
            req.h.nlmsg_flags = NLM_F_REQUEST;
            req.h.nlmsg_seq = seq++;
            req.b.ifindex = devs[d].index;
            req.b.filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64);
            int n = roundtrip(devs[d].fd, &req.h);
            if (n < 0) { errno = -n; die("RTM_GETSTATS"); }
            bytes = n;
            struct nlmsghdr *m = (struct nlmsghdr *)buf;
            int len = m->nlmsg_len - NLMSG_LENGTH(sizeof(struct if_stats_msg));
            for (struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(m) + NLMSG_ALIGN(sizeof(struct if_stats_msg)));
                 RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type == IFLA_STATS_LINK_64 && r == rounds - 1) {
                    struct rtnl_link_stats64 *st = RTA_DATA(a);
                    s.tx_dropped += st->tx_dropped;
                    s.rx_packets += st->rx_packets;
                }
            }
        }
    }
    report("setns", rounds, cpu_ns() - start, bytes, s);
}

/*
 * RTM_GETSTATS for an ifindex that exists only in the other namespace, once plain and once with an attribute of type
 * IFLA_TARGET_NETNSID after the if_stats_msg: if the kernel honoured a target there, the second would find the device.
 */
static void stats_probe(int sock, int nsid, int ifindex) {
    for (int with = 0; with < 2; with++) {
        struct { struct nlmsghdr h; struct if_stats_msg b; char attrs[16]; } req;
        memset(&req, 0, sizeof req);
        req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct if_stats_msg));
        req.h.nlmsg_type = RTM_GETSTATS;
        req.h.nlmsg_flags = NLM_F_REQUEST;
        req.h.nlmsg_seq = seq++;
        req.b.ifindex = ifindex;
        req.b.filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64);
        if (with) add_attr(&req.h, IFLA_TARGET_NETNSID, &nsid, 4);
        int n = roundtrip(sock, &req.h);
        struct nlmsghdr *m = (struct nlmsghdr *)buf;
        if (n < 0) printf("RTM_GETSTATS ifindex %d %s: error %s\n", ifindex, with ? "with target nsid" : "plain", strerrorname_np(-n));
        else printf("RTM_GETSTATS ifindex %d %s: message type %d (%d bytes)\n", ifindex, with ? "with target nsid" : "plain",
                    m->nlmsg_type, n);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: see the comment at the top of netnspoll.c\n"); return 2; }
    const char *mode = argv[1], *path = argv[2];
    fds_at_start = open_fds();
    if (strcmp(mode, "setns") == 0 && argc >= 5) {
        want_prefix = argv[3];
        poll_setns(strdup(path), atol(argv[4]));
        return 0;
    }
    int sock = nl_open();
    if (strcmp(mode, "nsid") == 0) { printf("nsid=%d\n", assign_nsid(sock, path)); return 0; }
    if (strcmp(mode, "statsprobe") == 0 && argc >= 4) { stats_probe(sock, assign_nsid(sock, path), atoi(argv[3])); return 0; }
    if (argc < 5) { fprintf(stderr, "usage: see the comment at the top of netnspoll.c\n"); return 2; }
    want_prefix = argv[3];
    char *paths = strdup(path);
    for (char *p = strtok(paths, ":"); p; p = strtok(NULL, ":")) {
        collecting_nsid = nsids[nns++] = assign_nsid(sock, p);
        dump_links(sock, collecting_nsid, collect, NULL);
    }
    if (ndev == 0) { fprintf(stderr, "netnspoll: no device named %s* in %s\n", want_prefix, path); return 1; }
    if (strcmp(mode, "target") == 0) poll_target(sock, atol(argv[4]), argc >= 6 ? atoi(argv[5]) : -1);
    else if (strcmp(mode, "targetdump") == 0) poll_target_dump(sock, atol(argv[4]));
    else if (strcmp(mode, "targetdumptun") == 0) { kind_filter = 1; poll_target_dump(sock, atol(argv[4])); }
    else { fprintf(stderr, "netnspoll: unknown mode %s\n", mode); return 2; }
    return 0;
}
