/* libtether-wasm's objects, shared by the files that implement them. */
#ifndef TETHER_WASM_IMPL_H
#define TETHER_WASM_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <tether.h>
#include <tether/wasm.h>
#include <wasm-rt.h>

#define TW_PAGE 65536u

/* The wasm-rt.h functions this library implements are exported too. */
#define TW_RT_API __attribute__((visibility("default")))

/* wasm_rt_memory_t.size is 32 bits: a memory stops one page short of 4 GiB. */
#define TW_PAGES_LIMIT 65535u

/* What an instance is doing, as its host sees it. */
enum tw_status {
    TW_FREE = 0,   /* in the pool */
    TW_IDLE,       /* instantiated, ready for a call */
    TW_YIELDED,    /* a host function yielded: resume or abandon */
    TW_FAILED      /* instantiation trapped: reset or release */
};

struct tether_wasm_instance {
    tether_wasm_pool *pool;
    tether_wasm_instance *next_free;
    int status;

    /* The slot's linear memory: its reservation and what is accessible. */
    uint8_t *mem_base;
    size_t mem_accessible;
    int mem_taken;             /* a memory of this instance lives there */
    wasm_rt_memory_t *memory;  /* the memory tether_wasm_memory() gives */

    /* The fiber: created on the slot's first use, kept for good. */
    tether_fiber *fiber;
    tether_kill_switch *kill;
    _Atomic int kill_fired;    /* an interrupt may still be pending */

    const tether_wasm_module *module;
    void *mi;                  /* the wasm2c instance struct */
    size_t mi_size;            /* room allocated at mi */
    /*
     * Set while an instantiation runs (wasm_rt_allocate_memory then uses
     * the slot's memory), by instance.c: how a resumed instantiation is
     * finished (call.c's resume calls it, knowing nothing of it).
     */
    int (*instantiating)(tether_wasm_instance *I, int st);

    /* Imports, bound at creation: bind[i] serves module->imports[i]. */
    const tether_wasm_host_import **bind;
    size_t bind_cap;
    const tether_wasm_module *bind_module;    /* what bind[] was made for */
    const tether_wasm_host_import *bind_from;
    size_t bind_count;

    /*
     * Frames on the fiber that may hold cleanups: host functions running
     * (tether_wasm_host_call), a nested tether_wasm_call, a yield. A trap
     * with none is dropped (TETHER_RESET_DISCARD), else unwound.
     */
    int host_depth;

    /* tether_wasm_invoke: the values, and where the results go. */
    tether_wasm_val *vals;
    size_t vals_cap;
    const tether_wasm_export *invoke_export;
    tether_wasm_val *invoke_results;
    size_t invoke_nresults;

    uint64_t timeout_ns;
    void *user_data;
    void *yielded;
    tether_wasm_trap_record trap;

    /* wasm-rt.h's exception state, per instance. */
    uint32_t exc_tag, exc_size, exc_cap;
    void *exc_data;
    WASM_RT_UNWIND_TARGET *unwind_target;
};

struct tether_wasm_pool {
    pthread_mutex_t lock;
    uint8_t *base;             /* the reservation: nslots * slot size */
    size_t reserved;
    unsigned nslots;
    size_t stack_size;
    uint32_t max_pages;
    size_t keep_resident;
    tether_wasm_instance *slots;
    tether_wasm_instance *free;
    unsigned alive;
    tether_wasm_pool *next;    /* the registry (memory.c) */
};

/* --- pool.c */
/* The pool slot whose reservation holds addr, or NULL. */
tether_wasm_instance *tw__slot_of(const void *addr);
/* A free slot with its fiber, or NULL with *err set. */
tether_wasm_instance *tw__slot_take(tether_wasm_pool *p, int *err);
void tw__slot_put(tether_wasm_instance *I);
/* The instance whose fiber the caller runs on, or NULL. */
tether_wasm_instance *tw__current(void);

/* --- memory.c */
/* Is addr inside any linear memory's reservation? */
int tw__is_memory_addr(const void *addr);
/* Gives a slot's pages back after an instance; sizes them for the next. */
void tw__slot_memory_clean(tether_wasm_instance *I, size_t accessible);

/* --- call.c */
/* The entry function of every instance's fiber: its call loop. */
void *tw__loop(void *arg, void *in);
/* Runs fn(mi, arg) on I's fiber: tether_wasm_call without its checks. */
int tw__run(tether_wasm_instance *I, tether_wasm_entry fn, void *arg);
/* The fiber ready for the next call, what it held dropped or unwound. */
int tw__rearm(tether_wasm_instance *I);

/* --- trap_raise.c */
#define TW_TRAP_KINDS (TETHER_WASM_TRAP_HOST_EXCEPTION + 1)
/* Markers handed out by tether_terminate / yield, one per trap kind. */
extern const char tw__trap_tags[];
extern const char tw__yield_tag;
/* Ends the call on the caller's fiber with a trap of this kind. */
_Noreturn void tw__trap_raise(int kind);

/* --- trap.c */
/* Classifies a FAULTED or TERMINATED stop into I->trap. */
void tw__trap_record(tether_wasm_instance *I, int state, void *out);

/* --- module.c */
int tw__module_ready(const tether_wasm_module *m);

/* --- host.c */
int tw__bind(tether_wasm_instance *I, const tether_wasm_module *m,
             const tether_wasm_instance_opts *o);

#endif
