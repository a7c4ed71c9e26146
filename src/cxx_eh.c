/*
 * The C++ runtime's exception state, kept per fiber.
 *
 * libstdc++ keeps, per thread, the list of exceptions being handled
 * (caught and not yet finished) and the count of exceptions in flight.
 * Fibers share their thread's, so without care a fiber that yields
 * inside a catch block leaves its exception on the thread (and takes it
 * nowhere when it moves to another thread), and libstdc++ calls
 * std::terminate when tether's unwind is caught by a catch (...) while
 * that list is not empty. So each fiber has its own copy, swapped in
 * and out around every switch, host side.
 *
 * libstdc++ may not be loaded at all (a C program), or only later (a
 * plugin): it is looked for at each fiber creation until found.
 */
#define _GNU_SOURCE /* RTLD_NOLOAD */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cxx_eh.h"
#include "thread.h"


static void *(*begin_catch)(void *);
static void (*end_catch)(void);
static void *(*allocate_exception)(size_t);
static void *(*init_primary)(void *, void *, void (*)(void *));
/* Non-NULL once libstdc++ is found (cxx_eh.h reads it inline). */
void *(*_Atomic tether__cxx_get_globals)(void);
#define get_globals tether__cxx_get_globals

/*
 * The unwind, where libstdc++ is loaded, is a C++ exception object of
 * type abi::__forced_unwind, the type glibc's thread cancellation uses:
 * catch (abi::__forced_unwind &) recognises it, and a catch (...) may
 * take it while the fiber is handling another exception (a foreign one
 * there makes libstdc++ call std::terminate). libstdc++ exports the
 * type's typeinfo but not its vtable, so the object gets a vtable of
 * ours with the same typeinfo: typeid and dynamic_cast work on it. Its
 * virtual functions (a destructor, a pure one) are never called.
 */
static void *forced_unwind_ti;
static void *vtable[5];

static void never_called(void *self)
{
    (void)self;
}

static int count_adds(struct dl_phdr_info *info, size_t size, void *adds)
{
    (void)size;
    *(unsigned long long *)adds = info->dlpi_adds;
    return 1; /* the first object tells: stop */
}

static void probe_locked(unsigned long long adds);
static void found(void *h);
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* dl_iterate_phdr's count of objects loaded when libstdc++ was last looked for. */
static _Atomic unsigned long long looked_at = ~0ull;

/* In a fork child, the probe's lock as new: another thread may have held it. */
static void child(struct tether_thread *t)
{
    (void)t;
    pthread_mutex_init(&lock, NULL);
}

TETHER_THREAD_HOOKS(NULL, NULL, child);

/*
 * Until libstdc++ is found (a C host), every creation asks the dynamic
 * linker how many objects it has loaded so far, and looks for libstdc++
 * again, under the lock, only when that changed: our lock stays off the
 * common path (the dynamic linker's own, in dl_iterate_phdr, is the one
 * left).
 */
static __attribute__((noinline)) void probe_again(void)
{
    unsigned long long adds = 0;

    /* Look again only when something was loaded since (dlopen costs ~20 us). */
    dl_iterate_phdr(count_adds, &adds);
    if (atomic_load_explicit(&looked_at, memory_order_acquire) == adds)
        return;
    pthread_mutex_lock(&lock);
    probe_locked(adds);
    pthread_mutex_unlock(&lock);
}

/* Out of line, the look: a C++ host's creations need no frame here. */
void tether__cxx_eh_probe(void)
{
    if (!atomic_load_explicit(&get_globals, memory_order_acquire))
        probe_again();
}

static void probe_locked(unsigned long long adds)
{
    void *h;

    if (atomic_load_explicit(&get_globals, memory_order_acquire) ||
        atomic_load_explicit(&looked_at, memory_order_relaxed) == adds)
        return;
    h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (h)
        found(h);
    /* Only now: a creation that finds this count skips the look, and it is done. */
    atomic_store_explicit(&looked_at, adds, memory_order_release);
}

/* libstdc++ is in the process: what tether uses of it. */
static void found(void *h)
{
    /* The handle keeps libstdc++ loaded for good; it is never closed. */
    begin_catch = (void *(*)(void *))dlsym(h, "__cxa_begin_catch");
    end_catch = (void (*)(void))dlsym(h, "__cxa_end_catch");
    allocate_exception = (void *(*)(size_t))dlsym(h, "__cxa_allocate_exception");
    init_primary = (void *(*)(void *, void *, void (*)(void *)))dlsym(
        h, "__cxa_init_primary_exception"); /* libstdc++ 7 and later */
    forced_unwind_ti = dlsym(h, "_ZTIN10__cxxabiv115__forced_unwindE");
    vtable[0] = NULL;                    /* offset to top */
    vtable[1] = forced_unwind_ti;        /* typeinfo */
    vtable[2] = (void *)never_called;    /* complete destructor */
    vtable[3] = (void *)never_called;    /* deleting destructor */
    vtable[4] = (void *)never_called;    /* __pure_dummy */
    if (begin_catch && end_catch)
        atomic_store_explicit(&get_globals, (void *(*)(void))dlsym(h, "__cxa_get_globals"),
                              memory_order_release);
}

/* The thread's first switch since libstdc++ was found: its record, kept. */
struct tether_cxa_eh_globals *tether__cxx_eh_first(struct tether_thread *t)
{
    void *(*get)(void) = atomic_load_explicit(&get_globals, memory_order_acquire);

    if (get)
        t->cxx_globals = get();
    return t->cxx_globals;
}

int tether__cxx_eh_state(unsigned int *in_flight, int *handling)
{
    void *(*get)(void) = atomic_load_explicit(&get_globals, memory_order_acquire);
    struct tether_cxa_eh_globals *g;

    if (!get || !(g = get()))
        return -1;
    *in_flight = g->uncaught;
    *handling = g->caught != NULL;
    return 0;
}

/*
 * libstdc++'s exception header (unwind-cxx.h) ends with the thrown
 * object's adjusted pointer, then the unwinder's header, then the
 * object; the reference count heads it. The C++ ABI has kept this
 * layout since GCC 4.
 */
struct cxa_refcounted_head {
    int reference_count;
};

struct _Unwind_Exception *tether__cxx_eh_forced_unwind(void)
{
    void *(*get)(void) = atomic_load_explicit(&get_globals, memory_order_acquire);
    struct tether_cxa_eh_globals *g;
    struct _Unwind_Exception *ue;
    struct cxa_refcounted_head *head;
    void **obj;

    if (!get || !allocate_exception || !init_primary || !forced_unwind_ti ||
        !(g = get()))
        return NULL;
    obj = allocate_exception(sizeof *obj);
    *obj = &vtable[2];
    head = init_primary(obj, forced_unwind_ti, NULL);
    /*
     * What __cxa_throw does besides raising: one reference, one more
     * exception in flight. And what its search phase would have found:
     * a forced unwind has none, so libstdc++ hands catch blocks the
     * object's adjusted pointer as it finds it, the slot just before
     * the unwinder's header.
     */
    head->reference_count = 1;
    ue = (struct _Unwind_Exception *)obj - 1;
    ((void **)ue)[-1] = obj;
    g->uncaught++;
    return ue;
}

/* "GNUCC++" followed by 0 (an exception) or 1 (a dependent one). */
static int is_cxx(const struct _Unwind_Exception *e)
{
    return (e->exception_class >> 8) == 0x474e5543432b2bull;
}

void tether__cxx_eh_discard(struct _Unwind_Exception *e)
{
    if (is_cxx(e) && atomic_load_explicit(&get_globals, memory_order_acquire)) {
        /* As a catch (...) would: the runtime's counts stay right. */
        begin_catch(e);
        end_catch();
        return;
    }
    _Unwind_DeleteException(e);
}
