/*
 * Installing tether's signal handler, asking its clients (signals.h),
 * and chaining what no client takes.
 *
 * Everything reached from on_signal() runs in a signal handler: it is
 * async-signal-safe (no malloc, no locks, no stdio) and keeps errno.
 */
#define _GNU_SOURCE /* gettid */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef HAVE_CONFIG_H
#include "config.h" /* HAVE_VALGRIND_VALGRIND_H */
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "arch.h"
#include "signals.h"

static const int fault_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
#define NFAULT (int)(sizeof fault_signals / sizeof fault_signals[0])

/* The handlers installed before ours; written once, before ours is live. */
static struct sigaction previous[NSIG];
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_err;

/*
 * The clients, gathered by the linker from every object's
 * tether_signal_clients section (hidden bounds: not exported), and put in
 * their order once, before the handler is installed.
 */
extern const struct tether_signal_client *const __start_tether_signal_clients[]
    __attribute__((visibility("hidden")));
extern const struct tether_signal_client *const __stop_tether_signal_clients[]
    __attribute__((visibility("hidden")));
#define MAX_CLIENTS 16
static const struct tether_signal_client *clients[MAX_CLIENTS];
static int nclients;

static void sort_clients(void)
{
    for (const struct tether_signal_client *const *c = __start_tether_signal_clients;
         c < __stop_tether_signal_clients && nclients < MAX_CLIENTS; c++) {
        int i = nclients++;
        for (; i > 0 && clients[i - 1]->order > (*c)->order; i--)
            clients[i] = clients[i - 1];
        clients[i] = *c;
    }
}

static void chain(int sig, siginfo_t *info, void *uc);

/* Set by tether__signals_to_host(): this thread's handler sends it to a host. */
static __thread int to_host __attribute__((tls_model("initial-exec")));

/*
 * A context sent to a host (a fiber's stop, a guarded call's escape:
 * both continue at a call boundary) is left by setcontext(), not by
 * returning into sigreturn. setcontext sets the signal mask (one system
 * call), the floating-point control words and the registers from the
 * context, and jumps; sigreturn also restores the whole vector register
 * file that the kernel saved, which no call boundary needs: 0.25 to 0.35
 * us more per stop, measured here (make bench, "fault to FAULTED").
 * glibc's setcontext is that system call and register loads: no lock, no
 * allocation. If it fails the handler returns, into sigreturn.
 *
 * Under valgrind it is needed, not just faster: valgrind's sigreturn
 * (amd64) applies a context's general registers and pc only, not its
 * signal mask or floating-point control, and gives the registers the
 * definedness they had when the signal came (memcheck then takes a
 * host's registers for the guest's). Its signal frame's floating-point
 * control words are not the interrupted code's either (the handler runs
 * with those, in the registers): they are put in the frame when the
 * signal comes, for the clients that leave them as they are (a fiber
 * that shares the host's control words).
 *
 * ASan and TSan wrap signal handlers and must see them return (TSan
 * otherwise takes the host for code still inside the handler, ASan keeps
 * the handler's frames poisoned): in their builds the handler returns,
 * into sigreturn.
 */
#if defined(TETHER_ASAN) || defined(TETHER_TSAN)
#define LEAVE_BY_SETCONTEXT 0
#else
#define LEAVE_BY_SETCONTEXT 1
#endif

static void came(void *uc)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
    if (RUNNING_ON_VALGRIND)
        tether__arch_uc_set_ctl_live(uc);
#else
    (void)uc;
#endif
}

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    int saved_errno = errno, taken = 0;

    to_host = 0;
    came(uc);
    for (int i = 0; i < nclients && !taken; i++) {
        const struct tether_signal_client *c = clients[i];
        if (sig == TETHER_KILL_SIGNAL)
            taken = c->interrupt && c->interrupt(info, uc);
        else if (info->si_code > 0)
            taken = c->fault && c->fault(sig, info, uc);
    }
    if (!taken)
        chain(sig, info, uc);
    errno = saved_errno;
    if (LEAVE_BY_SETCONTEXT && taken && to_host)
        tether__arch_uc_leave(uc); /* returns only if it could not */
}

/* A fault the kernel raised: returning re-runs the faulting instruction. */
static int synchronous(int sig, const siginfo_t *info)
{
    return sig != TETHER_KILL_SIGNAL && info->si_code > 0;
}

/* Makes the default action take the signal, as if tether were not there. */
static void die_by_default(int sig, const siginfo_t *info)
{
    struct sigaction dfl;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    /*
     * A fault recurs on return and meets the default action. A signal
     * that was sent is sent again; it is not blocked here (SA_NODEFER),
     * so it is delivered at once.
     */
    if (!synchronous(sig, info))
        syscall(SYS_tgkill, getpid(), gettid(), sig);
}

/* Signals whose default action is to do nothing. */
static int ignored_by_default(int sig)
{
    return sig == SIGURG || sig == SIGCHLD || sig == SIGWINCH || sig == SIGCONT;
}

/*
 * Passes a signal no client took to the handler installed before
 * tether's, or makes the process die of it as it would have without
 * tether.
 */
static void chain(int sig, siginfo_t *info, void *uc)
{
    const struct sigaction *p = &previous[sig];

    /* SIG_IGN and SIG_DFL first: with SA_SIGINFO they sit in sa_sigaction. */
    if (p->sa_handler == SIG_IGN) {
        /* The kernel does not let an ignored fault pass either. */
        if (synchronous(sig, info))
            die_by_default(sig, info);
        return;
    }
    if (p->sa_handler == SIG_DFL) {
        /* Ignoring is the default action: keep our handler, do nothing. */
        if (!ignored_by_default(sig))
            die_by_default(sig, info);
        return;
    }
    if (p->sa_flags & SA_SIGINFO)
        p->sa_sigaction(sig, info, uc);
    else
        p->sa_handler(sig);
}

/*
 * The context a handler sends back to the host keeps the signal mask of
 * the code it interrupted (setcontext sets uc_sigmask): a guest that
 * had blocked tether's own signals, or a guest signal handler that was
 * interrupted with its signal blocked, would leave them blocked in the
 * host. Tether's signals at least are unblocked again. The handler then
 * leaves by setcontext (on_signal).
 */
void tether__signals_to_host(void *ucv)
{
    ucontext_t *uc = ucv;

    to_host = 1;

    for (int i = 0; i < NFAULT; i++)
        sigdelset(&uc->uc_sigmask, fault_signals[i]);
    sigdelset(&uc->uc_sigmask, TETHER_KILL_SIGNAL);
}

/* Saves the old handler first: ours may run the moment it is installed. */
static void install_one(int sig, const struct sigaction *sa)
{
    if (sigaction(sig, NULL, &previous[sig]) != 0 ||
        sigaction(sig, sa, NULL) != 0)
        install_err = -EAGAIN;
}

static void install(void)
{
    struct sigaction sa;

    sort_clients();
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    /*
     * Faults: on the alternate stack (the fiber's may be full), and
     * SA_NODEFER so that a fault inside the handler reaches it again and
     * is chained, rather than killing the process silently. The kill
     * signal is blocked meanwhile: a kill must not interrupt the fault
     * handler. The kill handler itself is not re-entered (no NODEFER).
     */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, TETHER_KILL_SIGNAL);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    for (int i = 0; i < NFAULT; i++)
        install_one(fault_signals[i], &sa);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    install_one(TETHER_KILL_SIGNAL, &sa);
}

/* Set once install() has run: every creation asks, and needs no call after that. */
static _Atomic int installed;

int tether__signals_install(void)
{
    if (!atomic_load_explicit(&installed, memory_order_acquire)) {
        pthread_once(&install_once, install);
        atomic_store_explicit(&installed, 1, memory_order_release);
    }
    return install_err;
}
