#ifndef XG_CPOSTGRESQL_SHIM_H
#define XG_CPOSTGRESQL_SHIM_H
#include <libpq-fe.h>

/* libpq prints server notices ("relation already exists, skipping", ...) to stderr by default;
   the store reports what matters through its errors, so a connection's notices are dropped.
   A C function, because a Swift closure cannot be handed to PQsetNoticeProcessor without a
   context object. */
static void xg_pq_drop_notice(void *arg, const char *message) { (void)arg; (void)message; }
static inline void xg_pq_silence_notices(PGconn *conn) {
    PQsetNoticeProcessor(conn, xg_pq_drop_notice, NULL);
}
#endif
