/*
 * Alternate signal stacks.
 *
 * Each thread that runs fibers gets one (a fiber that overflows its
 * stack leaves no room on it for the fault handler), mapped at its first
 * resume and freed when it exits; a thread that brought one of 32 KiB or
 * more keeps its own.
 *
 * The kernel puts a signal's frame at the top of the alternate stack
 * unless the code it interrupts is already running on it. A signal
 * handler running there that resumes a fiber has its live frames at the
 * top, and the fiber runs elsewhere: the fiber's fault would land on
 * them. So while such a fiber runs, a spare alternate stack is
 * registered instead, and the one before it again afterwards. Changing
 * the alternate stack is refused while running on it (EPERM), so the
 * spare is registered from a frame on the spare itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "altstack.h"
#include "arch.h"
#include "thread.h"

/* Ours: this much, plus a guard page below it. */
#define ALTSTACK_SIZE (64 * 1024)
/* A thread's own alternate stack at least this big is kept. */
#define ALTSTACK_KEEP_MIN (32 * 1024)

static int map(struct tether_altstack *s)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = ALTSTACK_SIZE + page;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

    if (p == MAP_FAILED)
        return -ENOMEM;
    if (mprotect(p, page, PROT_NONE) != 0) { /* guard page at the low end */
        munmap(p, len);
        return -ENOMEM;
    }
    s->map = p;
    s->len = len;
    return 0;
}

static void unmap(struct tether_altstack *s)
{
    if (s->map)
        munmap(s->map, s->len);
    s->map = NULL;
}

static stack_t stack_of(const struct tether_altstack *s)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    stack_t ss;

    ss.ss_sp = s->map + page;
    ss.ss_size = s->len - page;
    ss.ss_flags = 0;
    return ss;
}

static void set_range(struct tether_altstacks *a, const stack_t *ss)
{
    if (ss->ss_flags & SS_DISABLE) {
        a->lo = a->hi = 0;
        return;
    }
    a->lo = (uintptr_t)ss->ss_sp;
    a->hi = (uintptr_t)ss->ss_sp + ss->ss_size;
}

static int install(struct tether_thread *t)
{
    struct tether_altstacks *a = &t->alt;
    stack_t cur, ss;

    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) &&
        cur.ss_size >= ALTSTACK_KEEP_MIN) {
        set_range(a, &cur); /* the thread brought its own */
        return 0;
    }
    if (map(&a->own) != 0)
        return -ENOMEM;
    ss = stack_of(&a->own);
    if (sigaltstack(&ss, &a->before) != 0) {
        unmap(&a->own);
        return -ENOMEM;
    }
    set_range(a, &ss);
    return 0;
}

/*
 * Give back the previous alternate stack, or none, before unmapping
 * ours, so no signal can be delivered onto freed memory.
 */
static void release(struct tether_thread *t)
{
    struct tether_altstacks *a = &t->alt;

    if (a->own.map) {
        sigaltstack(&a->before, NULL); /* SS_DISABLE if there was none */
        unmap(&a->own);
    }
    for (int i = 0; i < TETHER_ALTSTACK_SPARES; i++)
        unmap(&a->spare[i]);
    a->lo = a->hi = 0;
    a->depth = 0;
}

/* Each thread's own, from its first resume to its exit. */
TETHER_THREAD_HOOKS(install, release, NULL);

struct swap {
    stack_t next, prev;
    int err;
};

/* Runs on the spare: the registered stack is not the one we run on. */
static void register_spare(void *p)
{
    struct swap *s = p;
    s->err = sigaltstack(&s->next, &s->prev) == 0 ? 0 : -ENOMEM;
}

int tether__altstack_push(struct tether_thread *t, stack_t *prev)
{
    struct tether_altstacks *a = &t->alt;
    struct tether_altstack *spare;
    struct swap s;

    if (a->depth >= TETHER_ALTSTACK_SPARES)
        return -EDEADLK;
    spare = &a->spare[a->depth];
    if (!spare->map && map(spare) != 0)
        return -ENOMEM;
    s.next = stack_of(spare);
    tether__arch_call_on_stack((char *)s.next.ss_sp + s.next.ss_size,
                               register_spare, &s);
    if (s.err)
        return s.err;
    *prev = s.prev;
    set_range(a, &s.next);
    a->depth++;
    return 0;
}

void tether__altstack_pop(struct tether_thread *t, const stack_t *prev)
{
    struct tether_altstacks *a = &t->alt;

    /* Allowed: we run on the stack before the spare, not on the spare. */
    sigaltstack(prev, NULL);
    set_range(a, prev);
    a->depth--;
}
