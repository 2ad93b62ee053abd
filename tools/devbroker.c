/*
 * event-devbroker: an in-memory Kafka-protocol broker for development on
 * machines without Java. Owns a one-broker librdkafka mock cluster and a TCP
 * forwarder that gives it a fixed bootstrap address. It does not own
 * persistence, security or anything else a real broker must do.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define PROG           "event-devbroker"
#define DEFAULT_LISTEN "127.0.0.1:9092"
#define LISTEN_ENV     "DEVBROKER_LISTEN"
/* librdkafka 2.0.2 hard-codes 4 partitions for auto-created topics; the same
 * default for -t topics keeps a topic's shape independent of who made it. */
#define DEFAULT_PARTITIONS 4
#define MAX_PARTITIONS     1024
#define MAX_TOPIC_LEN      249
/* Every relayed connection costs three descriptors in this process (client,
 * upstream and the mock's accepted end), so stay well inside ulimit -n 1024.
 */
#define MAX_RELAYS      256
#define RELAY_BUF_SIZE  (64 * 1024)
#define ACCEPT_RETRY_MS 1000

enum side {
        CLIENT = 0,
        UPSTREAM = 1,
};

struct hostport {
        char host[256];
        char port[6];
};

struct options {
        const char *listen_str; /* as given, for the startup line */
        const char *listen_src; /* flag or variable it came from */
        struct hostport listen;
        int partitions;
        const char **topics;
        size_t topic_cnt;
        bool help;
        bool version;
};

/* Bytes read from one side and not yet written to the other. */
struct flow {
        char buf[RELAY_BUF_SIZE];
        size_t off; /* buf[off, len) is pending */
        size_t len;
        bool eof;  /* the source half-closed */
        bool shut; /* and that FIN has been passed on */
};

struct relay {
        int fd[2];
        bool connecting;
        struct flow flow[2]; /* flow[i] carries bytes read from fd[i] */
};

enum relay_state {
        RELAY_OPEN,
        RELAY_DONE,
        RELAY_FAILED,
};

struct forwarder {
        int listen_fd;
        int wake_fd;
        struct sockaddr_storage upstream;
        socklen_t upstream_len;
        bool accept_paused;
        size_t relay_cnt;
        struct relay *relays[MAX_RELAYS];
        /* [0] wake-up pipe, [1] listener, then two per relay. */
        struct pollfd pfds[2 + 2 * MAX_RELAYS];
};

static const char usage_text[] =
    "Usage: " PROG " [OPTIONS]\n"
    "In-memory Kafka-protocol broker (librdkafka mock cluster) for\n"
    "DEVELOPMENT ONLY: no persistence, no security, all data is lost on\n"
    "exit.\n"
    "\n"
    "  -l, --listen HOST:PORT  fixed bootstrap address (default " DEFAULT_LISTEN
    ",\n"
    "                          or $" LISTEN_ENV ")\n"
    "  -t, --topic TOPIC       create TOPIC at start; repeatable\n"
    "  -p, --partitions N      partitions of each -t topic (default 4,\n"
    "                          as for auto-created topics)\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Clients bootstrap from HOST:PORT, then connect to the mock broker at\n"
    "the 127.0.0.1 address it advertises, so they must run on this host.\n"
    "Any topic a client names, producer or consumer, is created on the\n"
    "spot with 4 partitions; use -t with -p for another count.\n";

static volatile sig_atomic_t stop_requested;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
        int saved_errno = errno;
        ssize_t n;

        (void)sig;
        stop_requested = 1;
        /* A full pipe already holds a pending wake-up, so a failed write
         * loses nothing. */
        n = write(wake_pipe[1], "x", 1);
        (void)n;
        errno = saved_errno;
}

static int set_nonblock(int fd)
{
        int flags = fcntl(fd, F_GETFL);

        if (flags == -1)
                return -1;
        return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Plain decimal digits only, so "+5", " 5" and "5x" are all rejected. */
static int parse_decimal(const char *s, long max, long *out)
{
        long v = 0;

        if (*s == '\0')
                return -1;
        for (; *s != '\0'; s++) {
                if (*s < '0' || *s > '9')
                        return -1;
                v = v * 10 + (*s - '0');
                if (v > max)
                        return -1;
        }
        *out = v;
        return 0;
}

/* Splits at the last ':' so that "[::1]:9092" and "::1:9092" both work. */
static int hostport_parse(const char *s, struct hostport *hp)
{
        const char *colon = strrchr(s, ':');
        const char *host = s;
        size_t host_len;
        long port;

        if (colon == NULL)
                return -1;
        host_len = (size_t)(colon - s);
        if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
                host++;
                host_len -= 2;
        }
        if (host_len == 0 || host_len >= sizeof(hp->host))
                return -1;
        if (parse_decimal(colon + 1, 65535, &port) == -1 || port == 0)
                return -1;
        memcpy(hp->host, host, host_len);
        hp->host[host_len] = '\0';
        /* In range (1..65535): the cast tells the compiler so. */
        snprintf(hp->port, sizeof(hp->port), "%hu", (unsigned short)port);
        return 0;
}

/* Kafka's own naming rule: the mock would take anything, a real broker
 * would not, and the demo must work against both. */
static bool topic_name_valid(const char *s)
{
        size_t len = strlen(s);

        if (len == 0 || len > MAX_TOPIC_LEN || strcmp(s, ".") == 0 ||
            strcmp(s, "..") == 0)
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789._-") == len;
}

static const char *flag_form(int c)
{
        switch (c) {
        case 'l':
                return "-l/--listen HOST:PORT";
        case 'p':
                return "-p/--partitions N";
        default:
                return "-t/--topic TOPIC";
        }
}

/* opts->topics must have room for argc entries. */
static int options_parse(int argc, char **argv, struct options *opts,
                         char *errstr, size_t errstr_size)
{
        static const struct option longopts[] = {
            {"listen", required_argument, NULL, 'l'},
            {"partitions", required_argument, NULL, 'p'},
            {"topic", required_argument, NULL, 't'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {NULL, 0, NULL, 0},
        };
        const char *env = getenv(LISTEN_ENV);
        long n;
        int c;

        /* An empty variable is how shells usually spell "unset". */
        if (env != NULL && *env != '\0') {
                opts->listen_str = env;
                opts->listen_src = LISTEN_ENV;
        } else {
                opts->listen_str = DEFAULT_LISTEN;
                opts->listen_src = "default";
        }
        opts->partitions = DEFAULT_PARTITIONS;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":l:p:t:hV", longopts, NULL)) !=
               -1) {
                switch (c) {
                case 'l':
                        opts->listen_str = optarg;
                        opts->listen_src = "-l/--listen";
                        break;
                case 'p':
                        if (parse_decimal(optarg, MAX_PARTITIONS, &n) == -1 ||
                            n == 0) {
                                snprintf(errstr, errstr_size,
                                         "%s: expected a whole number from 1 "
                                         "to %d, got '%s'",
                                         flag_form(c), MAX_PARTITIONS, optarg);
                                return -1;
                        }
                        opts->partitions = (int)n;
                        break;
                case 't':
                        if (!topic_name_valid(optarg)) {
                                snprintf(errstr, errstr_size,
                                         "%s: expected 1 to %d of the "
                                         "characters a-z A-Z 0-9 . _ -, "
                                         "got '%s'",
                                         flag_form(c), MAX_TOPIC_LEN, optarg);
                                return -1;
                        }
                        opts->topics[opts->topic_cnt++] = optarg;
                        break;
                case 'h':
                        opts->help = true;
                        break;
                case 'V':
                        opts->version = true;
                        break;
                case ':':
                        snprintf(errstr, errstr_size, "%s: missing value",
                                 flag_form(optopt));
                        return -1;
                default:
                        /* optopt is 0 for an unknown long option; a known
                         * letter means "--help=x" style. */
                        if (optopt == 0)
                                snprintf(errstr, errstr_size,
                                         "unknown option '%s'; expected -l "
                                         "HOST:PORT, -t TOPIC, -p N, -h or -V",
                                         argv[optind - 1]);
                        else if (strchr("hV", optopt) != NULL)
                                snprintf(errstr, errstr_size,
                                         "'%s' takes no value",
                                         argv[optind - 1]);
                        else
                                snprintf(errstr, errstr_size,
                                         "unknown option '-%c'; expected -l "
                                         "HOST:PORT, -t TOPIC, -p N, -h or -V",
                                         optopt);
                        return -1;
                }
        }
        if (optind < argc) {
                snprintf(errstr, errstr_size,
                         "unexpected argument '%s'; expected options only "
                         "(-l HOST:PORT, -t TOPIC, -p N, -h, -V)",
                         argv[optind]);
                return -1;
        }
        if (hostport_parse(opts->listen_str, &opts->listen) == -1) {
                snprintf(errstr, errstr_size,
                         "%s: expected HOST:PORT with a port from 1 to "
                         "65535, got '%s'",
                         opts->listen_src, opts->listen_str);
                return -1;
        }
        return 0;
}

static int signals_install(char *errstr, size_t errstr_size)
{
        struct sigaction sa;

        if (pipe(wake_pipe) == -1 || set_nonblock(wake_pipe[1]) == -1) {
                snprintf(errstr, errstr_size, "wake-up pipe: %s",
                         strerror(errno));
                return -1;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) == -1 ||
            sigaction(SIGTERM, &sa, NULL) == -1) {
                snprintf(errstr, errstr_size, "sigaction: %s", strerror(errno));
                return -1;
        }
        return 0;
}

static int listen_open(const struct hostport *hp, int *fdp, char *errstr,
                       size_t errstr_size)
{
        struct addrinfo hints;
        struct addrinfo *res = NULL;
        struct addrinfo *ai;
        int fd = -1;
        int on = 1;
        int err = 0;
        int gai;
        int rc = -1;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        gai = getaddrinfo(hp->host, hp->port, &hints, &res);
        if (gai != 0) {
                snprintf(errstr, errstr_size, "cannot listen on %s:%s: %s",
                         hp->host, hp->port, gai_strerror(gai));
                goto out;
        }
        for (ai = res; ai != NULL; ai = ai->ai_next) {
                fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
                if (fd == -1) {
                        err = errno;
                        continue;
                }
                /* Lets a restart bind while old connections sit in
                 * TIME_WAIT. */
                if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ==
                        0 &&
                    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                    listen(fd, SOMAXCONN) == 0 && set_nonblock(fd) == 0)
                        break;
                err = errno;
                close(fd);
                fd = -1;
        }
        if (fd == -1) {
                snprintf(errstr, errstr_size, "cannot listen on %s:%s: %s",
                         hp->host, hp->port, strerror(err));
                goto out;
        }
        *fdp = fd;
        rc = 0;
out:
        if (res != NULL)
                freeaddrinfo(res);
        return rc;
}

static int cluster_start(const struct options *opts, rd_kafka_t **rkp,
                         rd_kafka_mock_cluster_t **mcp, char *errstr,
                         size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk = NULL;
        rd_kafka_mock_cluster_t *mc = NULL;
        rd_kafka_resp_err_t err;
        sigset_t all;
        sigset_t saved;
        size_t i;
        int rc = -1;

        /* This handle only hosts the cluster and never connects anywhere,
         * so its "no bootstrap.servers" notice would just mislead. */
        if (rd_kafka_conf_set(conf, "log_level", "4", errstr, errstr_size) !=
            RD_KAFKA_CONF_OK)
                goto out;
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (rk == NULL)
                goto out;
        conf = NULL;

        /* The mock thread inherits our signal mask, and a handler that
         * interrupts its poll() makes it log "failed to poll" and stop
         * serving for good. Only the main thread may take signals. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        mc = rd_kafka_mock_cluster_new(rk, 1);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (mc == NULL) {
                snprintf(errstr, errstr_size,
                         "cannot create the mock cluster (see the "
                         "librdkafka log above)");
                goto out;
        }

        for (i = 0; i < opts->topic_cnt; i++) {
                err = rd_kafka_mock_topic_create(mc, opts->topics[i],
                                                 opts->partitions, 1);
                /* A topic named twice is still the topic that was asked
                 * for. */
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                    err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                        snprintf(errstr, errstr_size,
                                 "cannot create topic %s: %s", opts->topics[i],
                                 rd_kafka_err2str(err));
                        goto out;
                }
        }

        *rkp = rk;
        *mcp = mc;
        rk = NULL;
        mc = NULL;
        rc = 0;
out:
        if (mc != NULL)
                rd_kafka_mock_cluster_destroy(mc);
        if (rk != NULL)
                rd_kafka_destroy(rk);
        if (conf != NULL)
                rd_kafka_conf_destroy(conf);
        return rc;
}

static int upstream_resolve(struct forwarder *fw, const char *bootstraps,
                            char *errstr, size_t errstr_size)
{
        struct hostport hp;
        struct addrinfo hints;
        struct addrinfo *res = NULL;
        int gai;
        int rc = -1;

        if (hostport_parse(bootstraps, &hp) == -1) {
                snprintf(errstr, errstr_size,
                         "unexpected mock cluster address '%s'", bootstraps);
                goto out;
        }
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        gai = getaddrinfo(hp.host, hp.port, &hints, &res);
        if (gai != 0) {
                snprintf(errstr, errstr_size,
                         "unexpected mock cluster address '%s': %s", bootstraps,
                         gai_strerror(gai));
                goto out;
        }
        memcpy(&fw->upstream, res->ai_addr, res->ai_addrlen);
        fw->upstream_len = res->ai_addrlen;
        rc = 0;
out:
        if (res != NULL)
                freeaddrinfo(res);
        return rc;
}

static int nodelay_nonblock(int fd)
{
        int on = 1;

        /* A relay must not add Nagle delay to requests the client has
         * already flushed. */
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
                return -1;
        return set_nonblock(fd);
}

static void relay_free(struct relay *r)
{
        if (r->fd[CLIENT] != -1)
                close(r->fd[CLIENT]);
        if (r->fd[UPSTREAM] != -1)
                close(r->fd[UPSTREAM]);
        free(r);
}

/* Takes ownership of client_fd, which is closed on failure. */
static int relay_open(const struct forwarder *fw, int client_fd,
                      struct relay **rp, char *errstr, size_t errstr_size)
{
        struct relay *r = calloc(1, sizeof(*r));
        int rc = -1;

        if (r == NULL) {
                close(client_fd);
                snprintf(errstr, errstr_size,
                         "out of memory for a new connection");
                goto out;
        }
        r->fd[CLIENT] = client_fd;
        r->fd[UPSTREAM] = -1;
        if (nodelay_nonblock(client_fd) == -1) {
                snprintf(errstr, errstr_size, "client socket: %s",
                         strerror(errno));
                goto out;
        }
        r->fd[UPSTREAM] = socket(fw->upstream.ss_family, SOCK_STREAM, 0);
        if (r->fd[UPSTREAM] == -1 || nodelay_nonblock(r->fd[UPSTREAM]) == -1) {
                snprintf(errstr, errstr_size, "upstream socket: %s",
                         strerror(errno));
                goto out;
        }
        if (connect(r->fd[UPSTREAM], (const struct sockaddr *)&fw->upstream,
                    fw->upstream_len) == 0)
                r->connecting = false;
        else if (errno == EINPROGRESS)
                r->connecting = true;
        else {
                snprintf(errstr, errstr_size,
                         "cannot reach the mock broker: %s", strerror(errno));
                goto out;
        }
        *rp = r;
        r = NULL;
        rc = 0;
out:
        if (r != NULL)
                relay_free(r);
        return rc;
}

static int flow_fill(struct flow *f, int fd)
{
        ssize_t n;

        if (f->eof)
                return 0;
        if (f->off > 0) {
                memmove(f->buf, f->buf + f->off, f->len - f->off);
                f->len -= f->off;
                f->off = 0;
        }
        if (f->len == sizeof(f->buf))
                return 0;
        n = recv(fd, f->buf + f->len, sizeof(f->buf) - f->len, 0);
        if (n > 0)
                f->len += (size_t)n;
        else if (n == 0)
                f->eof = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
        return 0;
}

/* Writes what the destination takes now; the rest waits for POLLOUT. */
static int flow_drain(struct flow *f, int fd)
{
        ssize_t n;

        while (f->off < f->len) {
                n = send(fd, f->buf + f->off, f->len - f->off, MSG_NOSIGNAL);
                if (n == -1)
                        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
                f->off += (size_t)n;
        }
        f->off = 0;
        f->len = 0;
        /* Kafka clients rarely half-close, but when one does the other side
         * must still get to answer. */
        if (f->eof && !f->shut) {
                if (shutdown(fd, SHUT_WR) == -1)
                        return -1;
                f->shut = true;
        }
        return 0;
}

static void relay_pollfds(const struct relay *r, struct pollfd pfd[2])
{
        short events;
        int i;

        for (i = 0; i < 2; i++) {
                events = 0;
                if (r->connecting) {
                        if (i == UPSTREAM)
                                events = POLLOUT;
                } else {
                        if (!r->flow[i].eof &&
                            r->flow[i].len - r->flow[i].off < RELAY_BUF_SIZE)
                                events |= POLLIN;
                        if (r->flow[!i].off < r->flow[!i].len)
                                events |= POLLOUT;
                }
                /* poll() skips negative descriptors: a side we can neither
                 * read nor write must not spin the loop on POLLHUP. */
                pfd[i].fd = events != 0 ? r->fd[i] : -1;
                pfd[i].events = events;
                pfd[i].revents = 0;
        }
}

static enum relay_state relay_service(struct relay *r, const short rev[2],
                                      char *errstr, size_t errstr_size)
{
        socklen_t len = sizeof(int);
        int err = 0;
        int i;

        if (r->connecting) {
                if (getsockopt(r->fd[UPSTREAM], SOL_SOCKET, SO_ERROR, &err,
                               &len) == -1)
                        err = errno;
                if (err != 0) {
                        snprintf(errstr, errstr_size,
                                 "cannot reach the mock broker: %s",
                                 strerror(err));
                        return RELAY_FAILED;
                }
                r->connecting = false;
        }
        /* Errors past this point are peers going away, which clients do
         * all the time; they end the relay without a log line. */
        for (i = 0; i < 2; i++) {
                if ((rev[i] & (POLLIN | POLLHUP | POLLERR)) != 0 &&
                    flow_fill(&r->flow[i], r->fd[i]) == -1)
                        return RELAY_DONE;
        }
        for (i = 0; i < 2; i++) {
                if (flow_drain(&r->flow[i], r->fd[!i]) == -1)
                        return RELAY_DONE;
        }
        return r->flow[CLIENT].shut && r->flow[UPSTREAM].shut ? RELAY_DONE
                                                              : RELAY_OPEN;
}

static void forwarder_accept(struct forwarder *fw)
{
        char errstr[256];
        struct relay *r;
        int fd;

        while (fw->relay_cnt < MAX_RELAYS) {
                fd = accept(fw->listen_fd, NULL, NULL);
                if (fd == -1) {
                        if (errno == ECONNABORTED)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return;
                        /* Out of descriptors or memory: the backlog holds
                         * the clients, and retrying at once would spin. */
                        fprintf(stderr, PROG ": accept: %s; pausing\n",
                                strerror(errno));
                        fw->accept_paused = true;
                        return;
                }
                if (relay_open(fw, fd, &r, errstr, sizeof(errstr)) == -1) {
                        fprintf(stderr, PROG ": %s\n", errstr);
                        continue;
                }
                fw->relays[fw->relay_cnt++] = r;
        }
}

static nfds_t forwarder_pollfds(struct forwarder *fw)
{
        size_t i;

        fw->pfds[0].fd = fw->wake_fd;
        fw->pfds[0].events = POLLIN;
        fw->pfds[0].revents = 0;
        /* At the cap, new clients wait in the kernel's backlog. */
        fw->pfds[1].fd = fw->accept_paused || fw->relay_cnt == MAX_RELAYS
                             ? -1
                             : fw->listen_fd;
        fw->pfds[1].events = POLLIN;
        fw->pfds[1].revents = 0;
        for (i = 0; i < fw->relay_cnt; i++)
                relay_pollfds(fw->relays[i], &fw->pfds[2 + 2 * i]);
        return (nfds_t)(2 + 2 * fw->relay_cnt);
}

static int forwarder_run(struct forwarder *fw, char *errstr, size_t errstr_size)
{
        char relay_err[256];
        enum relay_state state;
        struct pollfd *pfd;
        short rev[2];
        size_t i;
        int n;

        /* The handler sets the flag before it writes to the pipe, so the
         * pipe never needs draining: readable means stop. */
        while (!stop_requested) {
                n = poll(fw->pfds, forwarder_pollfds(fw),
                         fw->accept_paused ? ACCEPT_RETRY_MS : -1);
                if (n == -1) {
                        if (errno == EINTR)
                                continue;
                        snprintf(errstr, errstr_size, "poll: %s",
                                 strerror(errno));
                        return -1;
                }
                if (n == 0) {
                        fw->accept_paused = false;
                        continue;
                }
                /* Backwards, so that moving the last relay into a freed
                 * slot never skips one that has not been served. */
                for (i = fw->relay_cnt; i-- > 0;) {
                        pfd = &fw->pfds[2 + 2 * i];
                        rev[CLIENT] = pfd[CLIENT].revents;
                        rev[UPSTREAM] = pfd[UPSTREAM].revents;
                        if (rev[CLIENT] == 0 && rev[UPSTREAM] == 0)
                                continue;
                        state = relay_service(fw->relays[i], rev, relay_err,
                                              sizeof(relay_err));
                        if (state == RELAY_OPEN)
                                continue;
                        if (state == RELAY_FAILED)
                                fprintf(stderr, PROG ": %s\n", relay_err);
                        relay_free(fw->relays[i]);
                        fw->relays[i] = fw->relays[--fw->relay_cnt];
                        fw->accept_paused = false;
                }
                if (fw->pfds[1].revents != 0)
                        forwarder_accept(fw);
        }
        return 0;
}

static void forwarder_close(struct forwarder *fw)
{
        while (fw->relay_cnt > 0)
                relay_free(fw->relays[--fw->relay_cnt]);
        if (fw->listen_fd != -1)
                close(fw->listen_fd);
        fw->listen_fd = -1;
}

int main(int argc, char **argv)
{
        struct options opts;
        struct forwarder fw;
        rd_kafka_t *rk = NULL;
        rd_kafka_mock_cluster_t *mc = NULL;
        char errstr[512];
        int status = EX_OSERR;

        memset(&opts, 0, sizeof(opts));
        memset(&fw, 0, sizeof(fw));
        fw.listen_fd = -1;

        opts.topics = calloc((size_t)argc, sizeof(*opts.topics));
        if (opts.topics == NULL) {
                fprintf(stderr, PROG ": out of memory\n");
                goto out;
        }
        if (options_parse(argc, argv, &opts, errstr, sizeof(errstr)) == -1) {
                fprintf(stderr, PROG ": %s\n", errstr);
                status = EX_USAGE;
                goto out;
        }
        if (opts.help) {
                fputs(usage_text, stdout);
                status = EX_OK;
                goto out;
        }
        if (opts.version) {
                printf(PROG " %s\n", EV_VERSION);
                status = EX_OK;
                goto out;
        }

        if (signals_install(errstr, sizeof(errstr)) == -1) {
                fprintf(stderr, PROG ": %s\n", errstr);
                goto out;
        }
        fw.wake_fd = wake_pipe[0];
        /* Bind first: a taken port is the likely failure, and it should
         * not cost a cluster start and teardown. */
        if (listen_open(&opts.listen, &fw.listen_fd, errstr, sizeof(errstr)) ==
            -1) {
                fprintf(stderr, PROG ": %s\n", errstr);
                status = EX_UNAVAILABLE;
                goto out;
        }
        if (cluster_start(&opts, &rk, &mc, errstr, sizeof(errstr)) == -1) {
                fprintf(stderr, PROG ": %s\n", errstr);
                status = EX_UNAVAILABLE;
                goto out;
        }
        if (upstream_resolve(&fw, rd_kafka_mock_cluster_bootstraps(mc), errstr,
                             sizeof(errstr)) == -1) {
                fprintf(stderr, PROG ": %s\n", errstr);
                goto out;
        }

        fprintf(stderr,
                PROG ": listening on %s (mock cluster at %s), development "
                     "only\n",
                opts.listen_str, rd_kafka_mock_cluster_bootstraps(mc));

        if (forwarder_run(&fw, errstr, sizeof(errstr)) == -1) {
                fprintf(stderr, PROG ": %s\n", errstr);
                goto out;
        }
        status = EX_OK;
out:
        forwarder_close(&fw);
        /* The cluster must go before the handle it was created on. */
        if (mc != NULL)
                rd_kafka_mock_cluster_destroy(mc);
        if (rk != NULL)
                rd_kafka_destroy(rk);
        if (wake_pipe[0] != -1)
                close(wake_pipe[0]);
        if (wake_pipe[1] != -1)
                close(wake_pipe[1]);
        free(opts.topics);
        return status;
}
