/*
 * The arenas behind ev_json_arena_*. The block is never freed: jansson
 * keeps calling our free for as long as the process runs, and must find
 * the range check valid.
 */
#include "json_arena.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

/* Under AddressSanitizer an arena's free space is poisoned, so that a value
 * used after its batch's reset is caught as a use after free would be. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A cache line each: two threads bumping used in one line would pass it
 * back and forth on every allocation, which cost more than malloc. */
struct slot {
        alignas(64) char *base;
        size_t used;
};

static char *block, *block_end;
static struct slot *slots;
static unsigned slot_cnt;
static size_t slot_size;
static _Thread_local struct slot *current;

static void *arena_malloc(size_t size)
{
        struct slot *s = current;
        size_t want =
            (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
        void *p;

        if (!s || want < size || want > slot_size - s->used)
                return malloc(size);
        p = s->base + s->used;
        s->used += want;
        UNPOISON(p, size);
        return p;
}

static void arena_free(void *p)
{
        if ((char *)p >= block && (char *)p < block_end)
                return;
        free(p);
}

enum ev_err ev_json_arena_init(unsigned cnt, size_t slot_bytes, char *errstr,
                               size_t errstr_size)
{
        unsigned i;

        slot_bytes &= ~(alignof(max_align_t) - 1);
        if (!cnt || !slot_bytes || slot_bytes > SIZE_MAX / cnt)
                goto nomem;
        slots = aligned_alloc(alignof(struct slot), cnt * sizeof(*slots));
        block = malloc(slot_bytes * cnt);
        if (!slots || !block) {
                free(slots);
                free(block);
                slots = NULL;
                block = NULL;
                goto nomem;
        }
        block_end = block + slot_bytes * cnt;
        slot_size = slot_bytes;
        slot_cnt = cnt;
        for (i = 0; i < cnt; i++) {
                slots[i].base = block + slot_bytes * i;
                slots[i].used = 0;
        }
        POISON(block, slot_bytes * cnt);
        json_set_alloc_funcs(arena_malloc, arena_free);
        return EV_OK;
nomem:
        snprintf(errstr, errstr_size,
                 "out of memory for %u arenas of %zu bytes", cnt, slot_bytes);
        return EV_ERR_NOMEM;
}

void ev_json_arena_enter(unsigned slot)
{
        current = slot < slot_cnt ? &slots[slot] : NULL;
}

void ev_json_arena_leave(void)
{
        current = NULL;
}

void ev_json_arena_reset(void)
{
        unsigned i;

        for (i = 0; i < slot_cnt; i++) {
                POISON(slots[i].base, slots[i].used);
                slots[i].used = 0;
        }
}
