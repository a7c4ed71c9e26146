/*
 * Fibers: create, resume, yield, return, destroy; the slow ways in and
 * out (the fast ones, tether_fiber_resume and tether_yield, are in
 * fiber_switch.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tether/unwind.h>

#include "arch.h"
#include "fiber_claim.h"
#include "fiber_impl.h"
#include "signals.h"
#include "thread.h"

#define KNOWN_FLAGS (TETHER_FIBER_GUARD_MPROTECT | TETHER_FIBER_UNWIND_ON_EXIT | \
                     TETHER_FIBER_CLEAN_STACK | TETHER_FIBER_FP_CONTROL)

/*
 * Fiber ids are never reused; a kill signal names its fiber by id. Each
 * thread takes them in blocks, so a creation makes no atomic operation.
 */
#define ID_BLOCK 65536
static _Atomic uint64_t next_block = 1;
#ifdef TETHER_ASAN
__thread struct tether_san *volatile tether__san_pending
    __attribute__((tls_model("initial-exec")));
__thread volatile int tether__san_pending_how __attribute__((tls_model("initial-exec")));
#endif

/* The attribute on each: on a list it would name only the last one. */
static __thread uint64_t id_next __attribute__((tls_model("initial-exec")));
static __thread uint64_t id_end __attribute__((tls_model("initial-exec")));

/* The hooks of the layers above (fiber_impl.h), gathered by the linker. */
extern const struct tether_fiber_hooks *const __start_tether_fiber_hooks[]
    __attribute__((visibility("hidden")));
extern const struct tether_fiber_hooks *const __stop_tether_fiber_hooks[]
    __attribute__((visibility("hidden")));

int tether__fiber_unwind(tether_fiber *f, int keep_record)
{
    for (const struct tether_fiber_hooks *const *h = __start_tether_fiber_hooks;
         h < __stop_tether_fiber_hooks; h++)
        if ((*h)->unwind)
            return (*h)->unwind(f, keep_record);
    return 0;
}

void tether__fiber_inherit_deadline(struct tether_thread *t, tether_fiber *f)
{
    for (const struct tether_fiber_hooks *const *h = __start_tether_fiber_hooks;
         h < __stop_tether_fiber_hooks; h++)
        if ((*h)->inherit) {
            (*h)->inherit(t, f);
            return;
        }
}

void tether__fiber_reraise(tether_fiber *f, int strict)
{
    for (const struct tether_fiber_hooks *const *h = __start_tether_fiber_hooks;
         h < __stop_tether_fiber_hooks; h++)
        if ((*h)->reraise) {
            (*h)->reraise(f, strict);
            return;
        }
}

static uint64_t new_id(void)
{
    if (id_next == id_end) {
        id_next = atomic_fetch_add_explicit(&next_block, ID_BLOCK, memory_order_relaxed);
        id_end = id_next + ID_BLOCK;
    }
    return id_next++;
}

static int range_cmp(const void *a, const void *b)
{
    const tether_code_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Checks and copies the guest's code ranges, sorted by start. */
static int copy_guest_code(tether_fiber *f, const tether_fiber_opts *o)
{
    tether_code_range *r;

    if (o->guest_code_count == 0)
        return o->guest_code ? -EINVAL : 0;
    if (!o->guest_code)
        return -EINVAL;
    if (o->guest_code_count > TETHER_GUEST_CODE_MAX)
        return -ERANGE;
    for (size_t i = 0; i < o->guest_code_count; i++)
        if ((uintptr_t)o->guest_code[i].start >= (uintptr_t)o->guest_code[i].end)
            return -EINVAL;
    if (!(r = malloc(o->guest_code_count * sizeof *r)))
        return -ENOMEM;
    memcpy(r, o->guest_code, o->guest_code_count * sizeof *r);
    qsort(r, o->guest_code_count, sizeof *r, range_cmp);
    f->guest_code = r;
    f->guest_code_count = o->guest_code_count;
    return 0;
}

/* Binary search: the last range starting at or below pc. Async-signal-safe. */
int tether__in_guest_code(const tether_fiber *f, uintptr_t pc)
{
    size_t lo = 0, hi = f->guest_code_count;

    if (!f->guest_code)
        return 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)f->guest_code[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Ranges may overlap: any earlier one may still contain pc. */
    while (lo-- > 0)
        if (pc < (uintptr_t)f->guest_code[lo].end)
            return 1;
    return 0;
}

/* The fiber object, at the top of its slot (see stack.h). */
static tether_fiber *object_in(const struct tether_stack *s)
{
    size_t size = (sizeof(tether_fiber) + 63) & ~(size_t)63;
    return (tether_fiber *)(tether__stack_top(s) - size);
}

_Static_assert(sizeof(tether_fiber) + 64 + 256 <= 4096,
               "the fiber object and the host record share one page");

/* A READY fiber to run fn(arg, in), on its slot, as if new. */
static void arm(tether_fiber *f, tether_fn fn, void *arg)
{
    atomic_store_explicit(&f->claim.state, TETHER_READY, memory_order_relaxed);
    f->parent = NULL;
    f->out_ptr = NULL;
    f->in_ptr = NULL;
    atomic_store_explicit(&f->kill, KILL_NONE, memory_order_relaxed);
    atomic_store_explicit(&f->kill_details, NULL, memory_order_relaxed);
    f->host_depth = 0;
    f->stop = 0;
    f->has_frames = 0;
    f->stopped_by_signal = 0;
    f->unwinding = 0;
    f->unwind_reraise = 0;
    f->cxx_eh.caught = NULL; /* a discarded fiber's C++ exceptions are not released: leaked */
    f->cxx_eh.uncaught = 0;
    f->stop_value = NULL;
    f->result = NULL;
    f->fn = fn;
    f->arg = arg;
    f->unwind_swallowed = 0;
    f->unwind_outcome = 0;
    f->unwind_result = 0;
    f->unwind_passed_over = 0;
    f->call_top = NULL; /* a discarded life's guarded calls are gone with its frames */
    f->destroy_with_thread = 0;
    tether__san_drop(&f->san); /* a new life: a new fake stack (sanitize.h) */
    tether__stack_unpoison(&f->stack, f); /* the fiber object lies above its frames */
    f->sp = tether__arch_ctx_init(f, f, &f->record, f->flags & TETHER_FIBER_FP_CONTROL);
}

static void fiber_free(tether_fiber *f)
{
    tether__san_drop(&f->san);
    tether__san_destroy(&f->san);
    f->magic = 0; /* no longer a fiber, for debuggers */
    struct tether_stack s = f->stack; /* f lives in it */

    for (const struct tether_fiber_hooks *const *h = __start_tether_fiber_hooks;
         h < __stop_tether_fiber_hooks; h++)
        if ((*h)->freeing)
            (*h)->freeing(f);
    if (f->guest_code)
        free((void *)f->guest_code);
    if (f->flags & TETHER_FIBER_CLEAN_STACK)
        tether__stack_clean(&s);
    tether__stack_put(&s);
}

/* Is any of opts->reserved set? One test of them all, without a branch each. */
static int any_reserved(const tether_fiber_opts *opts)
{
    uint64_t any = 0;

#pragma GCC unroll 8
    for (size_t i = 0; i < sizeof opts->reserved / sizeof opts->reserved[0]; i++)
        any |= opts->reserved[i];
    return any != 0;
}

static int create(tether_fiber **out, tether_fn fn, void *arg,
                  const tether_fiber_opts *opts)
{
    static const tether_fiber_opts defaults;
    struct tether_stack s;
    tether_fiber *f;
    int err;

    if (!out || !fn)
        return -EINVAL;
    if (!opts)
        opts = &defaults;
    if (opts->flags & ~KNOWN_FLAGS)
        return -EINVAL;
    if (any_reserved(opts))
        return -EINVAL; /* an option of a later release */
    /* The geometry is checked there (-ERANGE). */
    if ((err = tether__stack_get(&s, opts->stack_size, opts->guard_size,
                                 opts->flags & TETHER_FIBER_GUARD_MPROTECT)) != 0)
        return err;
    if ((err = tether__signals_install()) != 0) {
        tether__stack_put(&s);
        return err;
    }
    tether__cxx_eh_probe();
    f = object_in(&s);
    f->stack = s;
    f->guard_edge = (uintptr_t)tether__stack_lo(&s) + 256;
    f->guest_code = NULL;
    f->guest_code_count = 0;
    if ((err = copy_guest_code(f, opts)) != 0) {
        tether__stack_put(&s);
        return err;
    }
    f->flags = opts->flags;
    f->user_data = NULL;
    if (opts->name)
        tether__fiber_name_set(f, opts->name);
    else
        f->name[0] = '\0'; /* no name: the common case, without a call */
    f->id = new_id();
    atomic_store_explicit(&f->kswitch, NULL, memory_order_relaxed);
    tether__claim_init(&f->claim);
    f->exited_next = NULL;
    memset(&f->san, 0, sizeof f->san); /* the slot's last fiber left its own there */
    arm(f, fn, arg);
    tether__san_create(&f->san, tether__stack_lo(&f->stack), f->record,
                       f->stack.base, tether__stack_top(&f->stack));
    f->magic = TETHER_FIBER_MAGIC; /* findable by debuggers from now on */
    *out = f;
    return 0;
}

int tether_fiber_create(tether_fiber **out, tether_fn fn, void *arg,
                        const tether_fiber_opts *opts)
{
    tether_fiber *self = tether__host_begin();
    int err = create(out, fn, arg, opts);

    tether__host_end(self);
    return err;
}

/* Is f the calling fiber or one of its hosts? Only this thread's chain. */
int tether__hosts_caller(const tether_fiber *f)
{
    for (const tether_fiber *c = tether__thread.current; c; c = c->parent)
        if (c == f)
            return 1;
    return 0;
}

/*
 * The host's half of a stop that came back the slow way (the fiber's
 * switch out with finish, or a signal): runs on the host's stack, in
 * tether__host_finish, before its switch in returns.
 */
int tether__resume_finish(tether_fiber *f)
{
    struct tether_thread *t = &tether__thread; /* the fiber's thread: no move */
    int stop = f->stop;
    void *v = f->stop_value;

    tether__san_in_host(&f->san);
    tether__fiber_left(t, f);
    if (f->unwinding)
        return stop; /* the unwind publishes its own state (unwind.c) */
    if (stop == TETHER_RETURNED)
        f->has_frames = 0;
    if (stop != TETHER_YIELDED)
        f->result = v;
    if (f->out_ptr)
        *f->out_ptr = v;
    atomic_store_explicit(&f->claim.state, (uint64_t)stop, memory_order_release);
    return tether__resume_end(f, stop);
}

/*
 * A resume from a signal handler running on the alternate signal stack:
 * the fiber runs with a spare one registered (altstack.c).
 */
static int resume_on_spare(struct tether_thread *t, tether_fiber *f, void *in, void **out)
{
    stack_t prev;
    int err = tether__altstack_push(t, &prev);

    if (err)
        return err;
    err = tether__resume(f, in, out);
    tether__altstack_pop(&tether__thread, &prev);
    return err;
}

/* A claimed fiber that a kill stopped before it ran again. */
int tether__never_ran(tether_fiber *f, void **out)
{
    void *v = atomic_load(&f->kill_details);

    f->result = v;
    if (out)
        *out = v;
    atomic_store_explicit(&f->claim.state, (uint64_t)TETHER_TERMINATED, memory_order_release);
    return TETHER_TERMINATED;
}

/* Every resume that is not the fast one (see fiber_switch.c). */
int tether__resume(tether_fiber *f, void *in, void **out)
{
    struct tether_thread *t = &tether__thread;
    int err;

    if (!f)
        return -EINVAL;
    if (!t->ready && (err = tether__thread_prepare()) != 0)
        return err;
    if (tether__altstack_in_use(&t->alt))
        return resume_on_spare(t, f, in, out);
    if ((err = tether__claim(&f->claim, t->tid)) != 0)
        return err == -EBUSY && tether__hosts_caller(f) ? -EDEADLK : err;
    /*
     * A killer sets kill, then reads the state word; we set the state
     * word, then read kill: either we see its kill here or it sees our
     * thread id and signals us (fiber_claim.h).
     */
    if (atomic_load_explicit(&f->kill, memory_order_relaxed) > KILL_NONE)
        return tether__never_ran(f, out);
    return tether__enter(t, f, f->sp, in, out);
}

/*
 * On a fiber, a nested resume is a host call of the hosting fiber's: a
 * kill of the host waits until the nested fiber is back (a fiber claimed
 * but never run would stay RUNNING for good), and takes effect then.
 */
int tether__resume_slow(tether_fiber *f, void *in, void **out)
{
    tether_fiber *host = tether__host_begin();
    int err = tether__resume(f, in, out);

    tether__host_end(host);
    return err;
}

/* TETHER_FIBER_UNWIND_ON_EXIT: a fiber that died is unwound at once. */
int tether__resume_end(tether_fiber *f, int stop)
{
    if ((stop == TETHER_FAULTED || stop == TETHER_TERMINATED) &&
        (f->flags & TETHER_FIBER_UNWIND_ON_EXIT))
        tether__fiber_unwind(f, 1); /* the host reads the record next */
    return stop;
}

int tether__switch_out_slow(tether_fiber *f, int stop, void *value)
{
    int r;

    f->stop = stop;
    f->stop_value = value;
#if TETHER_SANITIZE
    {
        /*
         * The sanitizer's switch calls below need stack: an overflow
         * inside them would leave ASan half-way through a switch. Near
         * the guard the fiber overflows here instead, before any.
         */
        (void)*(volatile const char *)(tether__arch_sp() - 1024);
        /*
         * Its frames are over once it returned or its unwind is done;
         * after a yield or a kill they run again, if only their cleanups.
         */
        int final = stop == TETHER_RETURNED || !f->has_frames;

        tether__san_to_host(&f->san, final);
        if (final)
            f->san.fiber_fake = NULL;
    }
#endif
    r = tether__switch_out_finish(&f->sp, f->record, f);
    tether__san_in_fiber(&f->san);
    return r;
}

_Noreturn void tether__kill_now(tether_fiber *f)
{
    tether__switch_out_slow(f, TETHER_TERMINATED, atomic_load(&f->kill_details));
    __builtin_unreachable(); /* a TERMINATED fiber is never resumed */
}

void tether__host_end(tether_fiber *f)
{
    if (f) {
        tether__host_depth_add(f, -1);
        tether__kill_checkpoint(f);
    }
}

/* A yield with an unwind or a kill pending, or near the guard: the slow way. */
int tether__yield_slow(tether_fiber *f, void *out, void **in)
{
    if (f->unwinding | f->unwind_reraise) {
        /* Strict: a catch block handling the unwind may yield, and must get -ECANCELED. */
        tether__unwind_checkpoint(f, 1);
        if (f->unwinding)
            return -ECANCELED; /* a cleanup may not suspend the unwind */
    }
    tether__kill_checkpoint(f);
    f->in_ptr = in;
    return tether__switch_out_slow(f, TETHER_YIELDED, out);
}

struct tether_fiber_entry tether__fiber_begin(tether_fiber *f)
{
    tether__san_in_fiber(&f->san);
    tether__kill_checkpoint(f);
    return (struct tether_fiber_entry){f->fn, f->arg};
}

_Noreturn void tether__fiber_end(tether_fiber *f, void *result)
{
    tether__unwind_checkpoint(f, 0); /* it swallowed the unwind, then returned */
    tether__leave(&tether__thread, f, TETHER_RETURNED, result);
    abort(); /* a RETURNED fiber is never resumed */
}

int tether_fiber_destroy(tether_fiber *f)
{
    tether_fiber *self;

    if (!f)
        return -EINVAL;
    if (tether__fiber_state(f) == TETHER_RUNNING)
        return -EBUSY;
    self = tether__host_begin();
    if (f->has_frames)
        tether__fiber_unwind(f, 0); /* whatever it returns, the frames are gone */
    fiber_free(f);
    tether__host_end(self);
    return 0;
}

int tether_fiber_reset(tether_fiber *f, tether_fn fn, void *arg, unsigned flags)
{
    tether_fiber *self;

    if (!f || !fn || (flags & ~TETHER_RESET_DISCARD))
        return -EINVAL;
    if (tether__fiber_state(f) == TETHER_RUNNING)
        return tether__hosts_caller(f) ? -EDEADLK : -EBUSY;
    self = tether__host_begin();
    if (f->has_frames && !(flags & TETHER_RESET_DISCARD))
        tether__fiber_unwind(f, 0); /* whatever it returns, the frames are gone */
    arm(f, fn, arg);
    atomic_thread_fence(memory_order_release);
    tether__host_end(self);
    return 0;
}

void *tether_fiber_result(const tether_fiber *f)
{
    return f ? f->result : NULL;
}

void *tether_fiber_user_data(const tether_fiber *f)
{
    return f ? f->user_data : NULL;
}

int tether_fiber_set_user_data(tether_fiber *f, void *data)
{
    if (!f)
        return -EINVAL;
    f->user_data = data;
    return 0;
}

int tether_fiber_state(const tether_fiber *f)
{
    if (!f)
        return -EINVAL;
    return tether__fiber_state(f);
}

int tether_fiber_stack(const tether_fiber *f, void **lo, void **hi)
{
    if (!f)
        return -EINVAL;
    if (lo)
        *lo = tether__stack_lo(&f->stack);
    if (hi)
        *hi = f->record; /* its first frame, the bottom frame, starts here */
    return 0;
}

/*
 * A record is a fiber's own when the fiber object around it ends where
 * a slot does, at a page boundary (object_in), is a live fiber (its
 * magic) and its slot says it lives there. Only the page holding r is read (the fiber object lies in
 * one page, the static assertion above), so a record anywhere else costs
 * at most a few loads of the caller's own memory, never a fault; the
 * sanitizers are told those loads are meant.
 */
__attribute__((no_sanitize_address)) const tether_fiber *
tether__fiber_of_fault(const tether_fault *r)
{
    size_t size = (sizeof(tether_fiber) + 63) & ~(size_t)63;
    uintptr_t at = (uintptr_t)r - offsetof(tether_fiber, fault);
    const tether_fiber *f = (const tether_fiber *)at;

    if (!r || (uintptr_t)r < offsetof(tether_fiber, fault) ||
        (at + size) % tether__page_size() != 0)
        return NULL;
    return f->magic == TETHER_FIBER_MAGIC && object_in(&f->stack) == f ? f : NULL;
}
