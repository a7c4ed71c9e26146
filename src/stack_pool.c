/*
 * Where free stack slots wait for the next fiber.
 *
 * A destroyed fiber's slot goes to the destroying thread's cache (no
 * lock, no system call: a create and destroy cycle costs tens of
 * nanoseconds); a full cache hands half of it to the process-wide pool
 * of its geometry. Slots keep their guard and their pages while they
 * wait, so the next fiber does not pay for the first touch either, and
 * finds what the last one left on the stack (TETHER_FIBER_CLEAN_STACK
 * asks for zeros, for a system call). To bound the memory that waits,
 * the pool keeps at most WARM_MAX slots resident; beyond that it gives
 * their pages back (MADV_DONTNEED) and keeps the reservation and guard.
 * New slots are carved from reservations of about CHUNK_BYTES each.
 *
 * The pool's lock is taken only when a thread's cache is empty or full.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stack.h"
#include "thread.h"

#define CHUNK_BYTES (32ul << 20) /* a reservation: carved into slots */
#define CACHE_MAX 16             /* slots a thread keeps, per geometry */
#define CACHE_CLASSES 4          /* geometries a thread keeps slots of */
#define WARM_MAX 64              /* resident slots the pool keeps, per geometry */

/* Every reservation, newest first, for debuggers (debug_info.c); never freed. */
struct tether_chunk *_Atomic tether__chunks;

/* All the slots of one geometry. */
struct tether_stack_class {
    size_t size, guard;
    int kind;
    size_t slot_size;
    struct tether_stack_class *next;
    /* Under the pool's lock: */
    char *chunk;                /* the reservation being carved */
    struct tether_chunk *desc;  /* its entry in tether__chunks */
    size_t carved, nslots;      /* its slots used so far, and all of them */
    char **warm, **cold;        /* free slots, resident or emptied */
    size_t nwarm, ncold, cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tether_stack_class *_Atomic classes;

/* A thread's cache: a few geometries, a stack of free slots each. */
struct cache {
    struct tether_stack_class *cls;
    int n;
    char *slot[CACHE_MAX];
};

static __thread struct cache caches[CACHE_CLASSES]
    __attribute__((tls_model("initial-exec")));
static __thread int cache_registered __attribute__((tls_model("initial-exec")));

/* A thread's last request for a slot, and its class (class_asked). */
struct last_request {
    size_t size, guard;
    int kind;
    struct tether_stack_class *cls;
};

static __thread struct last_request last __attribute__((tls_model("initial-exec")));

/* A thread that put slots in its cache gives them to the pool when it exits. */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void flush(void *unused);

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, flush);
}

/* The class of a geometry, made on first use. Lock-free once it exists. */
static struct tether_stack_class *class_of(size_t size, size_t guard, int kind)
{
    struct tether_stack_class *c;

    for (c = atomic_load(&classes); c; c = c->next)
        if (c->size == size && c->guard == guard && c->kind == kind)
            return c;
    pthread_mutex_lock(&lock);
    for (c = atomic_load(&classes); c; c = c->next)
        if (c->size == size && c->guard == guard && c->kind == kind)
            break;
    if (!c && (c = calloc(1, sizeof *c)) != NULL) {
        c->size = size;
        c->guard = guard;
        c->kind = kind;
        c->slot_size = guard + size + tether__page_size();
        c->next = atomic_load(&classes);
        atomic_store(&classes, c); /* published whole: readers take no lock */
    }
    pthread_mutex_unlock(&lock);
    return c;
}

static void describe(struct tether_stack *s, struct tether_stack_class *c, char *base)
{
    s->base = base;
    s->guard_size = c->guard;
    s->size = c->size;
    s->guard_kind = c->kind;
    s->guard_open = 0; /* tether__stack_put reads it: a slot goes out closed */
    s->cls = c;
}

/* Room for one more free slot in both lists. Under the lock. */
static int grow_lists(struct tether_stack_class *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64;
    char **w, **k;

    if (c->nwarm < c->cap && c->ncold < c->cap)
        return 0;
    w = realloc(c->warm, cap * sizeof *w);
    if (w)
        c->warm = w;
    k = realloc(c->cold, cap * sizeof *k);
    if (k)
        c->cold = k;
    if (!w || !k)
        return -ENOMEM;
    c->cap = cap;
    return 0;
}

/* A new slot: carved from the current reservation, or a new one. Under the lock. */
static char *carve(struct tether_stack_class *c)
{
    if (c->carved == c->nslots) {
        size_t n = CHUNK_BYTES / c->slot_size;
        struct tether_chunk *d = malloc(sizeof *d);
        char *chunk;
        if (n == 0)
            n = 1;
        if (!d || !(chunk = tether__stack_reserve(c->slot_size, n))) {
            free(d);
            return NULL;
        }
        d->base = chunk;
        d->slot_size = c->slot_size;
        atomic_init(&d->carved, 0);
        d->next = atomic_load(&tether__chunks);
        atomic_store(&tether__chunks, d); /* published whole */
        c->chunk = chunk;
        c->desc = d;
        c->nslots = n;
        c->carved = 0;
    }
    atomic_store(&c->desc->carved, c->carved + 1);
    return c->chunk + c->slot_size * c->carved++;
}

/* From the process-wide pool, or a new slot. Takes the lock. Out of line: rare. */
static __attribute__((noinline)) int get_slow(struct tether_stack *s, struct tether_stack_class *c)
{
    char *base = NULL;
    int fresh = 0;

    pthread_mutex_lock(&lock);
    if (c->nwarm)
        base = c->warm[--c->nwarm];
    else if (c->ncold)
        base = c->cold[--c->ncold];
    else if ((base = carve(c)) != NULL)
        fresh = 1;
    pthread_mutex_unlock(&lock);
    if (!base)
        return -ENOMEM;
    describe(s, c, base);
    /* A guard that cannot be installed (out of mappings): the slot stays unused. */
    if (fresh && tether__stack_guard_install(s) != 0)
        return -ENOMEM;
    return 0;
}

/*
 * The class of a geometry as asked (0 for a default), checked, and
 * remembered as the thread's last request. NULL and *err set if none.
 * Out of line: the common case (class_asked) then saves no registers.
 */
static __attribute__((noinline)) struct tether_stack_class *
class_asked_first(size_t size, size_t guard, int kind, int *err)
{
    struct tether_stack_class *c;
    size_t checked_size = size, checked_guard = guard;

    if ((*err = tether__stack_geometry(&checked_size, &checked_guard)) != 0)
        return NULL;
    if (!(c = class_of(checked_size, checked_guard, kind))) {
        *err = -ENOMEM;
        return NULL;
    }
    last.size = size;
    last.guard = guard;
    last.kind = kind;
    last.cls = c;
    return c;
}

/*
 * The same, from the thread's last answer when it asks as it did last
 * time (the guard method included, which a kernel without guard markers
 * changes once): a program that asks for one geometry over and over is
 * spared the checks and the search.
 */
static inline struct tether_stack_class *class_asked(size_t size, size_t guard, int kind,
                                                     int *err)
{
    if (last.cls && last.size == size && last.guard == guard && last.kind == kind)
        return last.cls;
    return class_asked_first(size, guard, kind, err);
}

int tether__stack_get(struct tether_stack *s, size_t size, size_t guard,
                      int force_mprotect)
{
    int err, kind = tether__stack_guard_method(force_mprotect);
    struct tether_stack_class *c = class_asked(size, guard, kind, &err);

    if (!c)
        return err;
    for (int i = 0; i < CACHE_CLASSES; i++) {
        struct cache *k = &caches[i];
        if (k->cls == c && k->n > 0) {
            describe(s, c, k->slot[--k->n]);
            return 0;
        }
    }
    return get_slow(s, c);
}

/* Hands the older half of a full cache to the pool. Takes the lock. */
static void spill(struct cache *k, int n)
{
    struct tether_stack_class *c = k->cls;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < n; i++) {
        struct tether_stack s;
        if (grow_lists(c) != 0)
            break; /* no memory for the lists: the slot stays reserved, unused */
        describe(&s, c, k->slot[i]);
        if (c->nwarm < WARM_MAX) {
            c->warm[c->nwarm++] = k->slot[i];
        } else {
            tether__stack_clean(&s); /* its memory back to the kernel */
            c->cold[c->ncold++] = k->slot[i];
        }
    }
    pthread_mutex_unlock(&lock);
    memmove(&k->slot[0], &k->slot[n], (size_t)(k->n - n) * sizeof k->slot[0]);
    k->n -= n;
}

void tether__stack_put(struct tether_stack *s)
{
    struct cache *k = NULL, *empty = NULL, *victim = &caches[0];

    /* An unwind that never came back (its thread exited) left it open. */
    if (s->guard_open && tether__stack_guard_close(s) != 0) {
        munmap(s->base, s->cls->slot_size); /* never handed out again without its guard */
        s->base = NULL;
        return;
    }

    for (int i = 0; i < CACHE_CLASSES && !k; i++) {
        if (caches[i].cls == s->cls)
            k = &caches[i];
        else if (caches[i].n == 0 && !empty)
            empty = &caches[i];
        else if (caches[i].n < victim->n)
            victim = &caches[i];
    }
    if (!k) {
        /* This thread keeps another geometry now: the least used goes. */
        k = empty ? empty : victim;
        if (k->n)
            spill(k, k->n);
        k->cls = s->cls;
    }
    if (k->n == CACHE_MAX)
        spill(k, CACHE_MAX / 2);
    k->slot[k->n++] = s->base;
    s->base = NULL;
    if (!cache_registered) {
        pthread_once(&exit_key_once, make_exit_key);
        pthread_setspecific(exit_key, caches); /* any non-NULL value: flush runs */
        cache_registered = 1;
    }
}

/* At thread exit (a pthread key destructor): the cache goes to the pool. */
static void flush(void *unused)
{
    (void)unused;
    for (int i = 0; i < CACHE_CLASSES; i++)
        if (caches[i].n)
            spill(&caches[i], caches[i].n);
    cache_registered = 0;
}

/* In a fork child, the lock as new: another thread may have held it. */
static void child(struct tether_thread *t)
{
    (void)t;
    pthread_mutex_init(&lock, NULL);
}

TETHER_THREAD_HOOKS(NULL, NULL, child);
