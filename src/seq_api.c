/*
 * The registration functions of tether/seq.h, as host calls: on a fiber,
 * a kill must not stop them holding the tables' lock or inside malloc
 * (the tables themselves, seq_table.c, sit below the fibers and know
 * nothing of them).
 */
#include <tether/seq.h>

#include "fiber_impl.h"
#include "seq_table.h"

int tether_seq_register(const tether_seq_range *ranges, size_t n, tether_seq_table **out)
{
    tether_fiber *self = tether__host_begin();
    int err = tether__seq_register(ranges, n, out);

    tether__host_end(self);
    return err;
}

int tether_seq_unregister(tether_seq_table *t)
{
    tether_fiber *self = tether__host_begin();
    int err = tether__seq_unregister(t);

    tether__host_end(self);
    return err;
}

int tether_seq_register_section(const tether_seq_record *start, const tether_seq_record *stop)
{
    tether_fiber *self = tether__host_begin();
    int err = tether__seq_register_section(start, stop);

    tether__host_end(self);
    return err;
}

int tether_seq_unregister_section(const tether_seq_record *start)
{
    tether_fiber *self = tether__host_begin();
    int err = tether__seq_unregister_section(start);

    tether__host_end(self);
    return err;
}
