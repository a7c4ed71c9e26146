/*
 * Registered sequences: tables in, lookups out.
 *
 * What the signal handler reads is one immutable SNAPSHOT: per event, a
 * sorted array of range starts (searched) beside the decoded ranges,
 * with no two ranges of one event overlapping. Writers (registration,
 * removal) hold `lock`, build the next snapshot from the current one
 * (a merge with the new table's sorted ranges, or a filter that drops
 * a table's), publish it with one atomic exchange, wait until no reader
 * that may have seen the old one is still reading, and free it.
 *
 * Readers (signal handlers, any thread) take no lock and allocate
 * nothing: inside a grace-period read section (grace.h) they load the
 * snapshot, binary-search it and copy what they found. A writer, after
 * the exchange, waits out the grace period: every reader that may have
 * loaded the old snapshot has left when it returns.
 *
 * Cost: a registration or removal rebuilds the snapshot, O(n) for n
 * ranges in all plus O(m log m) to sort the m new ones; a lookup is
 * O(log n) and two atomic additions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grace.h"
#include "seq_table.h"
#include "signals.h"

#define NEVENTS 4 /* indexed by tether_seq_event, 1 .. 3 */

struct snapshot {
    size_t n[NEVENTS];
    uintptr_t *starts[NEVENTS];              /* sorted, searched */
    struct tether_seq_entry *ranges[NEVENTS]; /* in the same order */
};

/* A registered table: a JIT's (section NULL) or an object's section. */
struct tether_seq_table {
    struct tether_seq_table *next;
    const tether_seq_record *section; /* its start: the key of a section */
    long refs;                        /* registrations of that section */
    size_t n;
    struct tether_seq_entry *e;       /* sorted by (event, start) */
};

static struct snapshot *_Atomic current;
static struct tether_grace grace; /* readers of `current` */

/* Writers: the tables, and everything above that is not atomic. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tether_seq_table *tables;

/* ------------------------------------------------------------- readers */

/* Async-signal-safe; nests (a handler may interrupt a reader). */
int tether__seq_find(uintptr_t pc, int event, struct tether_seq_entry *out)
{
    int i = tether__grace_enter(&grace);
    const struct snapshot *s = atomic_load(&current);
    int found = 0;

    if (s && event > 0 && event < NEVENTS) {
        const uintptr_t *starts = s->starts[event];
        size_t lo = 0, hi = s->n[event];

        /* The last range starting at or before pc: the only one that may hold it. */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (starts[mid] <= pc)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && pc < s->ranges[event][lo - 1].end) {
            *out = s->ranges[event][lo - 1];
            found = 1;
        }
    }
    tether__grace_leave(&grace, i);
    return found;
}

int tether__seq_defers(uintptr_t pc)
{
    struct tether_seq_entry e;

    return tether__seq_find(pc, TETHER_SEQ_INTERRUPT, &e) && e.action == TETHER_SEQ_DEFER;
}

int tether_seq_lookup(const void *pc, tether_seq_event event, tether_seq_range *out)
{
    struct tether_seq_entry e;

    if (event < TETHER_SEQ_FAULT || event > TETHER_SEQ_PREEMPT)
        return -EINVAL;
    if (!tether__seq_find((uintptr_t)pc, event, &e))
        return -ENOENT;
    if (out) {
        out->start = (const void *)e.start;
        out->end = (const void *)e.end;
        out->response = (const void *)e.response;
        out->event = (tether_seq_event)e.event;
        out->action = (tether_seq_action)e.action;
    }
    return 0;
}

/* ------------------------------------------------------------- writers */

/* Lock held. Once it returns, no reader uses the old snapshot: freed. */
static void publish(struct snapshot *next)
{
    struct snapshot *old = atomic_exchange(&current, next);

    tether__grace_wait(&grace);
    free(old);
}

/* A snapshot with room for n[e] ranges of each event, in one block. */
static struct snapshot *snapshot_alloc(const size_t *n)
{
    size_t total = 0;
    struct snapshot *s;
    char *p;

    for (int e = 1; e < NEVENTS; e++)
        total += n[e] * (sizeof(uintptr_t) + sizeof(struct tether_seq_entry));
    s = malloc(sizeof *s + total);
    if (!s)
        return NULL;
    /* Entries first: their alignment is the stricter. */
    p = (char *)(s + 1);
    for (int e = 1; e < NEVENTS; e++) {
        s->n[e] = 0;
        s->ranges[e] = (struct tether_seq_entry *)p;
        p += n[e] * sizeof(struct tether_seq_entry);
    }
    for (int e = 1; e < NEVENTS; e++) {
        s->starts[e] = (uintptr_t *)p;
        p += n[e] * sizeof(uintptr_t);
    }
    s->n[0] = 0;
    s->starts[0] = NULL;
    s->ranges[0] = NULL;
    return s;
}

/* Appends r to event e's arrays; 0, or -EEXIST if it overlaps the last one. */
static int append(struct snapshot *s, int e, const struct tether_seq_entry *r)
{
    size_t k = s->n[e];

    if (k > 0 && s->ranges[e][k - 1].end > r->start)
        return -EEXIST;
    s->ranges[e][k] = *r;
    s->starts[e][k] = r->start;
    s->n[e] = k + 1;
    return 0;
}

/*
 * The current snapshot with the m ranges of `add` (sorted by event and
 * start) merged in: stores it in *out and returns 0, or -EEXIST, -ENOMEM.
 */
static int snapshot_merge(const struct snapshot *cur, const struct tether_seq_entry *add,
                          size_t m, struct snapshot **out)
{
    size_t n[NEVENTS] = {0}, j = 0;
    struct snapshot *s;
    int err = 0;

    for (int e = 1; e < NEVENTS; e++)
        n[e] = cur ? cur->n[e] : 0;
    for (size_t k = 0; k < m; k++)
        n[add[k].event]++;
    if (!(s = snapshot_alloc(n)))
        return -ENOMEM;
    for (int e = 1; e < NEVENTS && !err; e++) {
        size_t i = 0, have = cur ? cur->n[e] : 0;

        while (!err && (i < have || (j < m && add[j].event == e))) {
            int take_new = j < m && add[j].event == e &&
                           (i == have || add[j].start < cur->ranges[e][i].start);
            err = append(s, e, take_new ? &add[j++] : &cur->ranges[e][i++]);
        }
    }
    if (err) {
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

/* The current snapshot without the ranges of `owner`. */
static struct snapshot *snapshot_without(const struct snapshot *cur, const void *owner)
{
    size_t n[NEVENTS] = {0};
    struct snapshot *s;

    for (int e = 1; e < NEVENTS; e++)
        n[e] = cur ? cur->n[e] : 0;
    if (!(s = snapshot_alloc(n)))
        return NULL;
    for (int e = 1; e < NEVENTS; e++)
        for (size_t i = 0; i < n[e]; i++)
            if (cur->ranges[e][i].owner != owner)
                append(s, e, &cur->ranges[e][i]);
    return s;
}

/* Is this (event, action, response) a declaration tether knows? */
static int valid(int event, int action, uintptr_t response)
{
    switch (event) {
    case TETHER_SEQ_FAULT:
        return action == TETHER_SEQ_RESPONSE && response;
    case TETHER_SEQ_INTERRUPT:
        if (action == TETHER_SEQ_RESPONSE)
            return response != 0;
        return (action == TETHER_SEQ_RESTART || action == TETHER_SEQ_DEFER) && !response;
    case TETHER_SEQ_PREEMPT:
        if (action == TETHER_SEQ_RESPONSE)
            return response != 0;
        return action == TETHER_SEQ_RESTART && !response;
    default:
        return 0;
    }
}

static int by_event_start(const void *a, const void *b)
{
    const struct tether_seq_entry *x = a, *y = b;

    if (x->event != y->event)
        return x->event < y->event ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Sorts a new table's ranges and checks them: 0, or -EINVAL (checked
 * before), -EEXIST (two of one event overlap).
 */
static int table_sort(struct tether_seq_table *t)
{
    qsort(t->e, t->n, sizeof *t->e, by_event_start);
    for (size_t k = 1; k < t->n; k++)
        if (t->e[k].event == t->e[k - 1].event && t->e[k - 1].end > t->e[k].start)
            return -EEXIST;
    return 0;
}

/* The registered section that starts at `start` (lock held), or NULL. */
static struct tether_seq_table *section_find(const tether_seq_record *start)
{
    for (struct tether_seq_table *t = tables; t; t = t->next)
        if (t->section && t->section == start)
            return t;
    return NULL;
}

/*
 * Adds a table whose ranges are filled in (and owned by it): 0 or
 * -errno; 1 if it is a section registered meanwhile, which got one more
 * reference instead (the caller frees t).
 */
static int table_add(struct tether_seq_table *t)
{
    struct tether_seq_table *same;
    struct snapshot *next;
    int err;

    for (size_t k = 0; k < t->n; k++)
        t->e[k].owner = t;
    if ((err = table_sort(t)) != 0)
        return err;
    pthread_mutex_lock(&lock);
    if (t->section && (same = section_find(t->section)) != NULL) {
        same->refs++;
        pthread_mutex_unlock(&lock);
        return 1;
    }
    err = snapshot_merge(atomic_load(&current), t->e, t->n, &next);
    if (err == 0) {
        publish(next);
        t->next = tables;
        tables = t;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

/* Removes a registered table (lock held): 0, or -ENOMEM (it stays). */
static int table_remove_locked(struct tether_seq_table *t)
{
    struct snapshot *next = snapshot_without(atomic_load(&current), t);

    if (!next)
        return -ENOMEM;
    publish(next);
    for (struct tether_seq_table **p = &tables; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    return 0;
}

static void table_free(struct tether_seq_table *t)
{
    if (t) {
        free(t->e);
        free(t);
    }
}

static struct tether_seq_table *table_new(size_t n)
{
    struct tether_seq_table *t = calloc(1, sizeof *t);

    if (t && !(t->e = calloc(n ? n : 1, sizeof *t->e))) {
        free(t);
        t = NULL;
    }
    if (t)
        t->n = n;
    return t;
}

int tether__seq_register(const tether_seq_range *ranges, size_t n, tether_seq_table **out)
{
    struct tether_seq_table *t;
    int err;

    if (!out || !ranges || n == 0)
        return -EINVAL;
    for (size_t k = 0; k < n; k++) {
        const tether_seq_range *r = &ranges[k];
        if ((uintptr_t)r->start >= (uintptr_t)r->end ||
            !valid(r->event, r->action, (uintptr_t)r->response))
            return -EINVAL;
    }
    if (tether__signals_install() != 0)
        return -EAGAIN;
    if (!(t = table_new(n)))
        return -ENOMEM;
    for (size_t k = 0; k < n; k++) {
        t->e[k].start = (uintptr_t)ranges[k].start;
        t->e[k].end = (uintptr_t)ranges[k].end;
        t->e[k].response = (uintptr_t)ranges[k].response;
        t->e[k].event = (uint8_t)ranges[k].event;
        t->e[k].action = (uint8_t)ranges[k].action;
    }
    if ((err = table_add(t)) != 0) {
        table_free(t);
        return err;
    }
    *out = t;
    return 0;
}

int tether__seq_unregister(tether_seq_table *t)
{
    int err = -EINVAL;

    if (!t)
        return -EINVAL;
    pthread_mutex_lock(&lock);
    for (struct tether_seq_table *p = tables; p; p = p->next)
        if (p == t && !t->section) {
            err = table_remove_locked(t);
            break;
        }
    pthread_mutex_unlock(&lock);
    if (err == 0)
        table_free(t);
    return err;
}

/* The address a record's field stands for. */
static uintptr_t rel(const int32_t *field)
{
    return (uintptr_t)field + (uintptr_t)(intptr_t)*field;
}

/*
 * Registers an object's section. install: tether's handlers are
 * installed first (not for tether's own table, which must not change
 * when they are).
 */
static int section_register(const tether_seq_record *start, const tether_seq_record *stop,
                            int install)
{
    size_t n = stop > start ? (size_t)(stop - start) : 0;
    struct tether_seq_table *t;
    int err;

    if (!start || !stop)
        return -EINVAL;
    if (install && tether__signals_install() != 0)
        return -EAGAIN;
    if (n == 0)
        return 0;
    /* Registered already (tether's own table in a static program): one more reference. */
    pthread_mutex_lock(&lock);
    if ((t = section_find(start)) != NULL)
        t->refs++;
    pthread_mutex_unlock(&lock);
    if (t)
        return 0;
    if (!(t = table_new(n)))
        return -ENOMEM;
    t->section = start;
    t->refs = 1;
    for (size_t k = 0; k < n; k++) {
        const tether_seq_record *r = &start[k];
        struct tether_seq_entry *e = &t->e[k];

        e->start = rel(&r->start);
        e->end = rel(&r->end);
        e->response = r->response ? rel(&r->response) : 0;
        e->event = r->event;
        e->action = r->action;
        if (r->reserved || e->start >= e->end || !valid(e->event, e->action, e->response)) {
            table_free(t);
            return -EINVAL;
        }
    }
    if ((err = table_add(t)) != 0)
        table_free(t);
    return err > 0 ? 0 : err;
}

/* A constructor has nobody to return an error to: say it on stderr. */
static void report(const tether_seq_record *start, int err)
{
    char msg[160];
    int len = snprintf(msg, sizeof msg,
                       "tether: the sequence table at %p was not registered: %s\n",
                       (const void *)start, strerror(-err));

    if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0)
        return;
}

int tether__seq_register_section(const tether_seq_record *start, const tether_seq_record *stop)
{
    int err = section_register(start, stop, 1);

    if (err != 0)
        report(start, err);
    return err;
}

int tether__seq_unregister_section(const tether_seq_record *start)
{
    struct tether_seq_table *t;
    int err = -ENOENT;

    pthread_mutex_lock(&lock);
    t = section_find(start);
    if (t && --t->refs > 0)
        err = 1;
    else if (t && (err = table_remove_locked(t)) != 0)
        t->refs++;
    pthread_mutex_unlock(&lock);
    if (err == 0)
        table_free(t);
    return err > 0 ? 0 : err;
}

/* ------------------------------------------------------ tether's own table */

/*
 * The context switches and bottom frames (asm/) declare how kills treat
 * them in this library's own section, registered before any other
 * constructor of the library or the program can run a fiber (priority
 * 101: the first a program may use), and never removed.
 */
extern const tether_seq_record __start_tether_seq[] __attribute__((visibility("hidden")));
extern const tether_seq_record __stop_tether_seq[] __attribute__((visibility("hidden")));

/* fork(): the child has one thread, the caller, which is not reading. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

static void atfork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    atomic_store(&grace.readers[0], 0);
    atomic_store(&grace.readers[1], 0);
}

__attribute__((constructor(101))) static void own_table(void)
{
    int err = section_register(__start_tether_seq, __stop_tether_seq, 0);

    if (err != 0)
        report(__start_tether_seq, err);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
