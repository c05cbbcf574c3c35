/*
 * webhook_baseline.c — the fair C baseline for the xero-gateway webhook benchmark.
 *
 * POST /webhooks/xero: accumulate the body (max 1 MiB, else 413), verify
 *   x-xero-signature = base64(HMAC-SHA256(XERO_WEBHOOK_KEY bytes as-is, raw body))
 *   (401 when missing or wrong), then suspend the connection and hand it to ONE writer
 *   thread. The writer drains its whole queue, inserts every raw body into SQLite
 *   (WAL, synchronous=FULL) in one transaction (group commit: one fsync for many
 *   requests), commits, and resumes each connection, which then answers 200 with an
 *   empty body (500 if the commit failed). Nothing is acknowledged before it is durable.
 * GET /healthz: 200 "ok". Anything else: 404 / 405.
 *
 * libmicrohttpd thread pool on epoll, THREAD_POOL_SIZE = online cores, connection
 * timeout 10 s, the library's default per-connection pool (BASELINE_CONNECTION_MEMORY sets
 * one). SIGINT/SIGTERM: new webhooks get 503, the daemon is quiesced, queued work is
 * committed and answered, then the daemon is stopped and the DB closed.
 *
 * Usage:   XERO_WEBHOOK_KEY=... ./webhook_baseline PORT DB_PATH
 * Compile: cc -O2 -o webhook_baseline webhook_baseline.c -lmicrohttpd -lcrypto -lsqlite3 -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#define MAX_BODY (1024 * 1024)
#define WEBHOOK_PATH "/webhooks/xero"

enum req_state { RS_READING = 0, RS_QUEUED = 1, RS_DONE = 2 };

struct req {
    struct MHD_Connection *conn;
    unsigned char *buf;
    size_t len, cap;
    int too_big;
    enum req_state state;
    unsigned int status; /* set by the writer before resume */
    struct req *next;
};

/* ---- global state ---- */
static const char *g_key;
static size_t g_key_len;
static sqlite3 *g_db;
static sqlite3_stmt *g_insert;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_drained = PTHREAD_COND_INITIALIZER;
static struct req *g_head, *g_tail;
static long g_inflight;     /* queued or being written, connection suspended */
static int g_shutting_down; /* new webhooks get 503 */
static int g_writer_stop;
static unsigned long long g_commits, g_rows; /* writer thread only */

static struct MHD_Response *g_empty;    /* 200 / 401 / ... bodies: empty, shared */
static struct MHD_Response *g_ok_text;  /* "ok" for /healthz */

static void die(const char *what) {
    fprintf(stderr, "webhook_baseline: %s\n", what);
    exit(1);
}

/* ---- signature ---- */
static int signature_ok(const unsigned char *body, size_t len, const char *sig_b64) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    unsigned char expect[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    static const unsigned char empty = 0;
    if (sig_b64 == NULL) return 0;
    if (HMAC(EVP_sha256(), g_key, (int)g_key_len, len ? body : &empty, len, mac, &mac_len) == NULL)
        return 0;
    int elen = EVP_EncodeBlock(expect, mac, (int)mac_len); /* 44 chars for SHA-256 */
    if (strlen(sig_b64) != (size_t)elen) return 0;
    return CRYPTO_memcmp(expect, sig_b64, (size_t)elen) == 0;
}

/* ---- writer thread: group commit ---- */
static int exec_sql(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(g_db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "webhook_baseline: sqlite: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return 0;
    }
    return 1;
}

static void *writer_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&g_mu);
        while (g_head == NULL && !g_writer_stop) pthread_cond_wait(&g_cv, &g_mu);
        if (g_head == NULL && g_writer_stop) {
            pthread_mutex_unlock(&g_mu);
            break;
        }
        struct req *batch = g_head;
        g_head = g_tail = NULL;
        pthread_mutex_unlock(&g_mu);

        long n = 0;
        int ok = exec_sql("BEGIN IMMEDIATE");
        sqlite3_int64 now = (sqlite3_int64)time(NULL);
        for (struct req *r = batch; r != NULL && ok; r = r->next) {
            sqlite3_bind_int64(g_insert, 1, now);
            /* a NULL pointer would bind SQL NULL: give an empty body a real address */
            sqlite3_bind_blob(g_insert, 2, r->buf ? (const void *)r->buf : (const void *)"", (int)r->len,
                              SQLITE_STATIC);
            if (sqlite3_step(g_insert) != SQLITE_DONE) {
                fprintf(stderr, "webhook_baseline: insert: %s\n", sqlite3_errmsg(g_db));
                ok = 0;
            }
            sqlite3_reset(g_insert);
            sqlite3_clear_bindings(g_insert);
        }
        if (ok) ok = exec_sql("COMMIT");
        if (!ok) exec_sql("ROLLBACK");
        if (ok) g_commits++;

        /* Answer everyone in the batch. Read next before resuming: after the resume the
           connection's thread may finish the request and free it. */
        for (struct req *r = batch, *next; r != NULL; r = next) {
            next = r->next;
            r->next = NULL;
            r->status = ok ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR;
            r->state = RS_DONE;
            MHD_resume_connection(r->conn);
            n++;
        }
        if (ok) g_rows += (unsigned long long)n;
        pthread_mutex_lock(&g_mu);
        g_inflight -= n;
        if (g_inflight == 0) pthread_cond_broadcast(&g_drained);
        pthread_mutex_unlock(&g_mu);
    }
    return NULL;
}

/* ---- HTTP ---- */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r) {
    return MHD_queue_response(c, status, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)cls;
    (void)version;
    struct req *r = *con_cls;

    if (r == NULL) {
        /* First call: headers only. Route now. */
        if (strcmp(url, WEBHOOK_PATH) != 0) {
            if (strcmp(url, "/healthz") == 0 && strcmp(method, MHD_HTTP_METHOD_GET) == 0)
                return reply(conn, MHD_HTTP_OK, g_ok_text);
            return reply(conn, MHD_HTTP_NOT_FOUND, g_empty);
        }
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, g_empty);
        r = calloc(1, sizeof *r);
        if (r == NULL) return MHD_NO;
        r->conn = conn;
        *con_cls = r;
        return MHD_YES;
    }

    if (*upload_data_size != 0) {
        /* A body chunk: consume it. */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big) return MHD_YES;
        if (r->len + n > MAX_BODY) {
            r->too_big = 1;
            free(r->buf);
            r->buf = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t cap = r->cap ? r->cap : 1024;
            while (cap < r->len + n) cap *= 2;
            if (cap > MAX_BODY) cap = MAX_BODY;
            unsigned char *nb = realloc(r->buf, cap);
            if (nb == NULL) return MHD_NO;
            r->buf = nb;
            r->cap = cap;
        }
        memcpy(r->buf + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }

    /* Final call (size 0): either the body is complete, or we were resumed. */
    switch (r->state) {
    case RS_DONE:
        return reply(conn, r->status, g_empty);
    case RS_QUEUED:
        return MHD_YES; /* spurious; still waiting for the writer */
    case RS_READING:
        break;
    }
    if (r->too_big) return reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, g_empty);
    const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-xero-signature");
    if (!signature_ok(r->buf, r->len, sig)) return reply(conn, MHD_HTTP_UNAUTHORIZED, g_empty);

    pthread_mutex_lock(&g_mu);
    if (g_shutting_down) {
        pthread_mutex_unlock(&g_mu);
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, g_empty);
    }
    /* Suspend BEFORE the writer can see (and resume) the connection. */
    r->state = RS_QUEUED;
    MHD_suspend_connection(conn);
    if (g_tail) g_tail->next = r; else g_head = r;
    g_tail = r;
    g_inflight++;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    struct req *r = *con_cls;
    if (r == NULL) return;
    free(r->buf);
    free(r);
    *con_cls = NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: XERO_WEBHOOK_KEY=... %s PORT DB_PATH\n", argv[0]);
        return 2;
    }
    long port = strtol(argv[1], NULL, 10);
    if (port <= 0 || port > 65535) die("bad port");
    g_key = getenv("XERO_WEBHOOK_KEY");
    if (g_key == NULL || *g_key == '\0') die("XERO_WEBHOOK_KEY is not set");
    g_key_len = strlen(g_key);

    /* SQLite: one writer connection, WAL, synchronous=FULL. */
    if (sqlite3_open_v2(argv[2], &g_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        die("cannot open database");
    sqlite3_busy_timeout(g_db, 5000);
    if (!exec_sql("PRAGMA journal_mode=WAL") || !exec_sql("PRAGMA synchronous=FULL") ||
        !exec_sql("CREATE TABLE IF NOT EXISTS deliveries ("
                  " id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, body BLOB NOT NULL)"))
        die("cannot initialise database");
    if (sqlite3_prepare_v2(g_db, "INSERT INTO deliveries(received_at, body) VALUES (?, ?)", -1,
                           &g_insert, NULL) != SQLITE_OK)
        die("cannot prepare insert");

    g_empty = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    g_ok_text = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    if (g_empty == NULL || g_ok_text == NULL) die("cannot create responses");
    MHD_add_response_header(g_ok_text, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");

    /* Block the shutdown signals in every thread; main waits for them with sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_t writer;
    if (pthread_create(&writer, NULL, writer_main, NULL) != 0) die("cannot start writer thread");

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    /* BASELINE_CONNECTION_MEMORY: the per-connection pool in bytes; unset or 0 keeps the
       library's default (what a plain C receiver runs with). */
    const char *pool_env = getenv("BASELINE_CONNECTION_MEMORY");
    size_t pool = pool_env != NULL ? (size_t)strtoul(pool_env, NULL, 10) : 0;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = pool > 0
        ? MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                           MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cores,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                           MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1024,
                           MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
                           MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_END)
        : MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                           MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cores,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                           MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1024,
                           MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_END);
    if (d == NULL) die("cannot start libmicrohttpd daemon (port in use?)");
    fprintf(stderr, "webhook_baseline: listening on port %ld, %ld threads, db %s\n", port, cores, argv[2]);

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "webhook_baseline: signal %d, shutting down\n", sig);

    /* 1. refuse new work, 2. stop accepting, 3. wait until nothing is suspended,
       4. stop the daemon, 5. stop the writer, 6. close the DB. */
    pthread_mutex_lock(&g_mu);
    g_shutting_down = 1;
    pthread_mutex_unlock(&g_mu);
    MHD_socket lfd = MHD_quiesce_daemon(d);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&g_mu);
    while (g_inflight > 0) {
        if (pthread_cond_timedwait(&g_drained, &g_mu, &deadline) == ETIMEDOUT) break;
    }
    long left = g_inflight;
    pthread_mutex_unlock(&g_mu);
    if (left > 0) {
        fprintf(stderr, "webhook_baseline: %ld requests still queued after 10 s; exiting without stopping the daemon\n", left);
        _exit(1);
    }
    MHD_stop_daemon(d);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);

    pthread_mutex_lock(&g_mu);
    g_writer_stop = 1;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    pthread_join(writer, NULL);

    fprintf(stderr, "webhook_baseline: %llu rows in %llu commits (%.1f rows/commit)\n", g_rows, g_commits,
            g_commits ? (double)g_rows / (double)g_commits : 0.0);
    sqlite3_finalize(g_insert);
    if (sqlite3_close(g_db) != SQLITE_OK) fprintf(stderr, "webhook_baseline: sqlite close failed\n");
    MHD_destroy_response(g_empty);
    MHD_destroy_response(g_ok_text);
    fprintf(stderr, "webhook_baseline: stopped cleanly\n");
    return 0;
}
