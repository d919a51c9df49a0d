/* A hostile native program for the jail's tests: `attack <name> [args...]` tries one
 * thing and prints `ok <detail>` when it worked or `blocked <errno name>` when it did not.
 * The exit status is 0 either way, so that a test reads what happened, not a crash. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <termios.h>
#include <unistd.h>

static int report(long result, const char *detail) {
    if (result < 0) {
        printf("blocked %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    } else {
        printf("ok %s\n", detail ? detail : "");
    }
    return 0;
}

static int attack_read(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return report(-1, 0);
    long n = read(fd, buf, sizeof buf - 1);
    if (n < 0) return report(-1, 0);
    for (long i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = ' ';
    return report(0, buf);
}

static int attack_write(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return report(-1, 0);
    return report(write(fd, "pwned\n", 6), 0);
}

static int attack_truncate(const char *path) {
    if (truncate(path, 0) == 0) return report(0, "truncate");
    int fd = open(path, O_RDONLY | O_TRUNC);
    if (fd >= 0) {
        struct stat st;
        fstat(fd, &st);
        if (st.st_size == 0) return report(0, "open O_TRUNC");
    }
    errno = errno ? errno : EPERM;
    return report(-1, 0);
}

static int attack_exec(char **argv) {
    execv(argv[0], argv);
    return report(-1, 0);
}

static int family(const char *name) {
    if (!strcmp(name, "inet")) return AF_INET;
    if (!strcmp(name, "inet6")) return AF_INET6;
    if (!strcmp(name, "unix")) return AF_UNIX;
    if (!strcmp(name, "netlink")) return AF_NETLINK;
    if (!strcmp(name, "packet")) return AF_PACKET;
    if (!strcmp(name, "vsock")) return AF_VSOCK;
    return atoi(name);
}

static int attack_socket(const char *name) {
    return report(socket(family(name), SOCK_STREAM, 0), 0);
}

static int attack_socketpair(void) {
    int fds[2];
    return report(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
}

static int attack_unix_connect(const char *path, int abstract) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return report(-1, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    socklen_t len = sizeof addr;
    if (abstract) {
        addr.sun_path[0] = 0;
        strncpy(addr.sun_path + 1, path, sizeof addr.sun_path - 2);
        len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
    } else {
        strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    }
    return report(connect(fd, (struct sockaddr *)&addr, len), 0);
}

static int attack_tcp_connect(const char *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return report(-1, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return report(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
}

/* An IPv4 or IPv6 address and port, from text. */
static socklen_t inet_address(const char *host, const char *port, struct sockaddr_storage *out) {
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(atoi(port));
        return sizeof *v4;
    }
    inet_pton(AF_INET6, host, &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(atoi(port));
    return sizeof *v6;
}

/* Reads the server's greeting from a connected socket. */
static int greeting(int fd) {
    static char buf[64];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1) { errno = ETIMEDOUT; return report(-1, 0); }
    long n = read(fd, buf, sizeof buf - 1);
    if (n < 0) return report(-1, 0);
    buf[n] = 0;
    for (long i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = 0;
    return report(0, buf);
}

/* `net-to HOST PORT [nonblocking]`: connects where told and reads the greeting. */
static int attack_net_to(const char *host, const char *port, const char *mode) {
    struct sockaddr_storage addr;
    socklen_t len = inet_address(host, port, &addr);
    int nonblocking = mode && !strcmp(mode, "nonblocking");
    int fd = socket(addr.ss_family, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return report(-1, 0);
    if (connect(fd, (struct sockaddr *)&addr, len) < 0 && errno != EINPROGRESS) return report(-1, 0);
    if (nonblocking && !(fcntl(fd, F_GETFL) & O_NONBLOCK)) {
        printf("ok lost O_NONBLOCK\n");
        return 0;
    }
    return greeting(fd);
}

/* Datagrams, SCTP (which connects through its own calls), Fast Open, listening. */
static int attack_udp(void) { return report(socket(AF_INET, SOCK_DGRAM, 0), 0); }
static int attack_raw(void) { return report(socket(AF_INET, SOCK_RAW, IPPROTO_TCP), 0); }
static int attack_sctp(void) { return report(socket(AF_INET, SOCK_STREAM, 132), 0); }
static int attack_fastopen(const char *host, const char *port) {
    struct sockaddr_storage addr;
    socklen_t len = inet_address(host, port, &addr);
    int fd = socket(addr.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return report(-1, 0);
    if (sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&addr, len) < 0) return report(-1, 0);
    return greeting(fd);
}
static int attack_listen(void) {
    struct sockaddr_storage addr;
    socklen_t len = inet_address("0.0.0.0", "0", &addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return report(-1, 0);
    if (bind(fd, (struct sockaddr *)&addr, len) < 0) return report(-1, 0);
    return report(listen(fd, 1), 0);
}

/* `connect-race HOST ALLOWED FORBIDDEN ROUNDS`: a second thread flips the port of the
 * address being connected between the allowed and the forbidden one, so that a jail that
 * checks the address and then lets the kernel read it again connects where it checked
 * nothing. Prints the greetings seen. */
static volatile struct sockaddr_in race_addr;
static volatile int race_on = 1;
static unsigned short race_ports[2];
static void *race_flip(void *unused) {
    (void)unused;
    for (unsigned long i = 0; race_on; i++) race_addr.sin_port = race_ports[i & 1];
    return 0;
}
static int attack_connect_race(const char *host, const char *allowed, const char *forbidden, const char *rounds) {
    race_addr.sin_family = AF_INET;
    inet_pton(AF_INET, host, (void *)&race_addr.sin_addr);
    race_ports[0] = htons(atoi(allowed));
    race_ports[1] = htons(atoi(forbidden));
    race_addr.sin_port = race_ports[0];
    pthread_t flipper;
    pthread_create(&flipper, 0, race_flip, 0);
    int reached_forbidden = 0, reached_allowed = 0;
    for (int i = 0; i < atoi(rounds); i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) continue;
        if (connect(fd, (struct sockaddr *)&race_addr, sizeof race_addr) == 0) {
            char buf[16] = {0};
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 2000) == 1 && read(fd, buf, sizeof buf - 1) > 0) {
                if (!strncmp(buf, "forbidden", 9)) reached_forbidden++;
                else reached_allowed++;
            }
        }
        close(fd);
    }
    race_on = 0;
    pthread_join(flipper, 0);
    printf("%s allowed=%d forbidden=%d\n", reached_forbidden ? "ok" : "blocked", reached_allowed, reached_forbidden);
    return 0;
}

static int attack_io_uring(void) {
    struct io_uring_params params = {0};
    return report(syscall(__NR_io_uring_setup, 4, &params), 0);
}

static int attack_shm(const char *id) {
    void *at = shmat(atoi(id), 0, SHM_RDONLY);
    if (at != (void *)-1) return report(0, (const char *)at);
    return report(shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600), "shmget");
}

static int attack_keyctl(void) {
    /* KEYCTL_GET_KEYRING_ID of the session keyring. */
    return report(syscall(__NR_keyctl, 0, -3, 0), 0);
}

static int attack_ptrace(const char *pid) {
    return report(ptrace(PTRACE_ATTACH, atoi(pid), 0, 0), 0);
}

static int attack_vm_read(const char *pid, const char *address) {
    char buf[8];
    struct iovec local = {buf, sizeof buf};
    struct iovec remote = {(void *)strtoul(address, 0, 0), sizeof buf};
    return report(process_vm_readv(atoi(pid), &local, 1, &remote, 1, 0), 0);
}

static int attack_kill(const char *pid, const char *sig) {
    return report(kill(atoi(pid), atoi(sig)), 0);
}

static int attack_unshare(void) {
    return report(unshare(CLONE_NEWUSER), 0);
}

static int attack_mknod(const char *path) {
    return report(mknod(path, S_IFBLK | 0600, makedev(8, 0)), 0);
}

static int attack_tiocsti(void) {
    char c = 'x';
    return report(ioctl(0, TIOCSTI, &c), 0);
}

static int attack_x32(void) {
    /* getpid through the x32 table: a filter that forgets x32 lets it through. */
    long r = syscall(__NR_getpid | 0x40000000);
    return report(r, "survived");
}

/* Leaves a grandchild in its own session that writes `path` after `seconds`. */
static int attack_daemon(const char *path, const char *seconds) {
    pid_t pid = fork();
    if (pid < 0) return report(-1, 0);
    if (pid == 0) {
        setsid();
        if (fork() != 0) _exit(0);
        close(0); close(1); close(2);
        sleep(atoi(seconds));
        int fd = open(path, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0) write(fd, "survived\n", 9);
        _exit(0);
    }
    return report(0, "forked");
}

/* A daemon left behind after the program waited `wait_ms`, long enough for the test to
 * do to the helper what a jailed program once could (lower its descriptor limit). */
static int attack_late_daemon(const char *path, const char *seconds, const char *wait_ms) {
    usleep(atoi(wait_ms) * 1000);
    return attack_daemon(path, seconds);
}

/* A call the supervisor judges, made after `wait_ms`; then the program lingers. */
static int attack_late_chmod(const char *path, const char *wait_ms) {
    usleep(atoi(wait_ms) * 1000);
    long result = chmod(path, 0600);
    sleep(3);
    return report(result, "chmod");
}

static int attack_fds(void) {
    char list[256] = "";
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return report(-1, 0);
    int self = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] == '.' || fd < 3 || fd == self) continue;
        char one[16];
        snprintf(one, sizeof one, "%d,", fd);
        strncat(list, one, sizeof list - strlen(list) - 1);
    }
    printf("ok fds=%s", list);
    char *flags = getenv("MAKEFLAGS");
    printf(" makeflags=%s", flags ? flags : "");
    char token;
    if (fcntl(3, F_GETFD) >= 0 && read(3, &token, 1) == 1) printf(" token=%c", token);
    printf("\n");
    return 0;
}

static int attack_whoami(void) {
    char line[256], caps[64] = "";
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "CapEff:", 7)) sscanf(line + 7, "%63s", caps);
    printf("ok pid=%d caps=%s\n", getpid(), caps);
    return 0;
}

/* Metadata Landlock does not gate: the mode, owner, times and attributes of a file. */
static int attack_chmod(const char *path, const char *mode) {
    return report(chmod(path, strtol(mode, 0, 8)), "chmod");
}

static int attack_fchmod(const char *path, const char *mode) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return report(-1, 0);
    return report(fchmod(fd, strtol(mode, 0, 8)), "fchmod");
}

static int attack_chown(const char *path) {
    return report(chown(path, getuid(), getgid()), "chown");
}

static int attack_utime(const char *path) {
    struct timespec times[2] = {{.tv_sec = 86400}, {.tv_sec = 86400}};
    return report(utimensat(AT_FDCWD, path, times, 0), "utime");
}

static int attack_setxattr(const char *path) {
    return report(setxattr(path, "user.pwned", "1", 1, 0), "setxattr");
}

static int attack_inotify(const char *path) {
    int fd = inotify_init1(0);
    if (fd < 0) return report(-1, 0);
    return report(inotify_add_watch(fd, path, IN_ACCESS), "watching");
}

/* Another process's limits: the helper's descriptors, so that its sweep cannot list. */
static int attack_prlimit(const char *pid) {
    struct rlimit none = {0, 0};
    pid_t target = strcmp(pid, "parent") ? atoi(pid) : getppid();
    return report(prlimit(target, RLIMIT_NOFILE, &none, 0), "prlimit");
}

/* Code the program wrote, run without a path Landlock could judge. */
static int attack_memfd_exec(void) {
    int fd = memfd_create("payload", 0);
    if (fd < 0) return report(-1, 0);
    int true_fd = open("/bin/true", O_RDONLY);
    char buf[65536];
    long n;
    while ((n = read(true_fd, buf, sizeof buf)) > 0) write(fd, buf, n);
    char *argv[] = {"payload", 0};
    fexecve(fd, argv, environ);
    return report(-1, 0);
}

static int attack_map_exec(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return report(-1, 0);
    void *code = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    return report(code == MAP_FAILED ? -1 : 0, "mapped");
}

static int attack_mprotect_exec(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return report(-1, 0);
    void *code = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (code == MAP_FAILED) return report(-1, 0);
    return report(mprotect(code, 4096, PROT_READ | PROT_EXEC), "made executable");
}

/* The dynamic loader run on a file the program wrote. */
static int attack_loader(const char *loader, const char *path) {
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(loader, loader, path, (char *)0);
        _exit(126);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return report(0, "ran");
    errno = EPERM;
    return report(-1, 0);
}

static int attack_proc_net(void) {
    char line[256];
    FILE *unix_sockets = fopen("/proc/self/net/unix", "r");
    if (!unix_sockets) return report(-1, 0);
    int lines = 0;
    while (fgets(line, sizeof line, unix_sockets)) lines++;
    printf("ok %d lines\n", lines);
    return 0;
}

/* A fork bomb that stops itself: every process forks again until `max` forks were made
 * in all (a shared counter), then sleeps (60 s at most). The first process holds them for
 * a second, then prints how many forks there were, or the error that stopped them. Any
 * further argument only marks the processes for a test to find. */
static int attack_fork_bomb(const char *max_text) {
    int max = atoi(max_text);
    struct bomb { int claimed, forked, error; } *shared = mmap(0, sizeof *shared,
        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return report(-1, 0);
    pid_t first = getpid();
    while (__atomic_fetch_add(&shared->claimed, 1, __ATOMIC_SEQ_CST) < max) {
        pid_t pid = fork();
        if (pid < 0) {
            __atomic_store_n(&shared->error, errno, __ATOMIC_SEQ_CST);
            break;
        }
        if (pid > 0) __atomic_fetch_add(&shared->forked, 1, __ATOMIC_SEQ_CST);
    }
    if (getpid() != first) {
        alarm(60);
        pause();
        _exit(0);
    }
    for (int waited = 0; waited < 20000; waited++) {
        if (__atomic_load_n(&shared->error, __ATOMIC_SEQ_CST)) break;
        if (__atomic_load_n(&shared->forked, __ATOMIC_SEQ_CST) >= max) break;
        usleep(1000);
    }
    sleep(1); /* holds them a while, as a payload that wants them would */
    int forked = __atomic_load_n(&shared->forked, __ATOMIC_SEQ_CST);
    if (shared->error) {
        errno = shared->error;
        printf("blocked %s after %d forks\n", strerrorname_np(errno), forked);
    } else {
        printf("ok forked %d\n", forked);
    }
    return 0;
}

/* Takes memory in 64 MiB blocks, each written to so that it is resident, up to `max` MiB. */
static int attack_memory_bomb(const char *max_text) {
    long max = atol(max_text), step = 64, held = 0;
    while (held < max) {
        char *block = mmap(0, step << 20, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (block == MAP_FAILED) {
            printf("blocked %s after %ld MiB\n", strerrorname_np(errno), held);
            return 0;
        }
        memset(block, 1, step << 20);
        held += step;
    }
    printf("ok %ld MiB\n", held);
    return 0;
}

/* Writes `path` in 1 MiB chunks up to `max` MiB; with `ignore-sigxfsz` it survives the
 * file-size limit's signal and reports the error instead. */
static int attack_disk_bomb(const char *path, const char *max_text, const char *how) {
    static char chunk[1 << 20];
    if (how && !strcmp(how, "ignore-sigxfsz")) signal(SIGXFSZ, SIG_IGN);
    long max = atol(max_text) << 20, written = 0;
    memset(chunk, 'x', sizeof chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return report(-1, 0);
    while (written < max) {
        long n = write(fd, chunk, sizeof chunk);
        if (n < 0) {
            printf("blocked %s after %ld bytes\n", strerrorname_np(errno), written);
            return 0;
        }
        written += n;
    }
    printf("ok %ld bytes\n", written);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *name = argv[1];
    char **rest = argv + 2;
    setvbuf(stdout, 0, _IONBF, 0);
    if (!strcmp(name, "read")) return attack_read(rest[0]);
    if (!strcmp(name, "write")) return attack_write(rest[0]);
    if (!strcmp(name, "truncate")) return attack_truncate(rest[0]);
    if (!strcmp(name, "exec")) return attack_exec(rest);
    if (!strcmp(name, "socket")) return attack_socket(rest[0]);
    if (!strcmp(name, "socketpair")) return attack_socketpair();
    if (!strcmp(name, "unix-connect")) return attack_unix_connect(rest[0], 0);
    if (!strcmp(name, "abstract-connect")) return attack_unix_connect(rest[0], 1);
    if (!strcmp(name, "tcp-connect")) return attack_tcp_connect(rest[0]);
    if (!strcmp(name, "net-to")) return attack_net_to(rest[0], rest[1], rest[2]);
    if (!strcmp(name, "udp")) return attack_udp();
    if (!strcmp(name, "raw")) return attack_raw();
    if (!strcmp(name, "sctp")) return attack_sctp();
    if (!strcmp(name, "fastopen")) return attack_fastopen(rest[0], rest[1]);
    if (!strcmp(name, "listen")) return attack_listen();
    if (!strcmp(name, "connect-race")) return attack_connect_race(rest[0], rest[1], rest[2], rest[3]);
    if (!strcmp(name, "io-uring")) return attack_io_uring();
    if (!strcmp(name, "shm")) return attack_shm(rest[0]);
    if (!strcmp(name, "keyctl")) return attack_keyctl();
    if (!strcmp(name, "ptrace")) return attack_ptrace(rest[0]);
    if (!strcmp(name, "vm-read")) return attack_vm_read(rest[0], rest[1]);
    if (!strcmp(name, "kill")) return attack_kill(rest[0], rest[1]);
    if (!strcmp(name, "unshare")) return attack_unshare();
    if (!strcmp(name, "mknod")) return attack_mknod(rest[0]);
    if (!strcmp(name, "tiocsti")) return attack_tiocsti();
    if (!strcmp(name, "x32")) return attack_x32();
    if (!strcmp(name, "daemon")) return attack_daemon(rest[0], rest[1]);
    if (!strcmp(name, "fds")) return attack_fds();
    if (!strcmp(name, "late-chmod")) return attack_late_chmod(rest[0], rest[1]);
    if (!strcmp(name, "late-daemon")) return attack_late_daemon(rest[0], rest[1], rest[2]);
    if (!strcmp(name, "whoami")) return attack_whoami();
    if (!strcmp(name, "chmod")) return attack_chmod(rest[0], rest[1]);
    if (!strcmp(name, "fchmod")) return attack_fchmod(rest[0], rest[1]);
    if (!strcmp(name, "chown")) return attack_chown(rest[0]);
    if (!strcmp(name, "utime")) return attack_utime(rest[0]);
    if (!strcmp(name, "setxattr")) return attack_setxattr(rest[0]);
    if (!strcmp(name, "inotify")) return attack_inotify(rest[0]);
    if (!strcmp(name, "prlimit")) return attack_prlimit(rest[0]);
    if (!strcmp(name, "memfd-exec")) return attack_memfd_exec();
    if (!strcmp(name, "map-exec")) return attack_map_exec(rest[0]);
    if (!strcmp(name, "mprotect-exec")) return attack_mprotect_exec(rest[0]);
    if (!strcmp(name, "loader")) return attack_loader(rest[0], rest[1]);
    if (!strcmp(name, "proc-net")) return attack_proc_net();
    if (!strcmp(name, "fork-bomb")) return attack_fork_bomb(rest[0]);
    if (!strcmp(name, "memory-bomb")) return attack_memory_bomb(rest[0]);
    if (!strcmp(name, "disk-bomb")) return attack_disk_bomb(rest[0], rest[1], rest[2]);
    fprintf(stderr, "unknown attack %s\n", name);
    return 2;
}
