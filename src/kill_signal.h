/*
 * What a kill signal carries. A kill switch queues the signal to the
 * fiber's thread with the fiber's id in si_value; a deadline timer
 * delivers it with a fixed tag instead. Any other SIGURG is not ours.
 */
#ifndef TETHER_KILL_SIGNAL_H
#define TETHER_KILL_SIGNAL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#define KILL_ID_TAG ((uint64_t)0x7e7e << 48)      /* | fiber id */
#define KILL_DEADLINE_TAG ((uint64_t)0x7e7d << 48)

static inline int tether__kill_signal_id(const siginfo_t *info, uint64_t *id)
{
    uint64_t v = (uint64_t)(uintptr_t)info->si_value.sival_ptr;

    if (info->si_code != SI_QUEUE || info->si_pid != getpid() ||
        (v & ((uint64_t)0xffff << 48)) != KILL_ID_TAG)
        return 0;
    *id = v & ~((uint64_t)0xffff << 48);
    return 1;
}

static inline int tether__kill_signal_is_deadline(const siginfo_t *info)
{
    return info->si_code == SI_TIMER &&
           (uint64_t)(uintptr_t)info->si_value.sival_ptr == KILL_DEADLINE_TAG;
}

/* Queues a kill for fiber `id` to thread `tid` of this process. */
void tether__kill_signal_send(pid_t tid, uint64_t id);

#endif
