/*
 * Bump allocation for jansson on the consumer's hot path. Parsing an event
 * makes a dozen small allocations that live until the end of its batch;
 * from an arena they cost a pointer bump, and freeing them costs nothing,
 * where malloc and free took a fifth of the consumer's time.
 *
 * One arena per validating thread ("slot"), all carved out of one block:
 * a thread allocates from its slot between ev_json_arena_enter and
 * ev_json_arena_leave, and from malloc at any other time or when its slot
 * is full. jansson's free is then a range check: a pointer in the block
 * is left for ev_json_arena_reset, any other goes to free(). So values
 * from anywhere may be freed on any thread, and a string jansson returns
 * (json_dumps) made outside an arena is still free()'s to free.
 */
#ifndef EV_JSON_ARENA_H
#define EV_JSON_ARENA_H

#include <stddef.h>

#include "err.h"

/* Makes slots arenas of slot_bytes each and installs them as jansson's
 * allocator, for the rest of the process: once, before any thread enters
 * one. EV_ERR_NOMEM with errstr set. */
enum ev_err ev_json_arena_init(unsigned slots, size_t slot_bytes, char *errstr,
                               size_t errstr_size);

/* The calling thread allocates from arena slot (< slots) until it leaves.
 * No two threads may be in one slot at a time. */
void ev_json_arena_enter(unsigned slot);
void ev_json_arena_leave(void);

/* Empties every arena. The caller promises that nothing allocated in them
 * is still in use and that no thread is in one. */
void ev_json_arena_reset(void);

#endif
