/*
 * Kill switches: handles that terminate a fiber from any thread.
 *
 * All the switches of one fiber share a small block, counted by
 * reference, that points at the fiber until the fiber is destroyed. The
 * block's mutex keeps the fiber alive while a switch is being fired; the
 * signal itself is sent after the mutex is dropped, and names the fiber
 * by id, so a fiber freed meanwhile is never touched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <tether/kill.h>

#include "fiber_claim.h"
#include "fiber_impl.h"
#include "kill_signal.h"
#include "signals.h"
#include "thread.h"

struct tether_kill_shared {
    pthread_mutex_t lock;
    tether_fiber *fiber; /* NULL once destroyed */
    _Atomic long refs;   /* the fiber's one, plus one per switch */
};

struct tether_kill_switch {
    struct tether_kill_shared *s;
};

static void shared_put(struct tether_kill_shared *s)
{
    if (atomic_fetch_sub(&s->refs, 1) == 1) {
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
}

static pthread_mutex_t make_lock = PTHREAD_MUTEX_INITIALIZER;

/* In a fork child, the lock as new: another thread may have held it. */
static void child(struct tether_thread *t)
{
    (void)t;
    pthread_mutex_init(&make_lock, NULL);
}

TETHER_THREAD_HOOKS(NULL, NULL, child);

/* The fiber's block, made on first use (creation is the host's call). */
static struct tether_kill_shared *shared_get(tether_fiber *f)
{
    struct tether_kill_shared *s;

    pthread_mutex_lock(&make_lock);
    s = atomic_load(&f->kswitch);
    if (!s && (s = calloc(1, sizeof *s)) != NULL) {
        pthread_mutex_init(&s->lock, NULL);
        s->fiber = f;
        atomic_init(&s->refs, 1);
        atomic_store(&f->kswitch, s);
    }
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&make_lock);
    return s;
}

int tether_kill_switch_create(tether_fiber *f, tether_kill_switch **out)
{
    tether_kill_switch *k;
    tether_fiber *self;

    if (!f || !out)
        return -EINVAL;
    self = tether__host_begin();
    k = malloc(sizeof *k);
    if (k && !(k->s = shared_get(f))) {
        free(k);
        k = NULL;
    }
    tether__host_end(self);
    if (!k)
        return -ENOMEM;
    *out = k;
    return 0;
}

/* Before f is freed: its switches stop reaching it. */
static void detach(tether_fiber *f)
{
    struct tether_kill_shared *s = atomic_load(&f->kswitch);

    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->fiber = NULL;
    pthread_mutex_unlock(&s->lock);
    shared_put(s);
}

TETHER_FIBER_HOOKS(NULL, NULL, detach, NULL);

void tether__kill_signal_send(pid_t tid, uint64_t id)
{
    siginfo_t info = { 0 };

    info.si_signo = TETHER_KILL_SIGNAL;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_ptr = (void *)(uintptr_t)(KILL_ID_TAG | id);
    syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, TETHER_KILL_SIGNAL, &info);
}

int tether_kill_switch_fire(tether_kill_switch *k, void *details)
{
    tether_fiber *self, *f;
    pid_t tid = 0;
    uint64_t id = 0;
    int result, state, me = 0;
    uint64_t word;

    if (!k)
        return -EINVAL;
    self = tether__host_begin(); /* no kill may stop us holding the lock */
    pthread_mutex_lock(&k->s->lock);
    f = k->s->fiber;
    state = f ? tether__fiber_state(f) : TETHER_RETURNED;
    if (state != TETHER_READY && state != TETHER_YIELDED &&
        state != TETHER_RUNNING) {
        result = TETHER_KILL_FINISHED; /* or destroyed */
    } else if (!tether__kill_request(f, KILL_SWITCH, details)) {
        result = TETHER_KILL_FINISHED; /* killed already */
    } else {
        /*
         * After the request, and after a fast claim of f's owner shows
         * or sees the kill (fiber_claim.h): suspended now, any later
         * resume sees the kill. Running, or finished since the first
         * look: it was running, and ends at the kill or by returning,
         * whichever comes first.
         */
        tether__claim_fence(&f->claim);
        word = atomic_load(&f->claim.state);
        state = tether__state_of(word);
        tid = tether__runner_of(word);
        id = f->id;
        me = tether__hosts_caller(f);
        result = state == TETHER_READY || state == TETHER_YIELDED
                     ? TETHER_KILL_PENDING : TETHER_KILL_SIGNALLED;
    }
    pthread_mutex_unlock(&k->s->lock);
    /*
     * A fiber killing itself (or a host of its own) needs no signal: the
     * checkpoint below ends it, or its host when the nested resume
     * returns. Anyone else's running fiber gets the signal.
     */
    if (tid && !me)
        tether__kill_signal_send(tid, id);
    tether__host_end(self);
    return result;
}

void tether_kill_switch_free(tether_kill_switch *k)
{
    tether_fiber *self;

    if (!k)
        return;
    self = tether__host_begin();
    shared_put(k->s);
    free(k);
    tether__host_end(self);
}
