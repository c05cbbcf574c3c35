#ifndef XG_CMICROHTTPD_SHIM_H
#define XG_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/resource.h>
#include <microhttpd.h>

/// The error log's rate limit (passed as the logger's closure).
struct xg_log_state {
    long window_start;
    unsigned int in_window, suppressed;
};

static inline struct xg_log_state *xg_log_state_new(void) {
    return calloc(1, sizeof(struct xg_log_state));
}

/// libmicrohttpd's error log, rate-limited: under abuse it would print a line per refused
/// connection. At most 10 lines a minute reach stderr; the next line that does says how
/// many were suppressed. (One copy of this state per importing module: only HTTPServer logs.)
static inline void xg_mhd_log(void *cls, const char *fmt, va_list ap) {
    struct xg_log_state *st = cls;
    if (st == NULL) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long now = (long)ts.tv_sec;
    /* Racy counters are fine here: a log budget, not an invariant. */
    if (now - st->window_start >= 60) { st->window_start = now; st->in_window = 0; }
    if (st->in_window >= 10) { __atomic_add_fetch(&st->suppressed, 1, __ATOMIC_RELAXED); return; }
    st->in_window++;
    char line[512];
    int n = 0;
    unsigned int s = __atomic_exchange_n(&st->suppressed, 0, __ATOMIC_RELAXED);
    if (s > 0) n = snprintf(line, sizeof line, "libmicrohttpd: (%u similar lines suppressed) ", s);
    else n = snprintf(line, sizeof line, "libmicrohttpd: ");
    if (n < 0 || n >= (int)sizeof line) n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    /* The message may quote a request: every control byte but the final newline is written as
       \xNN, so no client can start a line of its own (issue 13). */
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n') line[--len] = 0;
    char out[4 * sizeof line + 2];
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f || c == '\\') {
            if (c == '\\') { out[o++] = '\\'; out[o++] = '\\'; }
            else o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '\n';
    ssize_t w = write(2, out, o);
    (void)w;
}

/// Non-variadic MHD_start_daemon. `host` is an IPv4 or IPv6 literal; port 0 picks a free one.
/// `tls_key`/`tls_cert` (PEM) turn on HTTPS when both are non-NULL, with GnuTLS priorities
/// `tls_priorities` (libmicrohttpd's default, "NORMAL", when NULL). Returns NULL on failure.
static inline struct MHD_Daemon *xg_mhd_start(
    unsigned int flags, const char *host, uint16_t port,
    MHD_AccessHandlerCallback handler, void *handler_cls,
    MHD_RequestCompletedCallback completed, void *completed_cls,
    MHD_NotifyConnectionCallback notify_connection, void *notify_cls,
    unsigned int thread_pool_size, unsigned int connection_timeout,
    unsigned int connection_limit, size_t connection_memory_limit,
    unsigned int per_ip_connection_limit, struct xg_log_state *log_state,
    const char *tls_key, const char *tls_cert, const char *tls_priorities)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    const struct sockaddr *addr = NULL;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        addr = (const struct sockaddr *)&v4;
    } else if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        addr = (const struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    } else {
        return NULL;
    }
    if (tls_key != NULL && tls_cert != NULL) {
        return MHD_start_daemon(flags | MHD_USE_TLS, port, NULL, NULL, handler, handler_cls,
            MHD_OPTION_EXTERNAL_LOGGER, xg_mhd_log, log_state,
            MHD_OPTION_SOCK_ADDR, addr,
            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
            MHD_OPTION_NOTIFY_CONNECTION, notify_connection, notify_cls,
            MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
            MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout,
            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_connection_limit,
            MHD_OPTION_HTTPS_MEM_KEY, tls_key,
            MHD_OPTION_HTTPS_MEM_CERT, tls_cert,
            MHD_OPTION_HTTPS_PRIORITIES, tls_priorities != NULL ? tls_priorities : "NORMAL",
            MHD_OPTION_END);
    }
    return MHD_start_daemon(flags, port, NULL, NULL, handler, handler_cls,
        MHD_OPTION_EXTERNAL_LOGGER, xg_mhd_log, log_state,
        MHD_OPTION_SOCK_ADDR, addr,
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, notify_cls,
        MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_connection_limit,
        MHD_OPTION_END);
}

/// The port the daemon is bound to (useful after asking for port 0).
static inline uint16_t xg_mhd_bound_port(struct MHD_Daemon *d) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/// Number of open connections.
static inline unsigned int xg_mhd_current_connections(struct MHD_Daemon *d) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info == NULL ? 0 : info->num_connections;
}

/// The connection's socket (for the deadline sweeper's shutdown(2)); -1 if unknown.
static inline int xg_mhd_connection_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

/// The client's address as text into `out` (IPv4 dotted, IPv6 without brackets, an IPv4-mapped
/// IPv6 address as IPv4); "" when unknown.
static inline void xg_mhd_client_address(struct MHD_Connection *c, char *out, size_t len) {
    if (len == 0) return;
    out[0] = 0;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET) {
        if (inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len) == NULL) out[0] = 0;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        const char *r = IN6_IS_ADDR_V4MAPPED(a) ? inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len)
                                                : inet_ntop(AF_INET6, a, out, (socklen_t)len);
        if (r == NULL) out[0] = 0;
    }
}

/// The pointer stored by the notify-connection callback for this connection.
static inline void *xg_mhd_socket_context(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : info->socket_context;
}

/// Raises the soft descriptor limit to the hard one; returns the soft limit now in force.
static inline long xg_raise_nofile_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
    if (r.rlim_cur < r.rlim_max) {
        struct rlimit want = r;
        want.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) r = want;
    }
    return r.rlim_cur == RLIM_INFINITY ? (1L << 20) : (long)r.rlim_cur;
}

/// Hands freed heap memory back to the kernel (glibc keeps it in its arenas otherwise).
static inline void xg_malloc_trim(void) { (void)malloc_trim(0); }

static inline struct MHD_Response *xg_mhd_empty_response(void) {
    return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
}
#endif
