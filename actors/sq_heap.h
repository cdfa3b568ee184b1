/*  sq_heap.h: a binary min-heap of items keyed by time.

    The dispatcher's whole schedule lives in one of these: each site is one
    item (its slot number), keyed by the monotonic time of its next event
    (a check due, or a job's deadline).  Items are small dense integers, so
    the heap keeps each item's position in an array and can move or remove
    any item in O(log n), without searching.
*/
#ifndef SQ_HEAP_H_INCLUDED
#define SQ_HEAP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sq_heap_t sq_heap_t;

//  New empty heap; NULL if out of memory.
sq_heap_t *sq_heap_new (void);

//  Destroy; safe on NULL, nulls the pointer.
void sq_heap_destroy (sq_heap_t **self_p);

//  Insert item with key, or move it to key if present.  0, or -1 if out
//  of memory.
int sq_heap_set (sq_heap_t *self, uint32_t item, int64_t key);

//  Remove item if present.
void sq_heap_remove (sq_heap_t *self, uint32_t item);

//  The item with the smallest key, without removing it; false if empty.
bool sq_heap_peek (sq_heap_t *self, uint32_t *item, int64_t *key);

//  Items in the heap.
size_t sq_heap_size (sq_heap_t *self);

//  True if item is in the heap.
bool sq_heap_contains (sq_heap_t *self, uint32_t item);

//  Bytes the heap holds: its struct and both arrays as allocated; 0 on NULL.
size_t sq_heap_bytes (sq_heap_t *self);

#endif
