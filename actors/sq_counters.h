/*  sq_counters.h: how an actor declares its counters once.

    Kept apart from sq_actor.h so that pure cores (no ZeroMQ) can declare
    counters too.  sq_counters_line is defined in sq_actor.c.
*/
#ifndef SQ_COUNTERS_H_INCLUDED
#define SQ_COUNTERS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Counters.  Each actor lists its counters once, in its header, as
//      #define X_COUNTERS(C)  C (X, name, "what it counts") ...
//  which gives the enum X_name (an index into a uint64_t array), the names
//  in the STATS line, and, for readers, SQ_STAT (X, name): the name as a
//  string that only compiles while the counter exists.
#define SQ_COUNTER_ENUM(prefix, name, help)     prefix##_##name,
#define SQ_COUNTER_STRING(prefix, name, help)   #name,
#define SQ_STAT(prefix, name)                   ((void) prefix##_##name, #name)

//  "name=value name=value ..." for count counters.  Caller frees.
char *sq_counters_line (const char *const *names, const uint64_t *values, size_t count);

#endif
