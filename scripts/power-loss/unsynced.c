/*
 * unsynced.so — an LD_PRELOAD shim that makes a power loss out of kill -9, the way SQLite's
 * own crash tests throw away what was never synced. For every file whose path starts with
 * $PL_PREFIX (the database, its -wal and -journal; not the -shm index, which SQLite rebuilds),
 * writes and truncations are kept in memory, per inode, and reach the real file only when
 * fsync/fdatasync is called on it. Reads and fstat see the pending writes, so the process
 * behaves normally; kill -9 then loses exactly what a power cut would: everything not synced.
 *
 * $PL_STATS (optional): a file mapped shared, where counters are kept (they survive kill -9):
 * writes intercepted, bytes, writes applied by a sync, bytes, syncs.
 * $PL_SYNC_DELAY_US (optional): each fsync of a tracked file first waits this long, as a slow
 * disk does, so pending writes exist for a while before every sync (a kill lands among them
 * on a fast machine too).
 *
 * Built by scripts/power-loss-test: gcc -shared -fPIC -O2 -o unsynced.so unsynced.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct { int truncate; off_t off; size_t len; char *data; } op_t;
typedef struct inode { dev_t dev; ino_t ino; op_t *ops; size_t n, cap; struct inode *next; } inode_t;
struct stats { uint64_t writes, write_bytes, applied, applied_bytes, syncs, reads; };

#define MAXFD 65536
static inode_t *inodes;
static inode_t *fdmap[MAXFD];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char prefix[4096];
static size_t prefix_len;
static struct stats local_stats, *st = &local_stats;
static int ready;
static useconds_t sync_delay_us;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off_t);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_fstat)(int, struct stat *);
static int (*real_fstat64)(int, struct stat64 *);

static void init(void) {
    if (ready) return;
    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_openat64 = dlsym(RTLD_NEXT, "openat64");
    real_close = dlsym(RTLD_NEXT, "close");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pread = dlsym(RTLD_NEXT, "pread");
    real_pread64 = dlsym(RTLD_NEXT, "pread64");
    real_read = dlsym(RTLD_NEXT, "read");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_fstat = dlsym(RTLD_NEXT, "fstat");
    real_fstat64 = dlsym(RTLD_NEXT, "fstat64");
    const char *p = getenv("PL_PREFIX");
    if (p != NULL && strlen(p) < sizeof prefix) { strcpy(prefix, p); prefix_len = strlen(p); }
    const char *d = getenv("PL_SYNC_DELAY_US");
    if (d != NULL) sync_delay_us = (useconds_t)strtoul(d, NULL, 10);
    const char *s = getenv("PL_STATS");
    if (s != NULL) {
        int fd = real_open(s, O_RDWR | O_CREAT, 0644);
        if (fd >= 0) {
            if (real_ftruncate(fd, sizeof(struct stats)) == 0) {
                void *m = mmap(NULL, sizeof(struct stats), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (m != MAP_FAILED) st = m;
            }
            real_close(fd);
        }
    }
    ready = 1;
}

__attribute__((constructor)) static void ctor(void) { init(); }

static int tracked_path(const char *p) {
    if (prefix_len == 0 || p == NULL || strncmp(p, prefix, prefix_len) != 0) return 0;
    return strstr(p + prefix_len, "-shm") == NULL;
}

static void track(int fd) {
    struct stat s;
    if (fd < 0 || fd >= MAXFD || real_fstat(fd, &s) != 0) return;
    pthread_mutex_lock(&mu);
    inode_t *e = inodes;
    while (e != NULL && !(e->dev == s.st_dev && e->ino == s.st_ino)) e = e->next;
    if (e == NULL) {
        e = calloc(1, sizeof *e);
        e->dev = s.st_dev;
        e->ino = s.st_ino;
        e->next = inodes;
        inodes = e;
    }
    fdmap[fd] = e;
    pthread_mutex_unlock(&mu);
}

static inode_t *lookup(int fd) { return (fd >= 0 && fd < MAXFD) ? __atomic_load_n(&fdmap[fd], __ATOMIC_ACQUIRE) : NULL; }

static void push(inode_t *e, int truncate, off_t off, const void *buf, size_t len) {
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->ops = realloc(e->ops, e->cap * sizeof(op_t));
    }
    op_t *o = &e->ops[e->n++];
    o->truncate = truncate;
    o->off = off;
    o->len = len;
    o->data = NULL;
    if (!truncate) { o->data = malloc(len ? len : 1); memcpy(o->data, buf, len); }
}

/* Size of the file as this process sees it: the real size, then every pending op in order. */
static off_t logical_size(int fd, inode_t *e) {
    struct stat s;
    off_t size = real_fstat(fd, &s) == 0 ? s.st_size : 0;
    for (size_t i = 0; i < e->n; i++) {
        op_t *o = &e->ops[i];
        if (o->truncate) size = o->off;
        else if (o->off + (off_t)o->len > size) size = o->off + (off_t)o->len;
    }
    return size;
}

static ssize_t overlay_read(int fd, inode_t *e, void *buf, size_t n, off_t off) {
    pthread_mutex_lock(&mu);
    memset(buf, 0, n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = real_pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    struct stat s;
    off_t size = real_fstat(fd, &s) == 0 ? s.st_size : 0;
    off_t end = off + (off_t)n;
    for (size_t i = 0; i < e->n; i++) {
        op_t *o = &e->ops[i];
        if (o->truncate) {
            size = o->off;
            if (o->off < end) {
                off_t from = o->off > off ? o->off : off;
                memset((char *)buf + (from - off), 0, (size_t)(end - from));
            }
        } else {
            off_t a = o->off > off ? o->off : off;
            off_t b = o->off + (off_t)o->len < end ? o->off + (off_t)o->len : end;
            if (a < b) memcpy((char *)buf + (a - off), o->data + (a - o->off), (size_t)(b - a));
            if (o->off + (off_t)o->len > size) size = o->off + (off_t)o->len;
        }
    }
    __atomic_add_fetch(&st->reads, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&mu);
    if (size <= off) return 0;
    return (ssize_t)((size - off) < (off_t)n ? (size_t)(size - off) : n);
}

static ssize_t pending_write(inode_t *e, const void *buf, size_t n, off_t off) {
    pthread_mutex_lock(&mu);
    push(e, 0, off, buf, n);
    __atomic_add_fetch(&st->writes, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->write_bytes, n, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&mu);
    return (ssize_t)n;
}

static void apply(int fd, inode_t *e) {
    if (sync_delay_us > 0) usleep(sync_delay_us);
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < e->n; i++) {
        op_t *o = &e->ops[i];
        if (o->truncate) {
            if (real_ftruncate(fd, o->off) != 0) abort();
        } else {
            size_t done = 0;
            while (done < o->len) {
                ssize_t w = real_pwrite(fd, o->data + done, o->len - done, o->off + (off_t)done);
                if (w <= 0) abort();   /* the test's disk is not full: fail loudly */
                done += (size_t)w;
            }
            __atomic_add_fetch(&st->applied, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&st->applied_bytes, o->len, __ATOMIC_RELAXED);
            free(o->data);
        }
    }
    e->n = 0;
    __atomic_add_fetch(&st->syncs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&mu);
}

#define OPEN_MODE(flags, mode) \
    mode_t mode = 0; \
    if ((flags) & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = (mode_t)va_arg(ap, int); va_end(ap); }

int open(const char *path, int flags, ...) {
    init();
    OPEN_MODE(flags, mode);
    int fd = real_open(path, flags, mode);
    if (fd >= 0 && tracked_path(path)) track(fd);
    return fd;
}
int open64(const char *path, int flags, ...) {
    init();
    OPEN_MODE(flags, mode);
    int fd = real_open64(path, flags, mode);
    if (fd >= 0 && tracked_path(path)) track(fd);
    return fd;
}
int openat(int dirfd, const char *path, int flags, ...) {
    init();
    OPEN_MODE(flags, mode);
    int fd = real_openat(dirfd, path, flags, mode);
    if (fd >= 0 && path[0] == '/' && tracked_path(path)) track(fd);
    return fd;
}
int openat64(int dirfd, const char *path, int flags, ...) {
    init();
    OPEN_MODE(flags, mode);
    int fd = real_openat64(dirfd, path, flags, mode);
    if (fd >= 0 && path[0] == '/' && tracked_path(path)) track(fd);
    return fd;
}
int close(int fd) {
    init();
    if (fd >= 0 && fd < MAXFD) __atomic_store_n(&fdmap[fd], NULL, __ATOMIC_RELEASE);
    return real_close(fd);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    init();
    inode_t *e = lookup(fd);
    return e ? pending_write(e, buf, n, off) : real_pwrite(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
    init();
    inode_t *e = lookup(fd);
    return e ? pending_write(e, buf, n, off) : real_pwrite64(fd, buf, n, off);
}
ssize_t write(int fd, const void *buf, size_t n) {
    init();
    inode_t *e = lookup(fd);
    if (!e) return real_write(fd, buf, n);
    off_t off = lseek(fd, 0, SEEK_CUR);
    ssize_t r = pending_write(e, buf, n, off);
    lseek(fd, off + (off_t)n, SEEK_SET);
    return r;
}
ssize_t pread(int fd, void *buf, size_t n, off_t off) {
    init();
    inode_t *e = lookup(fd);
    return e ? overlay_read(fd, e, buf, n, off) : real_pread(fd, buf, n, off);
}
ssize_t pread64(int fd, void *buf, size_t n, off_t off) {
    init();
    inode_t *e = lookup(fd);
    return e ? overlay_read(fd, e, buf, n, off) : real_pread64(fd, buf, n, off);
}
ssize_t read(int fd, void *buf, size_t n) {
    init();
    inode_t *e = lookup(fd);
    if (!e) return real_read(fd, buf, n);
    off_t off = lseek(fd, 0, SEEK_CUR);
    ssize_t r = overlay_read(fd, e, buf, n, off);
    if (r > 0) lseek(fd, off + r, SEEK_SET);
    return r;
}
int ftruncate(int fd, off_t len) {
    init();
    inode_t *e = lookup(fd);
    if (!e) return real_ftruncate(fd, len);
    pthread_mutex_lock(&mu);
    push(e, 1, len, NULL, 0);
    pthread_mutex_unlock(&mu);
    return 0;
}
int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }
int fsync(int fd) {
    init();
    inode_t *e = lookup(fd);
    if (e) apply(fd, e);
    return real_fsync(fd);
}
int fdatasync(int fd) {
    init();
    inode_t *e = lookup(fd);
    if (e) apply(fd, e);
    return real_fdatasync(fd);
}
int fstat(int fd, struct stat *buf) {
    init();
    int r = real_fstat(fd, buf);
    inode_t *e = lookup(fd);
    if (r == 0 && e) { pthread_mutex_lock(&mu); buf->st_size = logical_size(fd, e); pthread_mutex_unlock(&mu); }
    return r;
}
int fstat64(int fd, struct stat64 *buf) {
    init();
    int r = real_fstat64(fd, buf);
    inode_t *e = lookup(fd);
    if (r == 0 && e) { pthread_mutex_lock(&mu); buf->st_size = logical_size(fd, e); pthread_mutex_unlock(&mu); }
    return r;
}
